"""Cameras and what is drawn on them, through the services: who may change them, the checks
that name the field, the encrypted password, and the worker's configuration that follows."""

from __future__ import annotations

import pytest

from mailwarden.access.services.doors import DoorData, create_door
from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.surveillance import secrets
from mailwarden.surveillance.models import Camera, Region
from mailwarden.surveillance.queries.config import worker_config
from mailwarden.surveillance.services.cameras import (
    CameraSpec,
    RegionSpec,
    create_camera,
    enrol_worker,
    set_regions,
    update_camera,
)
from tests.factories import ADMIN, AUDITOR, MANAGER, make_site

pytestmark = pytest.mark.django_db
OPERATOR = Actor("user", "otto", frozenset({Role.SECURITY_OPERATOR}))


@pytest.fixture
def camera() -> Camera:
    make_site()
    enrol_worker(ADMIN, name="vision-1", site="hq")
    return create_camera(
        MANAGER,
        CameraSpec(
            site="hq",
            name="dock-cam",
            url="rtsp://10.0.0.5:554/stream1",
            username="viewer",
            password="s3cret-pass",
            worker="vision-1",
        ),
    )


def test_the_password_is_stored_encrypted_and_given_only_to_the_worker(camera: Camera) -> None:
    assert "s3cret-pass" not in camera.password_secret
    assert secrets.decrypt(camera.password_secret) == "s3cret-pass"
    config = worker_config(camera.worker)  # type: ignore[arg-type]
    assert [c.password for c in config.cameras] == ["s3cret-pass"]
    entries = LedgerEntry.objects.filter(subject_id="dock-cam")
    assert entries.exists()
    assert all("s3cret" not in str(ledger.entry_data(e)) for e in entries)


def test_a_blank_password_keeps_the_stored_one(camera: Camera) -> None:
    spec = CameraSpec(site="hq", name="dock-cam", url=camera.url, worker="vision-1")
    update_camera(MANAGER, "dock-cam", spec)
    camera.refresh_from_db()
    assert secrets.decrypt(camera.password_secret) == "s3cret-pass"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("rtsp://admin:pw@10.0.0.5/stream", "own fields"),
        ("ftp://10.0.0.5/x", "rtsp://"),
        ("", "must not be empty"),
    ],
)
def test_a_bad_address_is_refused_naming_the_url(camera: Camera, url: str, reason: str) -> None:
    with pytest.raises(ServiceError) as caught:
        update_camera(MANAGER, "dock-cam", CameraSpec(site="hq", name="dock-cam", url=url))
    assert caught.value.field == "url"
    assert reason in str(caught.value)
    camera.refresh_from_db()
    assert camera.url == "rtsp://10.0.0.5:554/stream1"


@pytest.mark.parametrize("actor", [AUDITOR, OPERATOR])
def test_only_a_manager_changes_cameras(camera: Camera, actor: Actor) -> None:
    with pytest.raises(Forbidden):
        set_regions(actor, "dock-cam", [RegionSpec(kind="zone", name="all")])


def test_regions_reach_the_worker_and_change_its_version(camera: Camera) -> None:
    door = create_door(MANAGER, DoorData(site="hq", code="dock-door"))
    before = worker_config(camera.worker).version  # type: ignore[arg-type]
    set_regions(
        MANAGER,
        "dock-cam",
        [
            RegionSpec(
                kind="zone",
                name="counter",
                points=[(0.1, 0.2), (0.6, 0.2), (0.6, 0.9)],
                rules=[{"type": "loitering", "seconds": 15}],
            ),
            RegionSpec(
                kind="line",
                name="door",
                points=[(0.3, 0.1), (0.5, 0.1)],
                inside="right",
                door=door.code,
                rules=[{"type": "tailgating", "window": 8}],
            ),
            RegionSpec(kind="mask", name="", points=[(0, 0), (0.2, 0), (0.2, 0.1)]),
        ],
    )
    config = worker_config(camera.worker)  # type: ignore[arg-type]
    assert config.version != before
    (cam,) = config.cameras
    assert cam.zones[0].area == [(0.1, 0.2), (0.6, 0.2), (0.6, 0.9)]
    assert cam.zones[0].rules == [{"type": "loitering", "seconds": 15.0}]
    assert cam.lines[0].door == "dock-door"
    assert cam.lines[0].inside == "right"
    assert cam.masks == [[(0.0, 0.0), (0.2, 0.0), (0.2, 0.1)]]
    assert worker_config(camera.worker).version == config.version  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("spec", "field", "reason"),
    [
        (
            RegionSpec(kind="zone", name="a", points=[(0.1, 0.1), (1.5, 0.2), (0.3, 0.3)]),
            "regions.0.points.1",
            "from 0 to 1",
        ),
        (RegionSpec(kind="line", name="a", points=[(0.1, 0.1)]), "regions.0.points", "two"),
        (
            RegionSpec(kind="zone", name="a", rules=[{"type": "loitering", "seconds": -1}]),
            "regions.0.rules.0.seconds",
            "greater than 0",
        ),
        (
            RegionSpec(kind="zone", name="a", rules=[{"type": "loiter"}]),
            "regions.0.rules.0",
            "loiter",
        ),
        (
            RegionSpec(
                kind="line", name="a", points=[(0, 0), (1, 1)], rules=[{"type": "tailgating"}]
            ),
            "regions.0.door",
            "choose the door",
        ),
        (
            RegionSpec(kind="line", name="a", points=[(0, 0), (1, 1)], door="nope"),
            "regions.0.door",
            "nope",
        ),
        (RegionSpec(kind="circle", name="a"), "regions.0.kind", "zone"),
    ],
)
def test_a_bad_drawing_names_the_region_and_changes_nothing(
    camera: Camera, spec: RegionSpec, field: str, reason: str
) -> None:
    set_regions(MANAGER, "dock-cam", [RegionSpec(kind="zone", name="kept")])
    with pytest.raises(ServiceError) as caught:
        set_regions(MANAGER, "dock-cam", [spec])
    assert caught.value.field == field, caught.value
    assert reason in str(caught.value)
    assert list(Region.objects.values_list("name", flat=True)) == ["kept"]


def test_a_camera_may_not_take_a_name_the_console_uses(camera: Camera) -> None:
    with pytest.raises(ServiceError) as caught:
        create_camera(MANAGER, CameraSpec(site="hq", name="new", url="rtsp://10.0.0.6/s"))
    assert caught.value.field == "name"


def test_two_zones_may_not_share_a_name(camera: Camera) -> None:
    with pytest.raises(ServiceError) as caught:
        set_regions(
            MANAGER,
            "dock-cam",
            [RegionSpec(kind="zone", name="a"), RegionSpec(kind="zone", name="a")],
        )
    assert caught.value.field == "regions.1.name"
