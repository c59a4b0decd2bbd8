"""The video event pages: the list with thumbnails, an event with its snapshot and clip, and
acknowledging it or marking it as a false positive."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from mailwarden.core.downloads import send_file
from mailwarden.core.errors import ServiceError
from mailwarden.core.views import actor_of, console_page
from mailwarden.surveillance.forms import EventFilterForm, HandleEventForm
from mailwarden.surveillance.models import VideoEvent
from mailwarden.surveillance.queries import cameras as queries
from mailwarden.surveillance.services import events as services
from mailwarden.surveillance.services.cameras import VIEW_CAMERAS
from mailwarden.surveillance.services.events import HANDLE_EVENTS
from mailwarden.surveillance.views.common import perms

PAGE_SIZE = 50
CLIP_EXTENSIONS = {"video/mp4": "mp4", "video/webm": "webm"}
# How the worker's detail keys read to a person; others are shown with their key tidied.
DETAIL_LABELS = {
    "seconds": "Seconds",
    "dwell_s": "Dwell (seconds)",
    "people": "People",
    "max_people": "Most people allowed",
    "direction": "Direction",
    "distance": "Distance (pixels)",
    "grants": "Badge grants",
    "crossings": "Crossings",
    "window": "Window (seconds)",
}


def _event_or_404(pk: int) -> VideoEvent:
    return get_object_or_404(VideoEvent.objects.select_related("camera", "site", "door"), pk=pk)


@dataclass(frozen=True)
class Box:
    """An event's box as fractions of its frame, for an SVG drawn over its snapshot."""

    x: float
    y: float
    w: float
    h: float


def box_of(event: VideoEvent) -> Box | None:
    try:
        x0, y0, x1, y1 = (float(v) for v in event.bbox)
        width, height = (float(v) for v in event.frame_size)
    except (TypeError, ValueError):
        return None
    if width <= 0 or height <= 0 or x1 <= x0 or y1 <= y0:
        return None
    return Box(x0 / width, y0 / height, (x1 - x0) / width, (y1 - y0) / height)


@dataclass(frozen=True)
class EventRow:
    event: VideoEvent
    box: Box | None


def _words(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, dict):
        return "; ".join(f"{_label(k)}: {_words(v)}" for k, v in value.items())
    return str(value).replace("_", " ") if isinstance(value, str) else str(value)


def _label(key: str) -> str:
    return DETAIL_LABELS.get(key, key.replace("_", " ").capitalize())


def detail_in_words(detail: dict[str, Any]) -> list[tuple[str, str]]:
    return [(_label(str(k)), _words(v)) for k, v in detail.items()]


@console_page(VIEW_CAMERAS, "viewing video events")
@require_GET
def events(request: HttpRequest) -> HttpResponse:
    form = EventFilterForm(request.GET or None, types=queries.event_types())
    wanted: dict[str, str] = {"state": "new"}
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        wanted = {"camera": data["camera"], "type": data["type"], "state": form.state_filter()}
    found = queries.events(**wanted)
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "rows": [EventRow(e, box_of(e)) for e in page.object_list],
        "query": request.GET.urlencode(),
        **perms(actor_of(request)),
    }
    template = "surveillance/_event_rows.html" if getattr(request, "htmx", False) else None
    return render(request, template or "surveillance/events.html", context)


@console_page(VIEW_CAMERAS, "viewing a video event")
@require_GET
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event_or_404(pk)
    return render(request, "surveillance/event.html", _event_context(request, event))


def _event_context(
    request: HttpRequest, event: VideoEvent, form: HandleEventForm | None = None
) -> dict[str, Any]:
    return {
        "event": event,
        "box": box_of(event),
        "detail": detail_in_words(event.detail if isinstance(event.detail, dict) else {}),
        "has_snapshot": queries.evidence(event.snapshot, "image/jpeg") is not None,
        "has_clip": queries.evidence(event.clip, event.clip_type or "video/mp4") is not None,
        "form": form or HandleEventForm(),
        **perms(actor_of(request)),
    }


@console_page(VIEW_CAMERAS, "viewing a video event's snapshot")
@require_GET
def event_snapshot(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event_or_404(pk)
    found = queries.evidence(event.snapshot, "image/jpeg")
    if found is None:
        raise Http404("this event has no snapshot")
    return send_file(request, found, f"event-{event.pk}.jpg")


@console_page(VIEW_CAMERAS, "viewing a video event's clip")
@require_GET
def event_clip(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event_or_404(pk)
    content_type = event.clip_type if event.clip_type in CLIP_EXTENSIONS else "video/mp4"
    found = queries.evidence(event.clip, content_type)
    if found is None:
        raise Http404("this event has no clip")
    return send_file(request, found, f"event-{event.pk}.{CLIP_EXTENSIONS[content_type]}")


@console_page(HANDLE_EVENTS, "handling a video event")
@require_POST
def event_handle(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event_or_404(pk)
    form = HandleEventForm(request.POST)
    if form.is_valid():
        false_positive = form.cleaned_data["action"] == "false_positive"
        try:
            handled = services.handle(
                actor_of(request),
                event.pk,
                false_positive=false_positive,
                note=form.cleaned_data["note"],
            )
        except ServiceError as exc:
            form.add_error("note" if exc.field == "note" else None, exc.message)
        else:
            said = "marked as a false positive" if false_positive else "acknowledged"
            messages.success(request, f"Event {handled.pk} {said}.")
            return redirect("surveillance:event", pk=event.pk)
    context = _event_context(request, event, form)
    return render(request, "surveillance/event.html", context, status=400)
