"""Shared set-up for the worker tests: a site with an enrolled vision worker and its camera, a
second worker with a camera of its own, and a JPEG to upload."""

from __future__ import annotations

import hashlib
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from mailwarden.surveillance.services.cameras import (
    CameraSpec,
    RegionSpec,
    create_camera,
    enrol_worker,
    set_regions,
)
from tests.factories import ADMIN, MANAGER, make_site


@dataclass
class Enrolled:
    token: str
    other_token: str


def enrol(
    url: str = "rtsp://10.0.0.5:554/stream1", regions: list[RegionSpec] | None = None
) -> Enrolled:
    """Worker ``vision-1`` runs ``dock-cam``; worker ``vision-2`` runs ``yard-cam``."""
    make_site()
    one = enrol_worker(ADMIN, name="vision-1", site="hq")
    two = enrol_worker(ADMIN, name="vision-2", site="hq")
    create_camera(MANAGER, CameraSpec(site="hq", name="dock-cam", url=url, worker="vision-1"))
    create_camera(
        MANAGER,
        CameraSpec(site="hq", name="yard-cam", url="rtsp://10.0.0.6/s", worker="vision-2"),
    )
    if regions is None:
        regions = [RegionSpec(kind="zone", name="dock", rules=[{"type": "presence"}])]
    set_regions(MANAGER, "dock-cam", regions)
    return Enrolled(one.token, two.token)


def jpeg(size: tuple[int, int] = (64, 48), colour: tuple[int, int, int] = (10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG")
    return out.getvalue()


def mp4_stub() -> bytes:
    # Enough of an MP4 for the server's check of its type: a file-type box.
    return b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def event(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": str(uuid.uuid4()),
        "camera": "dock-cam",
        "type": "loitering",
        "zone": "dock",
        "occurred_at": datetime(2026, 3, 2, 9, 0, tzinfo=UTC).isoformat(),
        "frame": 120,
        "track": 3,
        "bbox": [10, 20, 50, 90],
        "frame_size": [640, 360],
        "detail": {"seconds": 15},
    }
    body.update(overrides)
    return body
