"""What a vision worker reports, taken in: evidence files, video events (each recorded once, by
its outbox key) and its cameras' status (contracts.vision).

Every function takes the worker's device actor first and refuses any other caller; an event or a
status line that cannot be used is refused on its own, naming the field, and the rest are taken.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction

from mailwarden.config import get_settings
from mailwarden.contracts import events as catalogue
from mailwarden.contracts.vision import (
    MAX_CLIP_BYTES,
    MAX_SNAPSHOT_BYTES,
    MEDIA_TYPES,
    CameraStatusIn,
    RejectedVideoEvent,
    VideoEventBatchResult,
    VideoEventIn,
)
from mailwarden.core import clock, ledger, media, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.validation import check_text
from mailwarden.surveillance.models import (
    Camera,
    CameraState,
    Region,
    RegionKind,
    VideoEvent,
    VisionWorker,
)
from mailwarden.surveillance.services import events as video_events

log = logging.getLogger(__name__)

DIGEST = re.compile(r"^[0-9a-f]{64}$")
MAX_DETAIL_CHARS = 4000
MAX_DB_BIGINT = 2**63 - 1
MAX_FRAME_SIDE = 16384
DOWN = (CameraState.OFFLINE.value, CameraState.ENDED.value)


def reporting_worker(actor: Actor) -> VisionWorker:
    """The enrolled vision worker ``actor`` is; any other caller is refused."""
    if actor.kind != "device":
        raise Forbidden("only a vision worker's device token may call this", "Authorization")
    worker = VisionWorker.objects.select_related("site").filter(name=actor.name).first()
    if worker is None:
        raise Forbidden(f"device {actor.name!r} is not an enrolled vision worker", "Authorization")
    return worker


def _touch(worker: VisionWorker, now: datetime) -> None:
    VisionWorker.objects.filter(pk=worker.pk).update(last_seen_at=now)


# ----------------------------------------------------------------------------- media


def media_limit(content_type: str) -> int:
    return MAX_SNAPSHOT_BYTES if MEDIA_TYPES.get(content_type) == "snapshot" else MAX_CLIP_BYTES


def check_media_type(content_type: str) -> str:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind not in MEDIA_TYPES:
        raise ServiceError(f"must be one of {', '.join(sorted(MEDIA_TYPES))}", "Content-Type")
    return kind


def _looks_like(content_type: str, data: bytes) -> bool:
    if content_type == "video/mp4":
        return data[4:8] == b"ftyp"
    if content_type == "video/webm":
        return data[:4] == b"\x1a\x45\xdf\xa3"
    return True


def store_media(actor: Actor, digest: str, content_type: str, data: bytes) -> str:
    """Store a snapshot or clip under its SHA-256 ``digest``, which must be the body's."""
    reporting_worker(actor)
    if not DIGEST.match(digest):
        raise ServiceError("must be 64 lowercase hex digits (the file's SHA-256)", "sha256")
    kind = check_media_type(content_type)
    limit = media_limit(kind)
    if not data:
        raise ServiceError("the file is empty", "body")
    if len(data) > limit:
        raise ServiceError(f"the file is {len(data)} bytes; the limit is {limit}", "body")
    actual = hashlib.sha256(data).hexdigest()
    if actual != digest:
        raise ServiceError(f"the body's SHA-256 is {actual}, not the one in the path", "sha256")
    if MEDIA_TYPES[kind] == "snapshot":
        image = media.check_image(
            data, field="body", max_bytes=limit, max_pixels=get_settings().uploads.max_pixels
        )
        if image.format != "JPEG":
            raise ServiceError(f"a snapshot must be a JPEG, not {image.format}", "body")
    elif not _looks_like(kind, data):
        raise ServiceError(f"the file is not {kind}", "body")
    return media.put(data)


def _uploaded(digest: str | None) -> bool:
    return digest is None or media.path_for(digest).is_file()


def _clip_type(digest: str) -> str:
    with media.path_for(digest).open("rb") as f:
        head = f.read(12)
    if head[:4] == b"\x1a\x45\xdf\xa3":
        return "video/webm"
    return "video/mp4"


# ----------------------------------------------------------------------------- events


class _Refused(Exception):
    def __init__(self, field_name: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field_name
        self.reason = reason


def _aware(value: datetime | None, field_name: str) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise _Refused(field_name, "must carry its UTC offset")


def _check_event(
    worker: VisionWorker, item: VideoEventIn, cameras: dict[str, Camera | None]
) -> Camera:
    try:
        name = check_text(item.camera, "camera", max_length=100, required=True)
        check_text(item.zone, "zone", max_length=100, required=True)
    except ServiceError as exc:
        raise _Refused(exc.field or "camera", exc.message) from None
    if name not in cameras:
        cameras[name] = Camera.objects.select_related("site").filter(name=name).first()
    camera = cameras[name]
    if camera is None:
        raise _Refused("camera", f"no camera named {name!r}")
    if camera.worker_id != worker.pk:
        raise _Refused("camera", f"camera {name!r} is not assigned to worker {worker.name!r}")
    _aware(item.occurred_at, "occurred_at")
    w, h = item.frame_size
    if not (0 < w <= MAX_FRAME_SIDE and 0 < h <= MAX_FRAME_SIDE):
        raise _Refused("frame_size", f"must be a width and height from 1 to {MAX_FRAME_SIDE}")
    x0, y0, x1, y1 = item.bbox
    if not (0 <= x0 <= x1 <= w and 0 <= y0 <= y1 <= h):
        raise _Refused("bbox", f"must lie inside the {w}x{h} frame with x0 <= x1 and y0 <= y1")
    detail = json.dumps(item.detail, default=str)
    if len(detail) > MAX_DETAIL_CHARS:
        raise _Refused("detail", f"at most {MAX_DETAIL_CHARS} characters of JSON")
    if "\\u0000" in detail:
        raise _Refused("detail", "must not contain NUL characters")
    for which in ("snapshot", "clip"):
        if not _uploaded(getattr(item, which)):
            raise _Refused(which, "upload the file first (PUT /api/surveillance/worker/media)")
    return camera


@dataclass
class _Batch:
    accepted: list[object] = field(default_factory=list)
    rejected: list[RejectedVideoEvent] = field(default_factory=list)


def record_events(actor: Actor, items: Sequence[VideoEventIn]) -> VideoEventBatchResult:
    """Record each event once (by its key), with its evidence, and raise it
    (``events.after_recorded``) in the same transaction. A refused event is named with the
    field and the reason; the others are recorded all the same."""
    worker = reporting_worker(actor)
    now = clock.now()
    out = _Batch()
    cameras: dict[str, Camera | None] = {}
    for item in items:
        if VideoEvent.objects.filter(key=item.key).exists():
            out.accepted.append(item.key)
            continue
        try:
            camera = _check_event(worker, item, cameras)
        except _Refused as exc:
            out.rejected.append(
                RejectedVideoEvent(key=item.key, field=exc.field, reason=exc.reason)
            )
            continue
        try:
            with transaction.atomic():
                _record(actor, worker, camera, item, now)
        except IntegrityError:
            # The same key from a retry that raced this one: it is recorded, once.
            if not VideoEvent.objects.filter(key=item.key).exists():
                raise
        out.accepted.append(item.key)
    _touch(worker, now)
    return VideoEventBatchResult.model_validate(
        {"accepted": out.accepted, "rejected": out.rejected}
    )


def _record(
    actor: Actor, worker: VisionWorker, camera: Camera, item: VideoEventIn, now: datetime
) -> VideoEvent:
    door = None
    if item.type in ("line_crossing", "tailgating"):
        line = (
            Region.objects.select_related("door")
            .filter(camera=camera, kind=RegionKind.LINE, name=item.zone.strip())
            .first()
        )
        door = line.door if line is not None else None
    event = VideoEvent.objects.create(
        key=item.key,
        camera=camera,
        site=camera.site,
        worker=worker.name,
        type=item.type,
        zone=item.zone.strip(),
        door=door,
        occurred_at=item.occurred_at,
        received_at=now,
        frame=item.frame,
        track=item.track,
        bbox=list(item.bbox),
        frame_size=list(item.frame_size),
        detail=json.loads(json.dumps(item.detail, default=str)),
        snapshot=item.snapshot or "",
        clip=item.clip or "",
        clip_type=_clip_type(item.clip) if item.clip else "",
    )
    video_events.after_recorded(actor, event)
    return event


# ----------------------------------------------------------------------------- status


@dataclass(frozen=True)
class RejectedStatus:
    camera: str
    field: str
    reason: str


@dataclass
class StatusResult:
    updated: list[str] = field(default_factory=list)
    rejected: list[RejectedStatus] = field(default_factory=list)


def _check_status(worker: VisionWorker, item: CameraStatusIn) -> Camera:
    try:
        name = check_text(item.camera, "camera", max_length=100, required=True)
        check_text(item.reason, "reason", max_length=200)
    except ServiceError as exc:
        raise _Refused(exc.field or "camera", exc.message) from None
    camera = Camera.objects.select_for_update().select_related("site").filter(name=name).first()
    if camera is None:
        raise _Refused("camera", f"no camera named {name!r}")
    if camera.worker_id != worker.pk:
        raise _Refused("camera", f"camera {name!r} is not assigned to worker {worker.name!r}")
    _aware(item.last_frame_at, "last_frame_at")
    for which in ("frames", "corrupt_frames"):
        if getattr(item, which) > MAX_DB_BIGINT:
            raise _Refused(which, f"must be at most {MAX_DB_BIGINT}")
    if item.frame_size is not None:
        w, h = item.frame_size
        if not (0 < w <= MAX_FRAME_SIDE and 0 < h <= MAX_FRAME_SIDE):
            raise _Refused("frame_size", f"must be a width and height from 1 to {MAX_FRAME_SIDE}")
    if not _uploaded(item.snapshot):
        raise _Refused("snapshot", "upload the file first (PUT /api/surveillance/worker/media)")
    return camera


def report_status(actor: Actor, items: Sequence[CameraStatusIn]) -> StatusResult:
    """Take what the worker says about its cameras. A camera that goes offline (or whose file
    ended) raises ``CameraDisconnected``; one that comes back raises ``CameraReconnected``."""
    worker = reporting_worker(actor)
    now = clock.now()
    out = StatusResult()
    for item in items:
        with transaction.atomic():
            try:
                camera = _check_status(worker, item)
            except _Refused as exc:
                out.rejected.append(RejectedStatus(item.camera[:100], exc.field, exc.reason))
                continue
            _apply_status(actor, camera, item, now)
        out.updated.append(camera.name)
    _touch(worker, now)
    return out


def _apply_status(actor: Actor, camera: Camera, item: CameraStatusIn, now: datetime) -> None:
    before = camera.state
    reason = item.reason.strip()
    fields = ["state", "state_reason", "frames", "corrupt_frames"]
    if before != item.state or camera.state_reason != reason:
        camera.state_at = now
        fields.append("state_at")
    camera.state, camera.state_reason = item.state, reason
    camera.frames, camera.corrupt_frames = item.frames, item.corrupt_frames
    if item.last_frame_at is not None:
        camera.last_frame_at = item.last_frame_at
        fields.append("last_frame_at")
    if item.frame_size is not None:
        camera.width, camera.height = item.frame_size
        fields += ["width", "height"]
    if item.snapshot is not None:
        camera.snapshot, camera.snapshot_at = item.snapshot, now
        fields += ["snapshot", "snapshot_at"]
    camera.save(update_fields=fields)
    if item.state in DOWN and before not in DOWN:
        why = reason or ("the video ended" if item.state == "ended" else "offline")
        ledger.append(
            actor, "surveillance.camera.disconnected", "camera", camera.name, {"reason": why}
        )
        outbox.emit(
            catalogue.CameraDisconnected(
                camera=camera.name, site=camera.site.code, reason=why, occurred_at=now
            )
        )
    elif item.state == "online" and before in DOWN:
        ledger.append(actor, "surveillance.camera.reconnected", "camera", camera.name, {})
        outbox.emit(
            catalogue.CameraReconnected(camera=camera.name, site=camera.site.code, occurred_at=now)
        )
