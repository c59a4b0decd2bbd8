"""The live door board, its server-sent event stream, locking a site down and lifting it, and
acknowledging an alarm.

The board's live updates come from :func:`board_stream`, a server-sent event stream. It is async
so a board left open holds no request thread (``server/asgi.py`` gives streams none), and it reads
the database through ``sync_to_async``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Count, Max, Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.access import queries, services
from mailwarden.access.forms import AcknowledgeForm, LiftForm, LockdownForm
from mailwarden.access.models import (
    AccessAlarm,
    AccessController,
    AccessEvent,
    Door,
    Mode,
    Reader,
    SiteRules,
)
from mailwarden.access.services import HANDLE_ALARMS, LOCKDOWN, VIEW_ACCESS
from mailwarden.access.views.common import (
    all_sites,
    chosen_site,
    http_status,
    perms,
    site_or_404,
    site_zone,
    with_query,
)
from mailwarden.access.views.wording import EventRow, describe
from mailwarden.contracts.access import ACCESS_DECISION, CARD_ERROR, DOOR_EVENT, READER_STATUS
from mailwarden.core import clock, streams
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.permissions import require
from mailwarden.core.streams import StreamSettings
from mailwarden.core.views import actor_of, console_page
from mailwarden.directory.models import Site

FEED_SIZE = 8
ALARMS_SHOWN = 20

# Door events that say where the door stands; the rest of the door's events are the board's
# "last event" or alarms.
CONTACT_KINDS = ("opened", "closed", "forced_open", "held_open")
LOCK_KINDS = ("unlocked", "locked")
# Routine door events would drown the board's feed: every grant unlocks, opens, closes, locks.
ROUTINE_DOOR_KINDS = (*LOCK_KINDS, "opened", "closed", "request_to_exit")


@dataclass(frozen=True)
class ReaderState:
    reader: Reader
    # None: not known (no report yet, or its controller is offline).
    online: bool | None
    secure: bool | None


@dataclass(frozen=True)
class DoorState:
    door: Door
    mode: str  # locked | unlocked | lockdown
    mode_label: str
    contact: str  # open | closed | forced | held | unknown
    contact_label: str
    last: EventRow | None
    readers: tuple[ReaderState, ...]
    alarms: int

    @property
    def dom_id(self) -> str:
        return f"door-{self.door.pk}"


@dataclass(frozen=True)
class ControllerState:
    controller: AccessController
    online: bool
    last_seen: datetime | None


@dataclass(frozen=True)
class BoardView:
    site: Site
    rules: SiteRules
    doors: tuple[DoorState, ...]
    controllers: tuple[ControllerState, ...]
    alarms: tuple[AccessAlarm, ...]
    alarm_count: int
    feed: tuple[EventRow, ...]
    now: datetime

    @property
    def lockdown(self) -> bool:
        return self.rules.lockdown


def controller_online(controller: AccessController, now: datetime) -> bool:
    last = controller.last_seen_at
    return last is not None and (now - last).total_seconds() <= controller.offline_after_s


def _last_event(door: Door, kinds: tuple[str, ...]) -> AccessEvent | None:
    return (
        AccessEvent.objects.filter(door=door, type=DOOR_EVENT, reason__in=kinds)
        .order_by("-occurred_at", "-id")
        .only("reason", "occurred_at")
        .first()
    )


def _door_state(
    door: Door, rules: SiteRules, online: dict[int, bool], alarms: dict[int, int], zone: tzinfo
) -> DoorState:
    lock = _last_event(door, LOCK_KINDS)
    if rules.lockdown or door.mode == Mode.LOCKDOWN:
        mode, label = "lockdown", "Lockdown"
    elif lock is not None and lock.reason == "unlocked":
        mode = "unlocked"
        label = "Unlocked on schedule" if door.mode == Mode.SCHEDULED_UNLOCK else "Unlocked"
    else:
        mode = "locked"
        label = "Locked · opens on schedule" if door.mode == Mode.SCHEDULED_UNLOCK else "Locked"
    contact_event = _last_event(door, CONTACT_KINDS)
    contact, contact_label = {
        None: ("unknown", "Unknown"),
        "opened": ("open", "Open"),
        "closed": ("closed", "Closed"),
        "forced_open": ("forced", "Forced open"),
        "held_open": ("held", "Held open"),
    }[contact_event.reason if contact_event else None]
    last = (
        AccessEvent.objects.filter(door=door, type__in=(ACCESS_DECISION, CARD_ERROR))
        .select_related("site", "door", "cardholder", "companion", "credential")
        .order_by("-occurred_at", "-id")
        .first()
    )
    readers = []
    for reader in door.readers.all():
        status = None
        if online.get(reader.controller_id):
            status = (
                # Status reports carry no decision: granted IS NULL keeps to the reader index.
                AccessEvent.objects.filter(reader=reader, granted__isnull=True, type=READER_STATUS)
                .order_by("-occurred_at", "-id")
                .only("reason", "payload")
                .first()
            )
        readers.append(
            ReaderState(
                reader,
                None if status is None else status.reason == "online",
                None if status is None else bool(status.payload.get("secure")),
            )
        )
    return DoorState(
        door=door,
        mode=mode,
        mode_label=label,
        contact=contact,
        contact_label=contact_label,
        last=describe(last, zone) if last else None,
        readers=tuple(readers),
        alarms=alarms.get(door.pk, 0),
    )


def build_board(site: Site, now: datetime) -> BoardView:
    zone = site_zone(site)
    rules = queries.site_rules(site)
    controllers = tuple(
        ControllerState(c, controller_online(c, now), c.last_seen_at)
        for c in AccessController.objects.filter(site=site).order_by("name")
    )
    online = {c.controller.pk: c.online for c in controllers}
    alarms = queries.open_alarms(site)
    by_door = alarms.filter(door__isnull=False).values("door").annotate(n=Count("id"))
    per_door = {row["door"]: row["n"] for row in by_door.order_by()}
    doors = (
        Door.objects.filter(site=site)
        .select_related("location")
        .prefetch_related(Prefetch("readers", queryset=Reader.objects.order_by("code")))
        .order_by("name", "code")
    )
    feed = (
        AccessEvent.objects.filter(site=site)
        .exclude(type=DOOR_EVENT, reason__in=ROUTINE_DOOR_KINDS)
        .select_related("site", "door", "cardholder", "companion", "credential")
        .order_by("-occurred_at", "-id")[:FEED_SIZE]
    )
    return BoardView(
        site=site,
        rules=rules,
        doors=tuple(_door_state(d, rules, online, per_door, zone) for d in doors),
        controllers=controllers,
        alarms=tuple(alarms[:ALARMS_SHOWN]),
        alarm_count=alarms.count(),
        feed=tuple(describe(e, zone) for e in feed),
        now=now,
    )


def board_signature(site: Site, now: datetime) -> tuple[Any, ...]:
    """Cheap to ask, and different whenever anything the board shows may have changed."""
    # The newest id of all sites, which the primary key answers at once; per site it would be a
    # scan of the site's whole log every second. Another site's event costs a rebuild that sends
    # nothing, since only changed pieces go out.
    newest = AccessEvent.objects.aggregate(m=Max("id"))["m"]
    alarms = tuple(queries.open_alarms(site).values_list("id", "acknowledged_at", "cleared_at"))
    rules = SiteRules.objects.filter(site=site).values_list("version", "lockdown").first()
    # Controllers fall silent without any row changing, so their state is worked out each time.
    controllers = tuple(
        (c.pk, controller_online(c, now)) for c in AccessController.objects.filter(site=site)
    )
    return (newest, alarms, rules, controllers)


def board_fragments(view: BoardView, extra: dict[str, Any]) -> dict[str, str]:
    """The board as the pieces the page swaps in, keyed by their element ids."""
    context = {"view": view, **extra}
    parts: dict[str, str] = {"board-status": render_to_string("access/_board_status.html", context)}
    for door in view.doors:
        parts[door.dom_id] = render_to_string("access/_door.html", {**context, "d": door})
    parts["board-alarms"] = render_to_string("access/_board_alarms.html", context)
    parts["board-feed"] = render_to_string("access/_board_feed.html", context)
    return parts


@console_page(VIEW_ACCESS, "the door board")
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    sites = all_sites()
    site = chosen_site(request.GET.get("site"), sites)
    actor = actor_of(request)
    context: dict[str, Any] = {"sites": sites, "site": site, "tab": "board", **perms(actor)}
    if site is not None:
        context["view"] = build_board(site, clock.now())
        context["stream_url"] = with_query(reverse("access:board_stream"), site=site.code)
        context["lockdown_form"] = LockdownForm(initial={"site": site.code})
        context["lift_form"] = LiftForm(initial={"site": site.code})
    return render(request, "access/board.html", context)


STREAM = StreamSettings()


def _poll_board(
    site_pk: int, previous: tuple[Any, ...] | None, extra: dict[str, Any]
) -> tuple[tuple[Any, ...], dict[str, str] | None]:
    site = Site.objects.get(pk=site_pk)
    now = clock.now()
    signature = board_signature(site, now)
    if signature == previous:
        return signature, None
    return signature, board_fragments(build_board(site, now), extra)


def board_events(
    site: Site, extra: dict[str, Any], *, live: bool, settings: StreamSettings
) -> AsyncIterator[str]:
    """The board's event stream: everything on connecting, then only the pieces that change."""
    sent: dict[str, str] = {}
    poll = sync_to_async(_poll_board)

    async def changes(
        signature: tuple[Any, ...] | None,
    ) -> tuple[tuple[Any, ...], dict[str, str] | None]:
        signature, parts = await poll(site.pk, signature, extra)
        if parts is None:
            return signature, None
        changed = {key: html for key, html in parts.items() if sent.get(key) != html}
        sent.update(parts)
        return signature, changed or None

    return streams.events("board", changes, live=live, settings=settings)


def _stream_site(code: str | None) -> Site | None:
    return chosen_site(code, all_sites())


async def board_stream(request: HttpRequest) -> HttpResponseBase:
    """Server-sent events for the door board (``/access/board/stream?site=CODE``)."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("sign in first", status=401, content_type="text/plain")
    actor = await sync_to_async(Actor.for_user)(user)
    try:
        require(actor, VIEW_ACCESS, "the door board")
    except Forbidden as exc:
        return HttpResponse(exc.message, status=403, content_type="text/plain")
    site = await sync_to_async(_stream_site)(request.GET.get("site"))
    if site is None:
        return HttpResponse("no site", status=404, content_type="text/plain")
    # The fragments carry forms (acknowledge, lockdown), so they need the page's CSRF token.
    extra = {"csrf_token": get_token(request), **perms(actor)}
    response = StreamingHttpResponse(
        board_events(site, extra, live=isinstance(request, ASGIRequest), settings=STREAM),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold events back
    return response


# The site is a hidden input, so a refusal naming it is shown above the form.
_ABOVE_THE_FORM = {"site": "", "confirm": "confirm"}


def _board_url(site: Site) -> str:
    return with_query(reverse("access:board"), site=site.code)


@console_page(LOCKDOWN, "locking a site down")
@require_http_methods(["GET", "POST"])
def lockdown(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        site = site_or_404(request.GET.get("site"))
        form = LockdownForm(initial={"site": site.code})
        return render(request, "access/lockdown.html", {"form": form, "site": site, "tab": "board"})
    form = LockdownForm(request.POST)
    site = site_or_404(request.POST.get("site"))
    if form.is_valid():
        if form.cleaned_data["confirm"].strip() != site.code:
            form.add_error("confirm", f"type {site.code} exactly to lock {site.name} down")
        else:
            try:
                services.lockdown.lockdown_site(
                    actor_of(request), site.code, True, reason=form.cleaned_data["reason"]
                )
            except ServiceError as exc:
                add_service_error(form, exc, _ABOVE_THE_FORM)
            else:
                messages.warning(
                    request,
                    f"{site.name} is in lockdown: every door refuses cards until it is lifted. "
                    "Exit buttons keep working.",
                )
                return redirect(_board_url(site))
    context = {"form": form, "site": site, "tab": "board"}
    return render(request, "access/lockdown.html", context, status=http_status(True))


@console_page(LOCKDOWN, "lifting a lockdown")
@require_http_methods(["GET", "POST"])
def lift(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        site = site_or_404(request.GET.get("site"))
        form = LiftForm(initial={"site": site.code})
        return render(request, "access/lift.html", {"form": form, "site": site, "tab": "board"})
    form = LiftForm(request.POST)
    site = site_or_404(request.POST.get("site"))
    if form.is_valid():
        try:
            services.lockdown.lift_lockdown(
                actor_of(request), site.code, reason=form.cleaned_data["reason"]
            )
        except ServiceError as exc:
            add_service_error(form, exc, _ABOVE_THE_FORM)
        else:
            messages.success(request, f"Lockdown lifted at {site.name}; doors work as before.")
            return redirect(_board_url(site))
    context = {"form": form, "site": site, "tab": "board"}
    return render(request, "access/lift.html", context, status=http_status(True))


@console_page(HANDLE_ALARMS, "acknowledging an alarm")
@require_POST
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alarm = get_object_or_404(AccessAlarm.objects.select_related("site"), pk=pk)
    form = AcknowledgeForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        services.alarms.acknowledge_alarm(actor_of(request), alarm.pk, note=note)
    except ServiceError as exc:
        messages.error(request, f"The alarm was not acknowledged: {exc.message}.")
    else:
        messages.success(request, f"Alarm acknowledged: {alarm.get_kind_display()}.")
    return redirect(_board_url(alarm.site))
