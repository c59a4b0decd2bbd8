"""The surveillance API's request and response shapes, bounded like their columns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import StrictBool

from mailwarden.contracts.vision import VIDEO_EVENT_TYPES, VideoEventType
from mailwarden.core.api import Input, IsoDateTime
from mailwarden.directory.schemas import SiteCode
from mailwarden.surveillance.models import Camera, Region, VideoEvent, VisionWorker
from mailwarden.surveillance.queries import cameras as camera_queries
from mailwarden.surveillance.queries import video_events as event_queries
from mailwarden.surveillance.services import events
from mailwarden.surveillance.services.cameras import MAX_POINTS, MAX_REGIONS

SLUG = r"^[-a-zA-Z0-9_]+$"
CameraName = Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Fps = Annotated[float, Field(ge=0.2, le=30)]
RollSeconds = Annotated[float, Field(ge=0, le=30)]
# A rule in the rules file's form (docs/vision.md), such as {"type": "loitering", "seconds": 30};
# the vision library's own models check it, and an error names the rule and its field.
Rule = dict[str, Any]
MAX_RULES = 10


class CameraOut(Schema):
    name: str
    label: str
    site: str
    url: str
    username: str
    has_password: bool = Field(description="Whether a password is stored; it is never shown.")
    worker: str | None
    enabled: bool
    analysis_fps: float
    motion_gating: bool
    pre_roll_s: float
    post_roll_s: float
    state: str = Field(description="unknown (not reported yet), online, offline or ended")
    state_reason: str
    state_at: datetime | None
    last_frame_at: datetime | None
    frames: int
    corrupt_frames: int
    width: int | None
    height: int | None
    has_snapshot: bool
    snapshot_at: datetime | None


def camera_out(camera: Camera) -> CameraOut:
    return CameraOut(
        name=camera.name,
        label=camera.label,
        site=camera.site.code,
        url=camera.url,
        username=camera.username,
        has_password=bool(camera.password_secret),
        worker=camera.worker.name if camera.worker else None,
        enabled=camera.enabled,
        analysis_fps=camera.analysis_fps,
        motion_gating=camera.motion_gating,
        pre_roll_s=camera.pre_roll_s,
        post_roll_s=camera.post_roll_s,
        state=camera.state,
        state_reason=camera.state_reason,
        state_at=camera.state_at,
        last_frame_at=camera.last_frame_at,
        frames=camera.frames,
        corrupt_frames=camera.corrupt_frames,
        width=camera.width,
        height=camera.height,
        has_snapshot=bool(camera.snapshot),
        snapshot_at=camera.snapshot_at,
    )


class CameraQuery(Input):
    site: SiteCode | None = None


class CameraIn(Input):
    site: SiteCode
    name: CameraName
    url: str = Field(
        min_length=1,
        max_length=500,
        description="rtsp://, rtsps://, http(s):// or file:// address, or a file's full path; "
        "no user name or password in it.",
    )
    label: str = Field("", max_length=120)
    username: str = Field("", max_length=100)
    password: str | None = Field(None, max_length=200, description="Stored encrypted.")
    worker: CameraName | None = Field(None, description="The vision worker that watches it.")
    enabled: bool = True
    analysis_fps: Fps = 5.0
    motion_gating: bool = True
    pre_roll_s: RollSeconds = 3.0
    post_roll_s: RollSeconds = 3.0


class CameraChangeIn(Input):
    """Only the fields sent change. ``password``: "" removes the stored one; ``worker``: ""
    leaves the camera without a worker."""

    url: str | None = Field(None, min_length=1, max_length=500)
    label: str | None = Field(None, max_length=120)
    username: str | None = Field(None, max_length=100)
    password: str | None = Field(None, max_length=200)
    worker: Annotated[str, Field(max_length=100, pattern=r"^[-a-zA-Z0-9_]*$")] | None = None
    enabled: bool | None = None
    analysis_fps: Fps | None = None
    motion_gating: bool | None = None
    pre_roll_s: RollSeconds | None = None
    post_roll_s: RollSeconds | None = None


class CameraRegionIn(Input):
    kind: Literal["zone", "line", "mask"]
    name: str = Field("mask", min_length=1, max_length=100, description="Masks are numbered.")
    points: list[tuple[Fraction, Fraction]] = Field(
        default_factory=list,
        max_length=MAX_POINTS,
        description="Fractions of the frame's width and height; a zone with none is the whole "
        "frame, a line has two, a mask at least three.",
    )
    inside: Literal["left", "right"] = Field(
        "left", description="A line's inside, looking from its first point to its second."
    )
    door: Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG)] | None = Field(
        None, description="The door a line guards: a door code at the camera's site."
    )
    rules: list[Rule] = Field(default_factory=list, max_length=MAX_RULES)


class CameraRegionsIn(Input):
    regions: list[CameraRegionIn] = Field(max_length=MAX_REGIONS)


class CameraRegionOut(Schema):
    kind: str
    name: str
    points: list[tuple[float, float]]
    inside: str
    door: str | None
    rules: list[Rule]


def region_out(region: Region) -> CameraRegionOut:
    return CameraRegionOut(**camera_queries.region_dict(region))


VideoEventId = Annotated[int, Field(ge=1, le=2**63 - 1)]
VideoEventStateName = Literal["new", "acknowledged", "false_positive", "recorded"]


class VideoEventFilter(Input):
    camera: CameraName | None = Field(None, description="The camera's name.")
    type: VideoEventType | None = Field(None, description=", ".join(VIDEO_EVENT_TYPES))
    state: VideoEventStateName | None = Field(
        None,
        description="Only events in this state; without it, every event except door-line "
        "crossings that were only recorded.",
    )
    site: SiteCode | None = None
    since: IsoDateTime | None = Field(None, description="Only events from this moment on.")
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
        clip_type=event_queries.clip_type(event) if clip else None,
        grant_event_id=event.grant_event_id,
        crossing=event.crossing_id,
        tailgating=tailgating,
        handled_by=event.handled_by_label or None,
        handled_at=event.handled_at,
        note=event.note,
        evidence_purged_at=event.evidence_purged_at,
        evidence_purged_by=event.evidence_purged_by or None,
    )


Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$", min_length=64, max_length=64)]
WorkerName = CameraName


class WorkerMediaOut(Schema):
    sha256: str
    bytes: int


class RejectedStatusOut(Schema):
    camera: str
    field: str
    reason: str


class CameraStatusResultOut(Schema):
    updated: list[str]
    rejected: list[RejectedStatusOut]


class WorkerEnrolIn(Input):
    name: WorkerName
    site: SiteCode


class VisionWorkerOut(Schema):
    name: str
    site: str
    token_prefix: str
    created_at: datetime
    last_seen_at: datetime | None


class WorkerEnrolmentOut(VisionWorkerOut):
    token: str = Field(description="The worker's device token; shown only in this answer.")


def worker_out(worker: VisionWorker) -> VisionWorkerOut:
    return VisionWorkerOut(
        name=worker.name,
        site=worker.site.code,
        token_prefix=worker.token_prefix,
        created_at=worker.created_at,
        last_seen_at=worker.last_seen_at,
    )


def binary_response(description: str, *media_types: str) -> dict[str, object]:
    """``openapi_extra`` for an operation that answers a file of one of ``media_types``."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "responses": {
            200: {"description": description, "content": dict.fromkeys(media_types, binary)}
        }
    }
