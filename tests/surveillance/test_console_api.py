"""The cameras API: list, add, change, regions and the snapshot, for each role and for device
tokens; the password goes in and never comes back."""

from __future__ import annotations

import pytest

from mailwarden.core.roles import Role
from mailwarden.core.services import issue_token
from mailwarden.surveillance import secrets
from mailwarden.surveillance.models import Camera, Region
from mailwarden.surveillance.services import cameras
from tests.api.conftest import Api, token_for
from tests.factories import ADMIN
from tests.surveillance import console_fixtures
from tests.surveillance.console_fixtures import Room

pytestmark = pytest.mark.django_db

room = console_fixtures.room

BASE = "/api/surveillance/cameras"
READERS = [Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR]


def api(role: Role) -> Api:
    return Api(token_for(role))


NEW = {
    "site": "hq",
    "name": "hall",
    "label": "Hall",
    "url": "rtsp://192.0.2.30:554/main",
    "username": "viewer",
    "password": "hall-secret",
}

DRAWING = {
    "regions": [
        {
            "kind": "zone",
            "name": "Counter",
            "points": [[0.1, 0.1], [0.6, 0.1], [0.6, 0.7]],
            "rules": [{"type": "crowding", "max_people": 3}],
        },
        {
            "kind": "line",
            "name": "Threshold",
            "points": [[0.1, 0.9], [0.9, 0.9]],
            "door": "dock",
            "rules": [{"type": "tailgating", "window": 12}],
        },
    ]
}


@pytest.mark.parametrize("role", READERS)
def test_readers_list_cameras_without_passwords(room: Room, role):
    answer = api(role).get(BASE)
    assert answer.status_code == 200, answer.content
    [camera] = answer.json()
    assert camera["name"] == "hq-dock" and camera["site"] == "hq"
    assert camera["state"] == "online" and camera["has_snapshot"] is True
    assert camera["has_password"] is True and "password" not in camera
    assert "s3cret-camera" not in answer.content.decode()
    assert camera["worker"] == room.worker.name


def test_the_list_filters_by_site(room: Room):
    assert api(Role.AUDITOR).get(BASE, site="hq").json()[0]["name"] == "hq-dock"
    answer = api(Role.AUDITOR).get(BASE, site="nowhere")
    assert answer.status_code == 404 and answer.json()["field"] == "site"


def test_a_manager_adds_and_changes_a_camera(room: Room):
    manager = api(Role.SECURITY_MANAGER)
    answer = manager.post(BASE, NEW)
    assert answer.status_code == 201, answer.content
    assert answer.json()["has_password"] is True
    assert "hall-secret" not in answer.content.decode()
    assert secrets.decrypt(Camera.objects.get(name="hall").password_secret) == "hall-secret"
    changed = manager.patch(f"{BASE}/hall", {"analysis_fps": 2.0, "worker": room.worker.name})
    assert changed.status_code == 200, changed.content
    assert changed.json()["analysis_fps"] == 2.0 and changed.json()["worker"] == room.worker.name
    # Fields not sent stay as they were; the password stays until it is sent.
    camera = Camera.objects.get(name="hall")
    assert camera.label == "Hall" and secrets.decrypt(camera.password_secret) == "hall-secret"
    cleared = manager.patch(f"{BASE}/hall", {"password": "", "worker": ""})
    assert cleared.json()["has_password"] is False and cleared.json()["worker"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW, "url": "ftp://192.0.2.30/x"}, "url"),
        ({**NEW, "name": "hq-dock"}, "name"),
        ({**NEW, "site": "nowhere"}, "site"),
        ({**NEW, "worker": "nobody"}, "worker"),
        ({**NEW, "analysis_fps": 0}, "analysis_fps"),
    ],
)
def test_a_refused_camera_names_its_field(room: Room, body, field):
    answer = api(Role.SECURITY_MANAGER).post(BASE, body)
    assert answer.status_code in (400, 404, 409, 422), answer.content
    assert field in str(answer.json())
    assert not Camera.objects.filter(label="Hall").exists()


@pytest.mark.parametrize("role", [Role.SECURITY_OPERATOR, Role.AUDITOR, Role.CLERK])
def test_only_a_manager_changes_cameras(room: Room, role):
    client = api(role)
    assert client.post(BASE, NEW).status_code == 403
    assert client.patch(f"{BASE}/hq-dock", {"label": "x"}).status_code == 403
    assert client.put(f"{BASE}/hq-dock/regions", DRAWING).status_code == 403
    assert not Camera.objects.filter(name="hall").exists()
    assert Camera.objects.get(name="hq-dock").label == "Dock camera"
    assert not Region.objects.exists()


def test_a_clerk_reads_nothing(room: Room):
    clerk = api(Role.CLERK)
    for path in (BASE, f"{BASE}/hq-dock/regions", f"{BASE}/hq-dock/snapshot"):
        assert clerk.get(path).status_code == 403, path


def test_device_tokens_are_refused(room: Room):
    # A vision worker's token carries an operator's role, and still reaches none of this.
    worker = Api(cameras.enrol_worker(ADMIN, name="w2", site="hq").token)
    other = Api(
        issue_token(ADMIN, name="gadget", role=Role.SECURITY_MANAGER.value, device="gadget").secret
    )
    for device in (worker, other):
        assert device.get(BASE).status_code == 403
        assert device.get(f"{BASE}/hq-dock/snapshot").status_code == 403
        assert device.post(BASE, NEW).status_code == 403
        assert device.put(f"{BASE}/hq-dock/regions", DRAWING).status_code == 403
    assert not Camera.objects.filter(name="hall").exists()


def test_regions_round_trip(room: Room):
    manager = api(Role.SECURITY_MANAGER)
    put = manager.put(f"{BASE}/hq-dock/regions", DRAWING)
    assert put.status_code == 200, put.content
    got = api(Role.AUDITOR).get(f"{BASE}/hq-dock/regions").json()
    assert got == put.json()
    assert got[1] == {
        "kind": "line",
        "name": "Threshold",
        "points": [[0.1, 0.9], [0.9, 0.9]],
        "inside": "left",
        "door": "dock",
        "rules": [{"type": "tailgating", "window": 12.0}],
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["regions"][0]["rules"][0].update(max_people=-1), "regions.0.rules.0"),
        (lambda d: d["regions"][1].update(door="back"), "regions.1.door"),
        (lambda d: d["regions"][1]["points"].append([0.5, 0.5]), "regions.1.points"),
        (lambda d: d["regions"][0]["points"][0].__setitem__(0, 1.5), "regions.0.points"),
    ],
)
def test_a_refused_drawing_names_its_place(room: Room, change, field):
    import copy

    body = copy.deepcopy(DRAWING)
    change(body)
    answer = api(Role.SECURITY_MANAGER).put(f"{BASE}/hq-dock/regions", body)
    assert answer.status_code in (400, 404, 422), answer.content
    assert field in str(answer.json()), answer.json()
    assert not Region.objects.exists()


def test_the_snapshot_is_a_jpeg(room: Room):
    answer = api(Role.SECURITY_OPERATOR).get(f"{BASE}/hq-dock/snapshot")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/jpeg"
    assert answer.content[:2] == b"\xff\xd8"
    cameras.create_camera(ADMIN, cameras.CameraSpec(site="hq", name="dark", url="/v/a.mp4"))
    missing = api(Role.SECURITY_OPERATOR).get(f"{BASE}/dark/snapshot")
    assert missing.status_code == 404 and missing.json()["field"] == "camera"
    assert api(Role.SECURITY_OPERATOR).get(f"{BASE}/nope/snapshot").status_code == 404
