"""The contract between the server's ``surveillance`` app and a ``mailwarden vision`` worker.

Every operation uses the worker's device token (``Authorization: Bearer ...``):

``GET /api/surveillance/worker/config``
    :class:`WorkerConfig`: the cameras the worker runs, with their zones, lines, masks and
    rules. It answers with an ``ETag`` (the config's ``version``); a poll that sends it back in
    ``If-None-Match`` gets ``304 Not Modified`` while nothing changed, so the worker picks up a
    change within one poll and costs the server almost nothing otherwise.

``PUT /api/surveillance/worker/media/{sha256}``
    The bytes of one snapshot (``image/jpeg``) or clip (``video/mp4``, ``video/webm``), stored
    under their SHA-256, which the server checks. Sending the same file again is harmless.

``POST /api/surveillance/worker/events``
    :class:`VideoEventBatch` in, :class:`VideoEventBatchResult` out. Each event carries the
    worker's outbox key, so the server records it once however often it arrives. Its evidence
    is uploaded first and named here by hash.

``POST /api/surveillance/worker/status``
    :class:`CameraStatusBatch`: each camera's state, the time of its last frame and its counts.

Points are fractions of the frame's width and height (0..1, from the top left corner), so a
camera's zones survive a change of its resolution; the worker turns them into pixels once it
knows the frame's size. Boxes in events are in the video's pixels, with ``frame_size``.

No Django here: the vision worker imports this module.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# The event types a worker reports. ``line_crossing`` is a door line's crossing, which the
# server joins with the door's badge grants to find tailgating; the others are alarms.
VIDEO_EVENT_TYPES = (
    "presence",
    "loitering",
    "after_hours",
    "unattended",
    "crowding",
    "line_crossing",
    "tailgating",
)
VideoEventType = Literal[
    "presence",
    "loitering",
    "after_hours",
    "unattended",
    "crowding",
    "line_crossing",
    "tailgating",
]
CameraState = Literal["online", "offline", "ended"]

MAX_BATCH = 100
MAX_SNAPSHOT_BYTES = 4 * 1024 * 1024
MAX_CLIP_BYTES = 64 * 1024 * 1024
MEDIA_TYPES = {"image/jpeg": "snapshot", "video/mp4": "clip", "video/webm": "clip"}

Fraction = float
Point = tuple[Fraction, Fraction]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WorkerZone(_Strict):
    name: str
    # ``None`` is the whole frame.
    area: list[Point] | None = None
    # Rule dicts in the rules file's form (docs/vision.md), e.g. ``{"type": "loitering",
    # "seconds": 15}``.
    rules: list[dict[str, Any]] = Field(default_factory=list)


class WorkerLine(_Strict):
    name: str
    points: tuple[Point, Point]
    inside: Literal["left", "right"] = "left"
    # The access door the line guards; its crossings are reported for the tailgating check.
    door: str | None = None
    rules: list[dict[str, Any]] = Field(default_factory=list)


class WorkerCamera(_Strict):
    name: str
    site: str
    url: str
    username: str = ""
    password: str = ""
    analysis_fps: float | None = 5.0
    motion_gating: bool = True
    pre_roll_s: float = 3.0
    post_roll_s: float = 3.0
    # The site's IANA time zone, for after-hours schedules.
    time_zone: str = "UTC"
    zones: list[WorkerZone] = Field(default_factory=list)
    lines: list[WorkerLine] = Field(default_factory=list)
    masks: list[list[Point]] = Field(default_factory=list)


class MqttSettings(_Strict):
    host: str
    port: int = 1883
    topic_prefix: str = "mailwarden/vision"


class WorkerConfig(_Strict):
    worker: str
    version: str = Field(description="Changes whenever anything below changes.")
    cameras: list[WorkerCamera]
    # Seconds between polls for changes and between status reports.
    poll_s: float = 10.0
    mqtt: MqttSettings | None = None


class VideoEventIn(_Strict):
    key: uuid.UUID = Field(description="The worker's outbox key: the event is recorded once.")
    camera: str = Field(max_length=100)
    type: VideoEventType
    zone: str = Field(max_length=100, description="The zone or line that raised it.")
    occurred_at: datetime
    frame: int = Field(ge=0, le=2**31 - 1)
    track: int | None = Field(default=None, ge=0, le=2**31 - 1)
    bbox: tuple[int, int, int, int] = Field(description="[x0, y0, x1, y1] in the video's pixels")
    frame_size: tuple[int, int] = Field(description="[width, height] of the video")
    detail: dict[str, Any] = Field(default_factory=dict)
    snapshot: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    clip: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class VideoEventBatch(_Strict):
    events: list[VideoEventIn] = Field(max_length=MAX_BATCH)


class RejectedVideoEvent(_Strict):
    key: uuid.UUID
    field: str
    reason: str


class VideoEventBatchResult(_Strict):
    accepted: list[uuid.UUID]
    rejected: list[RejectedVideoEvent] = Field(default_factory=list)


class CameraStatusIn(_Strict):
    camera: str = Field(max_length=100)
    state: CameraState
    reason: str = Field(default="", max_length=200)
    last_frame_at: datetime | None = None
    frames: int = Field(default=0, ge=0)
    corrupt_frames: int = Field(default=0, ge=0)
    frame_size: tuple[int, int] | None = None
    # The latest frame, uploaded first, for the console's camera grid and zone editor.
    snapshot: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")


class CameraStatusBatch(_Strict):
    cameras: list[CameraStatusIn] = Field(max_length=MAX_BATCH)
