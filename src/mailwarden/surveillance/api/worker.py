"""What a ``mailwarden vision`` worker calls, with its device token (contracts.vision): its
configuration, evidence uploads, events and camera status. Nothing else accepts a worker.

Enrolling a worker (``POST /api/surveillance/workers``) is for an administrator: it answers the
worker's device token once."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Router
from ninja.responses import Status

from mailwarden.contracts.vision import (
    CameraStatusBatch,
    VideoEventBatch,
    VideoEventBatchResult,
)
from mailwarden.core.api import ERRORS, actor_of, allow, devices_only
from mailwarden.core.errors import ServiceError
from mailwarden.surveillance.models import VisionWorker
from mailwarden.surveillance.queries.config import worker_config
from mailwarden.surveillance.schemas import (
    CameraStatusResultOut,
    Digest,
    RejectedStatusOut,
    VisionWorkerOut,
    WorkerEnrolIn,
    WorkerEnrolmentOut,
    WorkerMediaOut,
    worker_out,
)
from mailwarden.surveillance.services import cameras as camera_services
from mailwarden.surveillance.services import ingest

router = Router()

CONFIG = "vision_config"
MEDIA = "vision_media"
EVENTS = "vision_events"
STATUS = "vision_status"
DEVICE_OPERATIONS = frozenset({CONFIG, MEDIA, EVENTS, STATUS})


def worker_scope(device: str) -> frozenset[str] | None:
    """The operations a vision worker's token may call; None for a device that is no worker."""
    return DEVICE_OPERATIONS if VisionWorker.objects.filter(name=device).exists() else None


@router.get(
    "/surveillance/worker/config",
    response={200: dict[str, object], 304: None, **ERRORS},
    url_name=CONFIG,
    summary="Vision worker: its cameras, zones and rules (304 while its ETag still holds)",
)
@devices_only("fetching a vision worker's configuration")
def get_config(request: HttpRequest) -> HttpResponse:
    worker = ingest.reporting_worker(actor_of(request))
    config = worker_config(worker)
    etag = f'"{config.version}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers={"ETag": etag})
    return HttpResponse(
        config.model_dump_json(), content_type="application/json", headers={"ETag": etag}
    )


_MEDIA_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            kind: {"schema": {"type": "string", "format": "binary"}}
            for kind in ("image/jpeg", "video/mp4", "video/webm")
        },
    }
}
CHUNK = 1024 * 1024


def _body(request: HttpRequest, limit: int) -> bytes:
    """The request's body, read from its stream: a clip may pass the general upload limit that
    ``request.body`` holds every request to, but never its own."""
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise ServiceError(f"the file is {declared} bytes; the limit is {limit}", "body")
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = request.read(min(CHUNK, limit + 1 - size))
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    if size > limit:
        raise ServiceError(f"the file is over the limit of {limit} bytes", "body")
    return b"".join(parts)


@router.put(
    "/surveillance/worker/media/{sha256}",
    response={201: WorkerMediaOut, **ERRORS},
    url_name=MEDIA,
    summary="Vision worker: upload a snapshot (image/jpeg) or clip (video/mp4, video/webm) "
    "under its SHA-256",
    openapi_extra=_MEDIA_BODY,
)
@devices_only("uploading a vision worker's evidence")
def put_media(request: HttpRequest, sha256: Path[Digest]) -> Status[WorkerMediaOut]:
    actor = actor_of(request)
    kind = ingest.check_media_type(request.content_type or "")
    data = _body(request, ingest.media_limit(kind))
    digest = ingest.store_media(actor, sha256, kind, data)
    return Status(201, WorkerMediaOut(sha256=digest, bytes=len(data)))


@router.post(
    "/surveillance/worker/events",
    response={200: VideoEventBatchResult, **ERRORS},
    url_name=EVENTS,
    summary="Vision worker: deliver video events; each is recorded once, by its key",
)
@devices_only("delivering video events")
def post_events(request: HttpRequest, payload: VideoEventBatch) -> VideoEventBatchResult:
    actor = actor_of(request)
    return ingest.record_events(actor, payload.events)


@router.post(
    "/surveillance/worker/status",
    response={200: CameraStatusResultOut, **ERRORS},
    url_name=STATUS,
    summary="Vision worker: report its cameras' state, last frame, counts and snapshot",
)
@devices_only("reporting camera status")
def post_status(request: HttpRequest, payload: CameraStatusBatch) -> CameraStatusResultOut:
    actor = actor_of(request)
    result = ingest.report_status(actor, payload.cameras)
    return CameraStatusResultOut(
        updated=result.updated,
        rejected=[
            RejectedStatusOut(camera=r.camera, field=r.field, reason=r.reason)
            for r in result.rejected
        ],
    )


# ----------------------------------------------------------------------------- enrolment


@router.get(
    "/surveillance/workers",
    response={200: list[VisionWorkerOut], **ERRORS},
    summary="List vision workers",
)
@allow(camera_services.VIEW_CAMERAS, "listing vision workers")
def list_workers(request: HttpRequest) -> list[VisionWorkerOut]:
    camera_services.authorise(
        actor_of(request), "listing vision workers", camera_services.VIEW_CAMERAS
    )
    workers = VisionWorker.objects.select_related("site").order_by("name")
    return [worker_out(w) for w in workers]


@router.post(
    "/surveillance/workers",
    response={201: WorkerEnrolmentOut, **ERRORS},
    summary="Enrol a vision worker (its device token is shown once)",
)
@allow(camera_services.ENROL_WORKERS, "enrolling a vision worker")
def enrol_worker(request: HttpRequest, payload: WorkerEnrolIn) -> Status[WorkerEnrolmentOut]:
    enrolment = camera_services.enrol_worker(
        actor_of(request), name=payload.name, site=payload.site
    )
    out = worker_out(enrolment.worker)
    return Status(201, WorkerEnrolmentOut(**out.model_dump(), token=enrolment.token))
