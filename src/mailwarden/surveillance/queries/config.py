"""What a vision worker is told to run: its cameras with their zones, lines, masks and rules
(contracts.vision.WorkerConfig), and the version that changes whenever any of it does."""

from __future__ import annotations

import hashlib
import json

from mailwarden.config import get_settings
from mailwarden.contracts.vision import (
    MqttSettings,
    WorkerCamera,
    WorkerConfig,
    WorkerLine,
    WorkerZone,
)
from mailwarden.surveillance import secrets
from mailwarden.surveillance.models import Camera, RegionKind, VisionWorker


def _camera(camera: Camera) -> WorkerCamera:
    zones: list[WorkerZone] = []
    lines: list[WorkerLine] = []
    masks: list[list[tuple[float, float]]] = []
    for region in camera.regions.all():
        points = [(float(x), float(y)) for x, y in region.points]
        if region.kind == RegionKind.ZONE:
            zones.append(WorkerZone(name=region.name, area=points or None, rules=region.rules))
        elif region.kind == RegionKind.LINE:
            lines.append(
                WorkerLine(
                    name=region.name,
                    points=(points[0], points[1]),
                    inside="right" if region.inside == "right" else "left",
                    door=region.door.code if region.door else None,
                    rules=region.rules,
                )
            )
        else:
            masks.append(points)
    # A password that no longer decrypts (the secret key changed) is sent empty: the camera
    # then reports a wrong password, which tells the manager to enter it again.
    password = secrets.decrypt(camera.password_secret) or ""
    return WorkerCamera(
        name=camera.name,
        site=camera.site.code,
        url=camera.url,
        username=camera.username,
        password=password,
        analysis_fps=camera.analysis_fps,
        motion_gating=camera.motion_gating,
        pre_roll_s=camera.pre_roll_s,
        post_roll_s=camera.post_roll_s,
        time_zone=camera.site.timezone,
        zones=zones,
        lines=lines,
        masks=masks,
    )


def worker_config(worker: VisionWorker) -> WorkerConfig:
    cameras = (
        Camera.objects.filter(worker=worker, enabled=True)
        .select_related("site")
        .prefetch_related("regions__door")
        .order_by("name")
    )
    settings = get_settings().surveillance
    mqtt = (
        MqttSettings(
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            topic_prefix=settings.mqtt_topic_prefix,
        )
        if settings.mqtt_host
        else None
    )
    body = {
        "cameras": [_camera(c).model_dump(mode="json") for c in cameras],
        "poll_s": settings.worker_poll_s,
        "mqtt": mqtt.model_dump(mode="json") if mqtt else None,
    }
    version = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32]
    return WorkerConfig.model_validate({"worker": worker.name, "version": version, **body})
