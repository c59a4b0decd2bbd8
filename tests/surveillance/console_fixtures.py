"""Fixtures of the surveillance console's tests: a site with a door, a vision worker, a camera
with a snapshot, video events with evidence in the media store, and people by role.

Import them with ``from tests.surveillance.console_fixtures import *`` (noqa) in a test module.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.test import Client
from PIL import Image

from mailwarden.access import services as access
from mailwarden.access.models import Door
from mailwarden.core import clock, media
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.directory.models import Site
from mailwarden.surveillance.models import Camera, VideoEvent, VisionWorker
from mailwarden.surveillance.services import cameras
from tests.factories import ADMIN, make_site

PASSWORD = "Correct-Horse-9-Battery"
ROLES = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR, Role.CLERK)


def jpeg(
    width: int = 320, height: int = 180, colour: tuple[int, int, int] = (40, 90, 160)
) -> bytes:
    picture = Image.new("RGB", (width, height), colour)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=80)
    return out.getvalue()


def webm_clip(path: Path, frames: int = 24, size: tuple[int, int] = (160, 90)) -> bytes:
    """A small real VP8 WebM clip, written by OpenCV: a square moving across a grey frame."""
    import cv2

    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"VP80"), 12.0, (width, height))
    assert writer.isOpened(), "OpenCV cannot write VP8 WebM here"
    for n in range(frames):
        frame = np.full((height, width, 3), 110, np.uint8)
        x = 4 + n * 5
        frame[30:60, x : x + 24] = (30, 60, 220)
        writer.write(frame)
    writer.release()
    return path.read_bytes()


@dataclass
class Room:
    site: Site
    door: Door
    worker: VisionWorker
    camera: Camera
    snapshot: str


def make_room(site_code: str = "hq") -> Room:
    site = make_site(site_code)
    door = access.doors.create_door(
        ADMIN, access.doors.DoorData(site=site.code, code="dock", name="Dock door")
    )
    worker = cameras.enrol_worker(ADMIN, name=f"{site_code}-worker", site=site.code).worker
    camera = cameras.create_camera(
        ADMIN,
        cameras.CameraSpec(
            site=site.code,
            name=f"{site_code}-dock",
            label="Dock camera",
            url="rtsp://192.0.2.10:554/stream1",
            username="viewer",
            password="s3cret-camera",
            worker=worker.name,
        ),
    )
    digest = media.put(jpeg())
    # What the worker's status report writes (services.ingest, the worker helper's part).
    Camera.objects.filter(pk=camera.pk).update(
        state="online",
        state_at=clock.now(),
        last_frame_at=clock.now(),
        frames=1200,
        width=320,
        height=180,
        snapshot=digest,
        snapshot_at=clock.now(),
    )
    camera.refresh_from_db()
    return Room(site, door, worker, camera, digest)


def make_event(room: Room, **kw: Any) -> VideoEvent:
    """A video event as the ingest service records it (the worker helper's part)."""
    now = clock.now()
    values: dict[str, Any] = {
        "key": uuid.uuid4(),
        "camera": room.camera,
        "site": room.site,
        "worker": room.worker.name,
        "type": "loitering",
        "zone": "Dock",
        "occurred_at": now - timedelta(minutes=1),
        "received_at": now,
        "frame": 120,
        "track": 3,
        "bbox": [80, 40, 160, 170],
        "frame_size": [320, 180],
        "detail": {"seconds": 31.5},
        "snapshot": media.put(jpeg(colour=(160, 90, 40))),
    }
    values.update(kw)
    return VideoEvent.objects.create(**values)


@pytest.fixture
def room(db) -> Room:
    return make_room()


@pytest.fixture
def person(db) -> Callable[[Role], User]:
    def make(role: Role) -> User:
        existing = User.objects.filter(username=role.value).first()
        if existing is not None:
            return existing
        return create_user(
            ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False
        )

    return make


@pytest.fixture
def as_role(person) -> Callable[[Role], Client]:
    def client_for(role: Role) -> Client:
        client = Client()
        client.force_login(person(role))
        return client

    return client_for
