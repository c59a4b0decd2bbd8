"""The alarm console: every unacknowledged alarm from every source, acknowledged singly or in
bulk with a note, kept live by a server-sent event stream like the door board's.

Views read :mod:`mailwarden.incidents.queries` and call :mod:`mailwarden.incidents.services`
for every change (docs/architecture.md rule 1). The stream is async so an open console holds no
request thread; it reads the database through ``sync_to_async``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.handlers.asgi import ASGIRequest
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from mailwarden.core import streams
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.streams import StreamSettings
from mailwarden.core.views import actor_of, console_page
from mailwarden.directory.models import Site
from mailwarden.incidents.forms.alarms import AcknowledgeForm, FilterForm
from mailwarden.incidents.models import Alarm, Severity
from mailwarden.incidents.queries import alarms as queries
from mailwarden.incidents.queries import incidents as incident_queries
from mailwarden.incidents.services import alarms as services

SHOWN = 200


def _filtered(filters: dict[str, Any]) -> QuerySet[Alarm]:
    alarms = queries.needing_attention()
    if filters.get("site"):
        alarms = alarms.filter(site__code=filters["site"])
    if filters.get("source"):
        alarms = alarms.filter(source=filters["source"])
    if filters.get("min_severity"):
        alarms = alarms.filter(severity__gte=filters["min_severity"])
    return alarms


def _filters(request: HttpRequest) -> dict[str, Any]:
    form = FilterForm(request.GET or None)
    return form.cleaned_data if form.is_valid() else {}


def _context(actor: Actor, filters: dict[str, Any]) -> dict[str, Any]:
    alarms = _filtered(filters)
    shown = list(alarms[:SHOWN])
    # An alarm someone already opened an incident for links to it instead of offering another.
    linked = incident_queries.incidents_for_alarms(a.pk for a in shown)
    for alarm in shown:
        # Read by the list template only; the model has no such field.
        alarm.incident = linked.get(alarm.pk)  # type: ignore[attr-defined]
    return {
        "alarms": shown,
        "alarm_count": alarms.count(),
        "critical_ids": " ".join(
            str(i) for i in alarms.filter(severity=Severity.CRITICAL).values_list("id", flat=True)
        ),
        "can_ack": actor.has(*services.HANDLE_ALARMS),
    }


@console_page(services.VIEW_ALARMS, "the alarm console")
@require_GET
def alarms(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    context = _context(actor_of(request), filters)
    context["filter_form"] = FilterForm(request.GET or None)
    context["sites"] = Site.objects.order_by("name")
    context["stream_url"] = (
        request.path + "stream" + ("?" + request.GET.urlencode() if request.GET else "")
    )
    return render(request, "incidents/alarms.html", context)


@console_page(services.HANDLE_ALARMS, "acknowledging alarms")
@require_POST
def acknowledge(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("alarm_ids") if v.isdigit()]
    form = AcknowledgeForm(request.POST, alarm_ids=ids)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        messages.error(request, f"Nothing was acknowledged: {first}.")
        return redirect("incidents:alarms")
    try:
        done = services.acknowledge_alarms(
            actor_of(request), form.cleaned_data["alarm_ids"], note=form.cleaned_data["note"]
        )
    except ServiceError as exc:
        messages.error(request, f"Nothing was acknowledged: {exc.message}.")
    else:
        messages.success(request, f"{len(done)} alarm{'s' if len(done) != 1 else ''} acknowledged.")
    return redirect("incidents:alarms")


# ----------------------------------------------------------------------------- the live stream


STREAM = StreamSettings()


def signature(filters: dict[str, Any]) -> tuple[Any, ...]:
    """Different whenever anything the console shows may have changed."""
    return tuple(_filtered(filters).values_list("id", "count", "state", "severity")[:SHOWN])


def _poll(
    filters: dict[str, Any], extra: dict[str, Any], previous: tuple[Any, ...] | None
) -> tuple[tuple[Any, ...], dict[str, Any] | None]:
    now = signature(filters)
    if now == previous:
        return now, None
    context = {**_context(extra["actor"], filters), **extra}
    html = render_to_string("incidents/_alarm_list.html", context)
    return now, {"html": html, "critical": context["critical_ids"], "count": context["alarm_count"]}


def alarm_events(
    filters: dict[str, Any], extra: dict[str, Any], *, live: bool, settings: StreamSettings
) -> AsyncIterator[str]:
    """Everything on connecting, then the list again whenever it changes."""
    poll = sync_to_async(_poll)
    return streams.events(
        "alarms", lambda previous: poll(filters, extra, previous), live=live, settings=settings
    )


async def alarm_stream(request: HttpRequest) -> HttpResponseBase:
    """Server-sent events for the alarm console (``/incidents/alarms/stream``)."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    user = await request.auser()
    if not user.is_authenticated:
        return HttpResponse("sign in first", status=401, content_type="text/plain")
    actor = await sync_to_async(Actor.for_user)(user)
    try:
        require(actor, services.VIEW_ALARMS, "the alarm console")
    except Forbidden as exc:
        return HttpResponse(exc.message, status=403, content_type="text/plain")
    filters = _filters(request)
    extra = {"csrf_token": get_token(request), "actor": actor}
    response = StreamingHttpResponse(
        alarm_events(filters, extra, live=isinstance(request, ASGIRequest), settings=STREAM),
        content_type="text/event-stream",
    )
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
