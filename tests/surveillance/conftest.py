"""Video events' tests: the access mailroom of tests/access (site ``hq`` with the dock, lobby
and quarantine doors), a camera over its doors, and helpers that record events as the worker
ingest does and badge grants as an edge controller sends them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest
from django.db import transaction

from mailwarden.access import services as access
from mailwarden.access import snapshots
from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.surveillance.models import Camera, VideoEvent
from mailwarden.surveillance.services import cameras, events
from tests.access.conftest import MANAGER, Mailroom, decision, device, mailroom  # noqa: F401

WORKER = Actor.device("worker-1", Role.SECURITY_OPERATOR)
DOCK_LINE = "dock door"
QUARANTINE_LINE = "quarantine door"
PLAIN_LINE = "lobby door"
WINDOW_S = 10


@pytest.fixture
def camera(mailroom: Mailroom) -> Camera:  # noqa: F811
    """A camera over the dock (tailgating, 10 s), the quarantine door (tailgating) and the
    lobby (crossings only), with a zone for the other rules."""
    cam = cameras.create_camera(
        MANAGER, cameras.CameraSpec(site="hq", name="dock-cam", url="rtsp://cam.local/dock")
    )
    cameras.set_regions(
        MANAGER,
        cam.name,
        [
            cameras.RegionSpec(
                kind="line",
                name=DOCK_LINE,
                points=[(0.1, 0.5), (0.9, 0.5)],
                door="dock",
                rules=[{"type": "tailgating", "window": WINDOW_S}],
            ),
            cameras.RegionSpec(
                kind="line",
                name=QUARANTINE_LINE,
                points=[(0.1, 0.2), (0.9, 0.2)],
                door="quarantine",
                rules=[{"type": "tailgating", "window": WINDOW_S}],
            ),
            cameras.RegionSpec(
                kind="line",
                name=PLAIN_LINE,
                points=[(0.1, 0.8), (0.9, 0.8)],
                door="lobby",
                rules=[{"type": "line_crossing"}],
            ),
            cameras.RegionSpec(
                kind="zone", name="floor", rules=[{"type": "loitering", "seconds": 15}]
            ),
        ],
    )
    return cam


def record(
    camera: Camera,
    type: str,
    at: datetime,
    *,
    zone: str = "floor",
    direction: str | None = None,
    snapshot: str = "",
    clip: str = "",
    **extra: Any,
) -> VideoEvent:
    """Record one event and run the hook in its transaction, as the worker ingest does."""
    with transaction.atomic():
        event = VideoEvent.objects.create(
            key=uuid.uuid4(),
            camera=camera,
            site=camera.site,
            worker="worker-1",
            type=type,
            zone=zone,
            occurred_at=at,
            received_at=clock.now(),
            frame=120,
            track=3,
            bbox=[10, 20, 60, 180],
            frame_size=[640, 360],
            detail={"direction": direction} if direction else {},
            snapshot=snapshot,
            clip=clip,
            clip_type="video/mp4" if clip else "",
            **extra,
        )
        events.after_recorded(WORKER, event)
    event.refresh_from_db()
    return event


def badge(
    room: Mailroom,
    at: datetime,
    *,
    reader: str = "dock-in",
    door: str = "dock",
    granted: bool = True,
    companion: bool = False,
) -> int:
    """A badge decision at ``reader`` as the edge sends it; the access event's ID."""
    item = decision(
        at,
        reader,
        granted=granted,
        reason="granted" if granted else "no_access",
        door=door,
        holder=snapshots.holder_id(room.alice.pk),
        credential=snapshots.credential_id(room.alice_card.pk),
        companion=snapshots.holder_id(room.bob.pk) if companion else None,
    )
    result = access.ingest.ingest_events(device(room.edge1), room.edge1.name, [item])
    assert result.applied == [item["key"]], result
    from mailwarden.access.models import AccessEvent

    return AccessEvent.objects.get(key=item["key"]).pk
