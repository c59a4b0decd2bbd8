"""Console pages of access control: the live door board, the access log, the quarantine-room
report, the editors (cardholders, credentials, levels, schedules), lockdown and alarms.

Views read models and :mod:`mailwarden.access.queries`, and call :mod:`mailwarden.access.services`
for every change (docs/architecture.md rule 1). Pages are shown to the roles in the services' own
tuples, and the services check again, so a button shown by mistake still changes nothing. A refusal
is shown next to the field it names.

The board's live updates come from :func:`board_stream`, a server-sent event stream. It is async
so a board left open holds no request thread (``server/asgi.py`` gives streams none), and it reads
the database through ``sync_to_async``.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.access import queries, services
from mailwarden.access.forms import (
    DAY_LABELS,
    AcknowledgeForm,
    CardholderEditForm,
    CardholderForm,
    CardholderSearchForm,
    CredentialForm,
    CredentialLevelsForm,
    CredentialSearchForm,
    HolidayForm,
    LevelForm,
    LiftForm,
    LockdownForm,
    LogFilterForm,
    ReportForm,
    RevokeForm,
    ScheduleForm,
    day_bounds,
)
from mailwarden.access.models import (
    AccessAlarm,
    AccessController,
    AccessEvent,
    AccessLevel,
    Cardholder,
    Credential,
    CredentialKind,
    Door,
    Holiday,
    Mode,
    Reader,
    Schedule,
    SiteRules,
)
from mailwarden.access.services import (
    HANDLE_ALARMS,
    LOCKDOWN,
    MANAGE_ACCESS,
    REVOKE_CREDENTIALS,
    VIEW_ACCESS,
)
from mailwarden.contracts.access import (
    ACCESS_DECISION,
    CARD_ERROR,
    DOOR_EVENT,
    READER_POWER,
    READER_STATUS,
    READER_TAMPER,
)
from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.csvsafe import csv_text
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.permissions import require
from mailwarden.core.streams import StreamSettings, sse
from mailwarden.core.views import actor_of, console_page
from mailwarden.directory.models import LocationKind, Recipient, Site
from mailwarden.edge.decisions import Reason
from mailwarden.edge.rules import WEEKDAYS

PAGE_SIZE = 50
FEED_SIZE = 8
ALARMS_SHOWN = 20
REPORT_DEFAULT_DAYS = 30

# Door events that say where the door stands; the rest of the door's events are the board's
# "last event" or alarms.
CONTACT_KINDS = ("opened", "closed", "forced_open", "held_open")
LOCK_KINDS = ("unlocked", "locked")
# Routine door events would drown the board's feed: every grant unlocks, opens, closes, locks.
ROUTINE_DOOR_KINDS = (*LOCK_KINDS, "opened", "closed", "request_to_exit")

REASON_LABELS: dict[str, str] = {
    Reason.GRANTED: "Access granted",
    Reason.GRANTED_SOFT_ANTI_PASSBACK: "Granted (anti-passback flagged)",
    Reason.GRANTED_TWO_PERSON: "Granted with a second person",
    Reason.GRANTED_LOCKDOWN_OVERRIDE: "Granted during lockdown",
    Reason.NO_RULES: "Refused: the controller has no rules",
    Reason.UNKNOWN_READER: "Refused: unknown reader",
    Reason.UNKNOWN_CREDENTIAL: "Refused: unknown card",
    Reason.CREDENTIAL_DISABLED: "Refused: credential revoked",
    Reason.NOT_YET_VALID: "Refused: not yet valid",
    Reason.EXPIRED: "Refused: expired",
    Reason.NO_ACCESS: "Refused: no access to this door",
    Reason.OUTSIDE_SCHEDULE: "Refused: outside its schedule",
    Reason.LOCKDOWN: "Refused: lockdown",
    Reason.ANTI_PASSBACK: "Refused: anti-passback",
    Reason.TWO_PERSON_WAITING: "Waiting for a second person",
    Reason.TWO_PERSON_SAME_HOLDER: "Refused: the same person twice",
    Reason.AWAITING_FIRST_PERSON: "Refused: waiting for the first person in",
    Reason.STALE_READ: "Refused: stale read (queued while the reader was offline)",
}
DOOR_EVENT_LABELS = {
    "opened": "Door opened",
    "closed": "Door closed",
    "forced_open": "Door forced open",
    "held_open": "Door held open",
    "unlocked": "Door unlocked",
    "locked": "Door locked",
    "request_to_exit": "Exit button pressed",
    "grant_ignored": "Grant ignored: the lock has no power",
    "power_lost": "Lock power lost",
    "power_restored": "Lock power restored",
    "rules_lost": "Controller lost its rules",
    "rules_restored": "Controller has rules again",
}
ALARMING_DOOR_KINDS = frozenset({"forced_open", "held_open", "power_lost", "rules_lost"})


def _status(failed: bool) -> int:
    return 400 if failed else 200


def _zone(site: Site | None) -> tzinfo:
    if site is None:
        return UTC
    try:
        return zoneinfo.ZoneInfo(site.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def _sites() -> list[Site]:
    return list(Site.objects.order_by("name", "code"))


def _chosen_site(code: str | None, sites: Sequence[Site]) -> Site | None:
    """The site asked for, or the first one: most installations have one site."""
    for site in sites:
        if site.code == code:
            return site
    return sites[0] if sites else None


def _can(actor: Actor, roles: Iterable[Any]) -> bool:
    return actor.has(*roles)


def _perms(actor: Actor) -> dict[str, bool]:
    return {
        "can_manage": _can(actor, MANAGE_ACCESS),
        "can_revoke": _can(actor, REVOKE_CREDENTIALS),
        "can_lockdown": _can(actor, LOCKDOWN),
        "can_ack": _can(actor, HANDLE_ALARMS),
    }


def _with_query(url: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{url}?{query}" if query else url


# ----------------------------------------------------------------------------- event wording


@dataclass(frozen=True)
class EventRow:
    """An access event as a person reads it: what happened, to whom, where, when."""

    event: AccessEvent
    tone: str  # ok | warn | danger | info
    title: str
    who: str
    credential: str
    door: str
    reader: str
    at: datetime

    @property
    def where(self) -> str:
        return (
            f"{self.door} · {self.reader}"
            if self.door and self.reader
            else self.door or self.reader
        )


def _credential_label(credential: Credential | None, payload: dict[str, Any]) -> str:
    if credential is not None:
        return credential_number(credential)
    card = payload.get("card") if isinstance(payload, dict) else None
    if isinstance(card, dict) and "card" in card:
        facility = "" if card.get("facility") is None else f"{card['facility']}/"
        return f"{card.get('format', '')} {facility}{card['card']}".strip()
    return ""


def credential_number(credential: Credential) -> str:
    if credential.kind == CredentialKind.PIN:
        return "PIN"
    facility = "" if credential.facility is None else f"{credential.facility}/"
    number = f"{credential.format} {facility}{credential.card}"
    return f"{number} + PIN" if credential.kind == CredentialKind.CARD_AND_PIN else number


def describe(event: AccessEvent, zone: tzinfo | None = None) -> EventRow:
    tone, title = "info", event.type
    reason = event.reason
    if event.type == ACCESS_DECISION:
        title = REASON_LABELS.get(reason, reason.replace("_", " ").capitalize())
        if event.granted:
            tone = "ok"
        elif reason == Reason.TWO_PERSON_WAITING:
            tone = "warn"
        else:
            tone = "danger"
    elif event.type == CARD_ERROR:
        tone, title = "danger", "Refused: card could not be read"
    elif event.type == READER_STATUS:
        online = reason == "online"
        tone = "ok" if online else "danger"
        title = "Reader online" if online else "Reader offline"
    elif event.type == READER_TAMPER:
        tampered = reason == "tamper"
        tone = "danger" if tampered else "ok"
        title = "Reader tampered" if tampered else "Reader tamper cleared"
    elif event.type == READER_POWER:
        failed = reason == "power_failed"
        tone = "danger" if failed else "ok"
        title = "Reader power failed" if failed else "Reader power restored"
    elif event.type == DOOR_EVENT:
        title = DOOR_EVENT_LABELS.get(reason, reason.replace("_", " ").capitalize())
        tone = "danger" if reason in ALARMING_DOOR_KINDS else "info"
    who = event.cardholder.name if event.cardholder else (event.holder_ref or "")
    if event.companion is not None:
        who = f"{who} with {event.companion.name}" if who else event.companion.name
    door = str(event.door) if event.door else event.door_ref
    at = timezone.localtime(event.occurred_at, zone or _zone(event.site))
    credential = _credential_label(event.credential, event.payload)
    return EventRow(event, tone, title, who, credential, door, event.reader_ref, at)


# ----------------------------------------------------------------------------- the board


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
    zone = _zone(site)
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
    sites = _sites()
    site = _chosen_site(request.GET.get("site"), sites)
    actor = actor_of(request)
    context: dict[str, Any] = {"sites": sites, "site": site, "tab": "board", **_perms(actor)}
    if site is not None:
        context["view"] = build_board(site, clock.now())
        context["stream_url"] = _with_query(reverse("access:board_stream"), site=site.code)
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


async def board_events(
    site: Site, extra: dict[str, Any], *, live: bool, settings: StreamSettings
) -> AsyncIterator[str]:
    """The board's event stream: everything on connecting, then only the pieces that change."""
    retry = settings.retry_ms if live else settings.fallback_retry_ms
    yield f"retry: {retry}\n\n"
    sent: dict[str, str] = {}
    signature: tuple[Any, ...] | None = None
    started = quiet_since = settings.monotonic()
    poll = sync_to_async(_poll_board)
    while True:
        signature, parts = await poll(site.pk, signature, extra)
        if parts is not None:
            changed = {key: html for key, html in parts.items() if sent.get(key) != html}
            sent.update(parts)
            if changed:
                yield sse("board", changed)
                quiet_since = settings.monotonic()
        now = settings.monotonic()
        if not live or now - started >= settings.lifetime_s:
            return
        if now - quiet_since >= settings.keepalive_s:
            # A comment line: proxies that close idle connections see traffic.
            yield ": keep-alive\n\n"
            quiet_since = now
        await settings.sleep(settings.poll_s)


def _stream_site(code: str | None) -> Site | None:
    return _chosen_site(code, _sites())


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
    extra = {"csrf_token": get_token(request), **_perms(actor)}
    response = StreamingHttpResponse(
        board_events(site, extra, live=isinstance(request, ASGIRequest), settings=STREAM),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold events back
    return response


# ----------------------------------------------------------------------------- lockdown


def _site_or_404(code: str | None) -> Site:
    site = Site.objects.filter(code=code or "").first()
    if site is None:
        raise Http404("no such site")
    return site


# The site is a hidden input, so a refusal naming it is shown above the form.
_ABOVE_THE_FORM = {"site": "", "confirm": "confirm"}


def _board_url(site: Site) -> str:
    return _with_query(reverse("access:board"), site=site.code)


@console_page(LOCKDOWN, "locking a site down")
@require_http_methods(["GET", "POST"])
def lockdown(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        site = _site_or_404(request.GET.get("site"))
        form = LockdownForm(initial={"site": site.code})
        return render(request, "access/lockdown.html", {"form": form, "site": site, "tab": "board"})
    form = LockdownForm(request.POST)
    site = _site_or_404(request.POST.get("site"))
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
    return render(request, "access/lockdown.html", context, status=_status(True))


@console_page(LOCKDOWN, "lifting a lockdown")
@require_http_methods(["GET", "POST"])
def lift(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        site = _site_or_404(request.GET.get("site"))
        form = LiftForm(initial={"site": site.code})
        return render(request, "access/lift.html", {"form": form, "site": site, "tab": "board"})
    form = LiftForm(request.POST)
    site = _site_or_404(request.POST.get("site"))
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
    return render(request, "access/lift.html", context, status=_status(True))


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


# ----------------------------------------------------------------------------- access log


@console_page(VIEW_ACCESS, "the access log")
@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    form = LogFilterForm(request.GET or None)
    refused = form.is_bound and not form.is_valid()
    data: dict[str, Any] = {} if refused else (form.cleaned_data if form.is_bound else {})
    site = Site.objects.filter(code=data.get("site") or "").first()
    since, until = day_bounds(data.get("since"), data.get("until"), _zone(site))
    granted = {"granted": True, "denied": False}.get(data.get("result") or "")
    page = data.get("page") or 1
    rows: list[EventRow] = []
    has_next = False
    if not refused:
        events = queries.access_log(site=site, granted=granted, since=since, until=until)
        events = events.select_related("companion")
        if data.get("door"):
            events = events.filter(door_id=int(data["door"]))
        if data.get("cardholder"):
            name = data["cardholder"]
            events = events.filter(
                Q(cardholder__name__icontains=name) | Q(companion__name__icontains=name)
            )
        # One row past the page says whether there is a next one, without counting them all.
        found = list(events[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
        has_next = len(found) > PAGE_SIZE
        rows = [describe(e) for e in found[:PAGE_SIZE]]
    params = {k: v for k, v in data.items() if k != "page" and v not in (None, "")}
    context = {
        "form": form,
        "rows": rows,
        "page": page,
        "has_next": has_next,
        "prev_query": urlencode({**params, "page": page - 1}),
        "next_query": urlencode({**params, "page": page + 1}),
        "many_sites": Site.objects.count() > 1,
        "tab": "log",
    }
    htmx = getattr(request, "htmx", None)
    template = (
        "access/_log_rows.html" if htmx and not htmx.history_restore_request else "access/log.html"
    )
    return render(request, template, context, status=400 if refused and not htmx else 200)


# ----------------------------------------------------------------------------- quarantine report


def _report_entries(request: HttpRequest) -> tuple[ReportForm, list[queries.Entry], dict[str, Any]]:
    today = timezone.localdate(clock.now())
    defaults = {"since": today - timedelta(days=REPORT_DEFAULT_DAYS), "until": today}
    form = ReportForm(request.GET or None, initial=defaults)
    if form.is_bound and not form.is_valid():
        return form, [], {}
    given = form.cleaned_data if form.is_bound else {}
    data = {**defaults, **{k: v for k, v in given.items() if v}}
    site = Site.objects.filter(code=data.get("site") or "").first()
    since, until = day_bounds(data["since"], data["until"], _zone(site))
    entries = queries.who_entered(LocationKind.QUARANTINE, since, until, site=site)
    return form, entries, data


@dataclass(frozen=True)
class ReportRow:
    entry: queries.Entry
    at: datetime


def _report_rows(entries: Sequence[queries.Entry]) -> list[ReportRow]:
    zones = {s.code: _zone(s) for s in Site.objects.filter(code__in={e.site for e in entries})}
    return [ReportRow(e, timezone.localtime(e.at, zones.get(e.site, UTC))) for e in entries]


@console_page(VIEW_ACCESS, "the quarantine room report")
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    form, entries, data = _report_entries(request)
    query = {
        k: v.isoformat() if isinstance(v, date) else v
        for k, v in data.items()
        if k in ("site", "since", "until") and v
    }
    context = {
        "form": form,
        "rows": _report_rows(entries),
        "people": len({(e.cardholder_id, e.cardholder) for e in entries}),
        "csv_url": _with_query(reverse("access:report_csv"), **query),
        "range": data,
        "many_sites": Site.objects.count() > 1,
        "tab": "report",
    }
    failed = form.is_bound and bool(form.errors)
    return render(request, "access/report.html", context, status=_status(failed))


CSV_COLUMNS = (
    "time",
    "time_utc",
    "person",
    "with",
    "site",
    "door",
    "room",
    "reader",
    "via",
    "reason",
    "event",
)


@console_page(VIEW_ACCESS, "the quarantine room report")
@require_GET
def report_csv(request: HttpRequest) -> HttpResponse:
    form, entries, data = _report_entries(request)
    if form.is_bound and form.errors:
        first = next(iter(form.errors.items()))
        return HttpResponse(f"{first[0]}: {first[1][0]}", status=400, content_type="text/plain")
    # Names and reasons come from people: csv_text keeps every cell from running as a formula.
    text = csv_text(
        CSV_COLUMNS,
        (
            [
                row.at.isoformat(),
                row.entry.at.astimezone(UTC).isoformat(),
                row.entry.cardholder,
                row.entry.with_holder or "",
                row.entry.site,
                row.entry.door_name,
                row.entry.location,
                row.entry.reader,
                row.entry.via,
                row.entry.reason,
                row.entry.event_key,
            ]
            for row in _report_rows(entries)
        ),
    )
    name = f"quarantine-entries-{data['since']:%Y%m%d}-{data['until']:%Y%m%d}.csv"
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# ----------------------------------------------------------------------------- cardholders


@console_page(VIEW_ACCESS, "cardholders")
@require_GET
def cardholders(request: HttpRequest) -> HttpResponse:
    form = CardholderSearchForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    holders = Cardholder.objects.select_related("recipient").annotate(
        live=Count("credentials", filter=Q(credentials__revoked_at__isnull=True))
    )
    if data.get("q"):
        q = data["q"]
        holders = holders.filter(Q(name__icontains=q) | Q(company__icontains=q))
    if data.get("kind"):
        holders = holders.filter(kind=data["kind"])
    rows = list(holders.order_by("name", "pk")[:500])
    context = {"form": form, "rows": rows, "tab": "cardholders", **_perms(actor_of(request))}
    return render(request, "access/cardholders.html", context)


@console_page(MANAGE_ACCESS, "adding a cardholder")
@require_http_methods(["GET", "POST"])
def cardholder_new(request: HttpRequest) -> HttpResponse:
    form = CardholderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        recipient = None
        if data["recipient"]:
            recipient = Recipient.objects.filter(employee_id=data["recipient"].strip()).first()
            if recipient is None:
                form.add_error("recipient", f"no employee with ID {data['recipient']}")
        if not form.errors:
            try:
                holder = services.credentials.create_cardholder(
                    actor_of(request),
                    name=data["name"],
                    kind=data["kind"],
                    employee_id=recipient.employee_id if recipient else None,
                    company=data["company"],
                )
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, f"{holder.name} added. Issue a credential below.")
                return redirect("access:cardholder", pk=holder.pk)
    context = {"form": form, "tab": "cardholders"}
    return render(request, "access/cardholder_new.html", context, status=_status(bool(form.errors)))


@console_page(MANAGE_ACCESS, "changing a cardholder")
@require_http_methods(["GET", "POST"])
def cardholder_edit(request: HttpRequest, pk: int) -> HttpResponse:
    holder = get_object_or_404(Cardholder, pk=pk)
    initial = {"name": holder.name, "kind": holder.kind, "company": holder.company}
    form = CardholderEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            holder = services.credentials.update_cardholder(
                actor_of(request), holder.pk, **form.cleaned_data
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"{holder.name} saved.")
            return redirect("access:cardholder", pk=holder.pk)
    context = {"form": form, "holder": holder, "tab": "cardholders"}
    return render(
        request, "access/cardholder_edit.html", context, status=_status(bool(form.errors))
    )


def _credential_zone(level_ids: Sequence[str]) -> tzinfo:
    """Dates typed for a credential are in the time of the site its levels are at."""
    ids = [int(v) for v in level_ids if v.isdigit()]
    level = AccessLevel.objects.filter(pk__in=ids).select_related("site").order_by("pk").first()
    site = level.site if level else Site.objects.order_by("pk").first()
    return _zone(site)


@dataclass(frozen=True)
class CredentialRow:
    credential: Credential
    number: str
    status: str  # live | revoked | expired | pending
    status_label: str
    valid_until: datetime | None


def credential_rows(credentials: Iterable[Credential], now: datetime) -> list[CredentialRow]:
    rows = []
    for c in credentials:
        if c.revoked_at is not None:
            status, label = "revoked", "Revoked"
        elif c.valid_until is not None and c.valid_until <= now:
            status, label = "expired", "Expired"
        elif c.valid_from is not None and c.valid_from > now:
            status, label = "pending", "Not yet valid"
        else:
            status, label = "live", "In use"
        rows.append(CredentialRow(c, credential_number(c), status, label, c.valid_until))
    return rows


def _holder_context(
    request: HttpRequest, holder: Cardholder, form: CredentialForm
) -> dict[str, Any]:
    credentials = holder.credentials.prefetch_related("levels").order_by("revoked_at", "-issued_at")
    events = (
        AccessEvent.objects.filter(Q(cardholder=holder) | Q(companion=holder))
        .select_related("site", "door", "cardholder", "companion", "credential")
        .order_by("-occurred_at", "-id")[:10]
    )
    return {
        "holder": holder,
        "credentials": credential_rows(credentials, clock.now()),
        "events": [describe(e) for e in events],
        "form": form,
        "revoke_form": RevokeForm(),
        "zone_name": str(_credential_zone([])),
        "tab": "cardholders",
        **_perms(actor_of(request)),
    }


@console_page(VIEW_ACCESS, "cardholders")
@require_GET
def cardholder(request: HttpRequest, pk: int) -> HttpResponse:
    holder = get_object_or_404(Cardholder.objects.select_related("recipient", "user"), pk=pk)
    form = CredentialForm()
    return render(request, "access/cardholder.html", _holder_context(request, holder, form))


@console_page(MANAGE_ACCESS, "issuing a credential")
@require_POST
def credential_issue(request: HttpRequest, pk: int) -> HttpResponse:
    holder = get_object_or_404(Cardholder.objects.select_related("recipient", "user"), pk=pk)
    form = CredentialForm(request.POST)
    with timezone.override(_credential_zone(request.POST.getlist("levels"))):
        valid = form.is_valid()
    if valid:
        data = form.cleaned_data
        try:
            credential = services.credentials.issue_credential(
                actor_of(request),
                services.credentials.CredentialData(
                    holder_id=holder.pk,
                    kind=data["kind"],
                    pin=form.pin_value(),
                    level_ids=[level.pk for level in data["levels"]],
                    valid_from=data.get("valid_from"),
                    valid_until=data.get("valid_until"),
                    **form.card_values(),
                ),
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"{credential_number(credential)} issued to {holder.name}.")
            return redirect("access:cardholder", pk=holder.pk)
    context = _holder_context(request, holder, form)
    return render(request, "access/cardholder.html", context, status=400)


# ----------------------------------------------------------------------------- credentials


@console_page(VIEW_ACCESS, "credentials")
@require_GET
def credentials(request: HttpRequest) -> HttpResponse:
    form = CredentialSearchForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    status = data.get("status") or "live"
    found: QuerySet[Credential] = Credential.objects.select_related("holder").prefetch_related(
        "levels"
    )
    if status == "live":
        found = found.filter(revoked_at__isnull=True)
    elif status == "revoked":
        found = found.filter(revoked_at__isnull=False)
    q = (data.get("q") or "").strip()
    if q:
        number = q.split("/")[-1]
        match = Q(holder__name__icontains=q)
        if number.isdigit():
            match |= Q(card=int(number))
        found = found.filter(match)
    rows = credential_rows(found.order_by("holder__name", "-issued_at")[:500], clock.now())
    context = {
        "form": form,
        "rows": rows,
        "status": status,
        "revoke_form": RevokeForm(),
        "tab": "credentials",
        **_perms(actor_of(request)),
    }
    return render(request, "access/credentials.html", context)


def _credential(pk: int) -> Credential:
    return get_object_or_404(
        Credential.objects.select_related("holder").prefetch_related("levels"), pk=pk
    )


def _credential_context(
    request: HttpRequest,
    credential: Credential,
    levels_form: CredentialLevelsForm | None = None,
    revoke_form: RevokeForm | None = None,
) -> dict[str, Any]:
    return {
        "credential": credential,
        "row": credential_rows([credential], clock.now())[0],
        "levels_form": levels_form
        or CredentialLevelsForm(initial={"levels": list(credential.levels.all())}),
        "revoke_form": revoke_form or RevokeForm(),
        "tab": "credentials",
        **_perms(actor_of(request)),
    }


@console_page(VIEW_ACCESS, "credentials")
@require_GET
def credential(request: HttpRequest, pk: int) -> HttpResponse:
    found = _credential(pk)
    return render(request, "access/credential.html", _credential_context(request, found))


@console_page(MANAGE_ACCESS, "changing a credential's access levels")
@require_POST
def credential_levels(request: HttpRequest, pk: int) -> HttpResponse:
    found = _credential(pk)
    form = CredentialLevelsForm(request.POST)
    if form.is_valid():
        try:
            services.credentials.set_credential_levels(
                actor_of(request), found.pk, [level.pk for level in form.cleaned_data["levels"]]
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"credential": "levels", "level_ids": "levels"})
        else:
            messages.success(request, f"Access levels of {credential_number(found)} saved.")
            return redirect("access:credential", pk=found.pk)
    context = _credential_context(request, found, levels_form=form)
    return render(request, "access/credential.html", context, status=400)


@console_page(REVOKE_CREDENTIALS, "revoking a credential")
@require_http_methods(["GET", "POST"])
def credential_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    found = _credential(pk)
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.credentials.revoke_credential(
                actor_of(request), found.pk, reason=form.cleaned_data["reason"]
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"credential": "reason"})
        else:
            messages.success(
                request,
                f"{credential_number(found)} of {found.holder.name} is revoked; doors refuse it "
                "from the controllers' next rules update.",
            )
            return redirect("access:cardholder", pk=found.holder_id)
    context = {
        "credential": found,
        "number": credential_number(found),
        "form": form,
        "tab": "credentials",
    }
    status = _status(request.method == "POST")
    return render(request, "access/credential_revoke.html", context, status=status)


# ----------------------------------------------------------------------------- levels


@console_page(VIEW_ACCESS, "access levels")
@require_GET
def levels(request: HttpRequest) -> HttpResponse:
    sites = _sites()
    site = _chosen_site(request.GET.get("site"), sites)
    rows = (
        AccessLevel.objects.filter(site=site)
        .select_related("schedule")
        .prefetch_related("doors")
        .annotate(live=Count("credentials", filter=Q(credentials__revoked_at__isnull=True)))
        .order_by("name")
    )
    context = {
        "sites": sites,
        "site": site,
        "rows": list(rows),
        "tab": "levels",
        **_perms(actor_of(request)),
    }
    return render(request, "access/levels.html", context)


_LEVEL_FIELDS = {"schedule_id": "schedule"}


@console_page(MANAGE_ACCESS, "creating an access level")
@require_http_methods(["GET", "POST"])
def level_new(request: HttpRequest) -> HttpResponse:
    site = _chosen_site(request.GET.get("site") or request.POST.get("site"), _sites())
    if site is None:
        raise Http404("no site")
    form = LevelForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            level = services.levels.create_level(
                actor_of(request),
                site=site.code,
                name=data["name"],
                schedule_id=data["schedule"].pk,
                doors=[door.code for door in data["doors"]],
            )
        except ServiceError as exc:
            add_service_error(form, exc, _LEVEL_FIELDS)
        else:
            messages.success(request, f"Access level {level.name} created.")
            return redirect(_with_query(reverse("access:levels"), site=site.code))
    context = {"form": form, "site": site, "level": None, "tab": "levels"}
    return render(request, "access/level_form.html", context, status=_status(bool(form.errors)))


@console_page(MANAGE_ACCESS, "changing an access level")
@require_http_methods(["GET", "POST"])
def level_edit(request: HttpRequest, pk: int) -> HttpResponse:
    level = get_object_or_404(AccessLevel.objects.select_related("site", "schedule"), pk=pk)
    initial = {"schedule": level.schedule, "doors": list(level.doors.all())}
    form = LevelForm(request.POST or None, site=level.site, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.levels.set_level(
                actor_of(request),
                level.site.code,
                level.pk,
                schedule_id=form.cleaned_data["schedule"].pk,
                doors=[door.code for door in form.cleaned_data["doors"]],
            )
        except ServiceError as exc:
            add_service_error(form, exc, _LEVEL_FIELDS)
        else:
            messages.success(request, f"Access level {level.name} saved.")
            return redirect(_with_query(reverse("access:levels"), site=level.site.code))
    context = {"form": form, "site": level.site, "level": level, "tab": "levels"}
    return render(request, "access/level_form.html", context, status=_status(bool(form.errors)))


# ----------------------------------------------------------------------------- schedules


# Ranges are written with an en dash, as in "Mon\u2013Fri 08:00\u201318:00".
DASH = "\u2013"


def days_label(days: Sequence[str]) -> str:
    """``["mon", "tue", "wed"]`` as "Mon-Wed" (en dash): runs of consecutive days are shortened."""
    order = [d for d in WEEKDAYS if d in days]
    runs: list[list[str]] = []
    for day in order:
        if runs and WEEKDAYS.index(day) == WEEKDAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    words = [
        DAY_LABELS[r[0]] if len(r) == 1 else f"{DAY_LABELS[r[0]]}{DASH}{DAY_LABELS[r[-1]]}"
        for r in runs
    ]
    if len(order) == 7:
        return "Every day"
    return ", ".join(words)


@dataclass(frozen=True)
class ScheduleRow:
    schedule: Schedule
    windows: list[str]
    holiday_windows: list[str]
    levels: int


def schedule_rows(site: Site | None) -> list[ScheduleRow]:
    schedules = (
        Schedule.objects.filter(site=site)
        .annotate(n=Count("levels", distinct=True))
        .order_by("name")
    )
    return [
        ScheduleRow(
            s,
            [f"{days_label(w['days'])} {w['start']}{DASH}{w['end']}" for w in s.windows],
            [f"{w['start']}{DASH}{w['end']}" for w in s.holiday_windows],
            s.n,
        )
        for s in schedules
    ]


def _schedules_context(
    request: HttpRequest, site: Site | None, holiday_form: HolidayForm | None = None
) -> dict[str, Any]:
    return {
        "sites": _sites(),
        "site": site,
        "rows": schedule_rows(site),
        "holidays": list(Holiday.objects.filter(site=site).order_by("date")),
        "holiday_form": holiday_form or HolidayForm(),
        "tab": "schedules",
        **_perms(actor_of(request)),
    }


@console_page(VIEW_ACCESS, "schedules")
@require_GET
def schedules(request: HttpRequest) -> HttpResponse:
    site = _chosen_site(request.GET.get("site"), _sites())
    return render(request, "access/schedules.html", _schedules_context(request, site))


def _schedule_error(form: ScheduleForm, exc: ServiceError) -> None:
    form.add_error(form.field_for(exc.field, exc.message), exc.message)


@console_page(MANAGE_ACCESS, "creating a schedule")
@require_http_methods(["GET", "POST"])
def schedule_new(request: HttpRequest) -> HttpResponse:
    site = _chosen_site(request.GET.get("site") or request.POST.get("site"), _sites())
    if site is None:
        raise Http404("no site")
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        windows, holiday_windows = form.windows(), form.holiday_windows()
        try:
            schedule = services.levels.create_schedule(
                actor_of(request),
                site=site.code,
                name=form.cleaned_data["name"],
                windows=windows,
                holiday_windows=holiday_windows,
            )
        except ServiceError as exc:
            _schedule_error(form, exc)
        else:
            messages.success(request, f"Schedule {schedule.name} created.")
            return redirect(_with_query(reverse("access:schedules"), site=site.code))
    context = {"form": form, "site": site, "schedule": None, "tab": "schedules"}
    return render(request, "access/schedule_form.html", context, status=_status(bool(form.errors)))


@console_page(MANAGE_ACCESS, "changing a schedule")
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule.objects.select_related("site"), pk=pk)
    form = ScheduleForm(
        request.POST or None,
        windows=schedule.windows,
        holiday_windows=schedule.holiday_windows,
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        windows, holiday_windows = form.windows(), form.holiday_windows()
        try:
            services.levels.update_schedule(
                actor_of(request),
                schedule.site.code,
                schedule.pk,
                windows=windows,
                holiday_windows=holiday_windows,
            )
        except ServiceError as exc:
            _schedule_error(form, exc)
        else:
            messages.success(request, f"Schedule {schedule.name} saved.")
            return redirect(_with_query(reverse("access:schedules"), site=schedule.site.code))
    context = {"form": form, "site": schedule.site, "schedule": schedule, "tab": "schedules"}
    return render(request, "access/schedule_form.html", context, status=_status(bool(form.errors)))


@console_page(MANAGE_ACCESS, "adding a holiday")
@require_POST
def holiday_add(request: HttpRequest) -> HttpResponse:
    site = _site_or_404(request.POST.get("site"))
    form = HolidayForm(request.POST)
    if form.is_valid():
        try:
            holiday = services.levels.add_holiday(
                actor_of(request),
                site=site.code,
                day=form.cleaned_data["date"],
                name=form.cleaned_data["name"],
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"day": "date"})
        else:
            messages.success(request, f"{holiday.date:%-d %B %Y} is a holiday at {site.name}.")
            return redirect(_with_query(reverse("access:schedules"), site=site.code))
    context = _schedules_context(request, site, holiday_form=form)
    return render(request, "access/schedules.html", context, status=400)


@console_page(MANAGE_ACCESS, "removing a holiday")
@require_POST
def holiday_remove(request: HttpRequest) -> HttpResponse:
    site = _site_or_404(request.POST.get("site"))
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        messages.error(request, "The holiday was not removed: its date could not be read.")
        return redirect(_with_query(reverse("access:schedules"), site=site.code))
    try:
        services.levels.remove_holiday(actor_of(request), site=site.code, day=day)
    except ServiceError as exc:
        messages.error(request, f"The holiday was not removed: {exc.message}.")
    else:
        messages.success(request, f"{day:%-d %B %Y} is no longer a holiday at {site.name}.")
    return redirect(_with_query(reverse("access:schedules"), site=site.code))
