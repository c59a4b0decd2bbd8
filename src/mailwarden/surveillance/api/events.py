"""Video events in the API: list, read, evidence, acknowledge or mark as a false positive.

Reads need a role that may view cameras; handling needs an operator or a manager
(``services.events.HANDLE_EVENTS``). A vision worker's token reaches none of these.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import FileResponse, HttpRequest
from ninja import Field, Path, Query, Router, Schema
from pydantic import StrictBool

from mailwarden.contracts.vision import VIDEO_EVENT_TYPES, VideoEventType
from mailwarden.core.api import ERRORS, Input, UtcDateTime, actor_of, allow
from mailwarden.core.errors import NotFound
from mailwarden.directory.models import Site
from mailwarden.directory.schemas import SiteCode
from mailwarden.surveillance.models import VideoEvent
from mailwarden.surveillance.queries import video_events as queries
from mailwarden.surveillance.services import cameras, events

router = Router()

VideoEventId = Annotated[int, Field(ge=1, le=2**63 - 1)]
CameraName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[-a-zA-Z0-9_]+$")]
VideoEventStateName = Literal["new", "acknowledged", "false_positive", "recorded"]
# Evidence never changes once stored (it is named by its hash), so the browser may keep it.
IMMUTABLE = "private, max-age=86400, immutable"


class VideoEventFilter(Input):
    camera: CameraName | None = Field(None, description="The camera's name.")
    type: VideoEventType | None = Field(None, description=", ".join(VIDEO_EVENT_TYPES))
    state: VideoEventStateName | None = Field(
        None,
        description="Only events in this state; without it, every event except door-line "
        "crossings that were only recorded.",
    )
    site: SiteCode | None = None
    since: UtcDateTime | None = Field(None, description="Only events from this moment on.")
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=1_000_000)


class VideoEventOut(Schema):
    id: int
    camera: str
    site: str
    worker: str
    type: str
    zone: str = Field(description="The zone or door line that raised it.")
    door: str | None = Field(description="The access door's code, for a door line.")
    occurred_at: datetime
    received_at: datetime
    frame: int
    track: int | None
    bbox: list[int] = Field(description="[x0, y0, x1, y1] in the video's pixels.")
    frame_size: list[int] = Field(description="[width, height] of the video.")
    detail: dict[str, Any]
    description: str = Field(description="What happened, in words.")
    state: VideoEventStateName
    snapshot: str | None = Field(description="The snapshot's SHA-256, while it is kept.")
    clip: str | None = Field(description="The clip's SHA-256, while it is kept.")
    snapshot_url: str | None
    clip_url: str | None
    clip_type: str | None
    grant_event_id: int | None = Field(
        description="For a door-line entry: the access event (badge grant) that paid for it."
    )
    crossing: int | None = Field(description="For tailgating: the crossing it was raised from.")
    tailgating: int | None = Field(
        description="For a crossing: the tailgating event raised from it."
    )
    handled_by: str | None
    handled_at: datetime | None
    note: str
    evidence_purged_at: datetime | None
    evidence_purged_by: str | None = Field(
        description="The retention rule that removed the evidence, e.g. 'age 30 days'."
    )


class VideoEventHandleIn(Input):
    false_positive: StrictBool = Field(False, description="True marks it as a false positive.")
    note: str = Field("", max_length=500)


def _ints(values: object) -> list[int]:
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def video_event_out(event: VideoEvent, *, tailgating: int | None = None) -> VideoEventOut:
    kept = event.evidence_purged_at is None
    base = f"/api/surveillance/events/{event.pk}"
    snapshot = event.snapshot if kept and event.snapshot else None
    clip = event.clip if kept and event.clip else None
    return VideoEventOut(
        id=event.pk,
        camera=event.camera.name,
        site=event.site.code,
        worker=event.worker,
        type=event.type,
        zone=event.zone,
        door=event.door.code if event.door else None,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        frame=event.frame,
        track=event.track,
        bbox=_ints(event.bbox),
        frame_size=_ints(event.frame_size),
        detail=event.detail if isinstance(event.detail, dict) else {},
        description=events.describe(event),
        state=event.state,  # type: ignore[arg-type]
        snapshot=snapshot,
        clip=clip,
        snapshot_url=f"{base}/snapshot" if snapshot else None,
        clip_url=f"{base}/clip" if clip else None,
        clip_type=queries.clip_type(event) if clip else None,
        grant_event_id=event.grant_event_id,
        crossing=event.crossing_id,
        tailgating=tailgating,
        handled_by=event.handled_by_label or None,
        handled_at=event.handled_at,
        note=event.note,
        evidence_purged_at=event.evidence_purged_at,
        evidence_purged_by=event.evidence_purged_by or None,
    )


def _binary(description: str, *media_types: str) -> dict[str, object]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "responses": {
            200: {"description": description, "content": dict.fromkeys(media_types, binary)}
        }
    }


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
    if filters.site and not Site.objects.filter(code=filters.site).exists():
        raise NotFound(f"no site {filters.site!r}", "site")
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
    openapi_extra=_binary("The snapshot", "image/jpeg"),
)
@allow(cameras.VIEW_CAMERAS, "viewing video evidence")
def video_event_snapshot(request: HttpRequest, video_event_id: Path[VideoEventId]) -> FileResponse:
    _reader(request, "viewing video evidence")
    event = queries.video_event(video_event_id, "video_event_id")
    path = queries.evidence_file(event, "snapshot")
    response = FileResponse(path.open("rb"), content_type="image/jpeg")
    response["Content-Disposition"] = f'inline; filename="video-event-{event.pk}.jpg"'
    response["Cache-Control"] = IMMUTABLE
    return response


@router.get(
    "/surveillance/events/{video_event_id}/clip",
    response=ERRORS,
    summary="A video event's clip (MP4 or WebM)",
    openapi_extra=_binary("The clip", *queries.CLIP_TYPES),
)
@allow(cameras.VIEW_CAMERAS, "viewing video evidence")
def video_event_clip(request: HttpRequest, video_event_id: Path[VideoEventId]) -> FileResponse:
    _reader(request, "viewing video evidence")
    event = queries.video_event(video_event_id, "video_event_id")
    path = queries.evidence_file(event, "clip")
    kind = queries.clip_type(event)
    response = FileResponse(path.open("rb"), content_type=kind)
    extension = "webm" if kind == "video/webm" else "mp4"
    response["Content-Disposition"] = f'inline; filename="video-event-{event.pk}.{extension}"'
    response["Cache-Control"] = IMMUTABLE
    return response


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
