"""Video events in the API: list, read, evidence, acknowledge or mark as a false positive.

Reads need a role that may view cameras; handling needs an operator or a manager
(``services.events.HANDLE_EVENTS``). A vision worker's token reaches none of these.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router

from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.downloads import send_file
from mailwarden.directory.queries import site_by_code
from mailwarden.surveillance.models import VideoEvent
from mailwarden.surveillance.queries import video_events as queries
from mailwarden.surveillance.queries.cameras import Evidence
from mailwarden.surveillance.schemas import (
    VideoEventFilter,
    VideoEventHandleIn,
    VideoEventId,
    VideoEventOut,
    binary_response,
    video_event_out,
)
from mailwarden.surveillance.services import cameras, events

router = Router()

# Evidence never changes once stored (it is named by its hash), so the browser may keep it.
IMMUTABLE = "private, max-age=86400, immutable"


def _reader(request: HttpRequest, what: str) -> None:
    cameras.authorise(actor_of(request), what, cameras.VIEW_CAMERAS)


@router.get(
    "/surveillance/events",
    response={200: list[VideoEventOut], **ERRORS},
    summary="Video events, newest first",
)
@allow(cameras.VIEW_CAMERAS, "reading video events")
def list_video_events(
    request: HttpRequest, filters: Query[VideoEventFilter]
) -> list[VideoEventOut]:
    _reader(request, "reading video events")
    camera = cameras.camera_named(filters.camera, "camera") if filters.camera else None
    if filters.site:
        site_by_code(filters.site)  # an unknown site is refused, not an empty list
    found = queries.video_events(
        camera=camera,
        site_code=filters.site,
        type=filters.type,
        state=filters.state,
        since=filters.since,
    )
    page = list(found[filters.offset : filters.offset + filters.limit])
    raised = dict(VideoEvent.objects.filter(crossing__in=page).values_list("crossing_id", "pk"))
    return [video_event_out(e, tailgating=raised.get(e.pk)) for e in page]


@router.get(
    "/surveillance/events/{video_event_id}",
    response={200: VideoEventOut, **ERRORS},
    summary="One video event",
)
@allow(cameras.VIEW_CAMERAS, "reading video events")
def get_video_event(request: HttpRequest, video_event_id: Path[VideoEventId]) -> VideoEventOut:
    _reader(request, "reading video events")
    event = queries.video_event(video_event_id, "video_event_id")
    return video_event_out(event, tailgating=queries.tailgating_of(event))


@router.get(
    "/surveillance/events/{video_event_id}/snapshot",
    response=ERRORS,
    summary="A video event's snapshot (JPEG)",
    openapi_extra=binary_response("The snapshot", "image/jpeg"),
)
@allow(cameras.VIEW_CAMERAS, "viewing video evidence")
def video_event_snapshot(request: HttpRequest, video_event_id: Path[VideoEventId]) -> HttpResponse:
    _reader(request, "viewing video evidence")
    event = queries.video_event(video_event_id, "video_event_id")
    path = queries.evidence_file(event, "snapshot")
    found = Evidence(path, "image/jpeg", path.stat().st_size)
    return send_file(request, found, f"video-event-{event.pk}.jpg", IMMUTABLE)


@router.get(
    "/surveillance/events/{video_event_id}/clip",
    response=ERRORS,
    summary="A video event's clip (MP4 or WebM)",
    openapi_extra=binary_response("The clip", *queries.CLIP_TYPES),
)
@allow(cameras.VIEW_CAMERAS, "viewing video evidence")
def video_event_clip(request: HttpRequest, video_event_id: Path[VideoEventId]) -> HttpResponse:
    _reader(request, "viewing video evidence")
    event = queries.video_event(video_event_id, "video_event_id")
    path = queries.evidence_file(event, "clip")
    kind = queries.clip_type(event)
    extension = "webm" if kind == "video/webm" else "mp4"
    found = Evidence(path, kind, path.stat().st_size)
    return send_file(request, found, f"video-event-{event.pk}.{extension}", IMMUTABLE)


@router.post(
    "/surveillance/events/{video_event_id}/handle",
    response={200: VideoEventOut, **ERRORS},
    summary="Acknowledge a video event, or mark it as a false positive",
)
@allow(events.HANDLE_EVENTS, "handling a video event")
def handle_video_event(
    request: HttpRequest, video_event_id: Path[VideoEventId], payload: VideoEventHandleIn
) -> VideoEventOut:
    queries.video_event(video_event_id, "video_event_id")
    handled = events.handle(
        actor_of(request), video_event_id, false_positive=payload.false_positive, note=payload.note
    )
    event = queries.video_event(handled.pk, "video_event_id")
    return video_event_out(event, tailgating=queries.tailgating_of(event))
