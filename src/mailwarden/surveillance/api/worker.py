"""What a ``mailwarden vision`` worker calls, with its device token (contracts.vision): its
configuration, evidence uploads, events and camera status. Nothing else accepts a worker."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from mailwarden.core.actor import Actor
from mailwarden.core.api import ERRORS, actor_of, devices_only
from mailwarden.core.errors import Forbidden
from mailwarden.surveillance.models import VisionWorker
from mailwarden.surveillance.queries.config import worker_config

router = Router()

CONFIG = "vision_config"
DEVICE_OPERATIONS = frozenset({CONFIG})


def worker_scope(device: str) -> frozenset[str] | None:
    """The operations a vision worker's token may call; None for a device that is no worker."""
    return DEVICE_OPERATIONS if VisionWorker.objects.filter(name=device).exists() else None


def device_worker(request: HttpRequest) -> tuple[Actor, VisionWorker]:
    actor = actor_of(request)
    if actor.kind != "device":
        raise Forbidden("only a vision worker's device token may call this", "Authorization")
    worker = VisionWorker.objects.select_related("site").filter(name=actor.name).first()
    if worker is None:
        raise Forbidden(f"device {actor.name!r} is not an enrolled vision worker", "Authorization")
    return actor, worker


@router.get(
    "/surveillance/worker/config",
    response={200: dict[str, object], 304: None, **ERRORS},
    url_name=CONFIG,
    summary="Vision worker: its cameras, zones and rules (304 while its ETag still holds)",
)
@devices_only("fetching a vision worker's configuration")
def get_config(request: HttpRequest) -> HttpResponse:
    _, worker = device_worker(request)
    config = worker_config(worker)
    etag = f'"{config.version}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponse(status=304, headers={"ETag": etag})
    return HttpResponse(
        config.model_dump_json(), content_type="application/json", headers={"ETag": etag}
    )
