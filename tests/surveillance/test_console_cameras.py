"""The camera pages: the grid, a camera's page, adding and changing a camera, and the zone
editor's save, for each role."""

from __future__ import annotations

import json

import pytest

from mailwarden.core.roles import Role
from mailwarden.surveillance import secrets
from mailwarden.surveillance.models import Camera, Region
from mailwarden.surveillance.services import cameras
from tests.factories import ADMIN, make_site
from tests.surveillance import console_fixtures
from tests.surveillance.console_fixtures import Room, make_event

pytestmark = pytest.mark.django_db

# The shared fixtures, bound here so pytest finds them in this module.
room = console_fixtures.room
person = console_fixtures.person
as_role = console_fixtures.as_role

READERS = [Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR]


@pytest.mark.parametrize("role", READERS)
def test_the_grid_shows_each_camera_with_its_state_and_snapshot(as_role, room: Room, role):
    make_event(room)
    page = as_role(role).get("/surveillance/cameras/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Dock camera" in html
    assert f"/surveillance/cameras/{room.camera.name}/snapshot.jpg?v={room.snapshot[:16]}" in html
    assert "Online" in html
    assert "1 new event" in html
    # Only a manager is offered to add a camera.
    assert ("Add a camera" in html) == (role == Role.SECURITY_MANAGER)
    # The password is held encrypted and never shown.
    assert "s3cret-camera" not in html


def test_the_grid_says_why_a_camera_is_offline_or_not_reported(as_role, room: Room):
    Camera.objects.filter(pk=room.camera.pk).update(
        state="offline", state_reason="wrong password (401 from the camera)"
    )
    cameras.create_camera(
        ADMIN, cameras.CameraSpec(site="hq", name="hall", url="rtsp://192.0.2.11/s")
    )
    html = as_role(Role.SECURITY_OPERATOR).get("/surveillance/cameras/").content.decode()
    assert "Offline: wrong password (401 from the camera)" in html
    assert "Not reported yet" in html
    assert "No picture yet" in html


def test_the_grid_refreshes_as_a_fragment_and_filters_by_site(as_role, room: Room):
    make_site("annex")
    cameras.create_camera(
        ADMIN, cameras.CameraSpec(site="annex", name="annex-door", url="rtsp://192.0.2.12/s")
    )
    client = as_role(Role.SECURITY_OPERATOR)
    everything = client.get("/surveillance/cameras/").content.decode()
    assert "annex-door" in everything and "hq-dock" in everything
    assert 'hx-trigger="every 5s"' in everything
    fragment = client.get("/surveillance/cameras/?site=annex", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="camera-grid"')
    assert "annex-door" in html and "hq-dock" not in html


@pytest.mark.parametrize("role", READERS)
def test_the_snapshot_is_served_to_readers(as_role, room: Room, role):
    answer = as_role(role).get(f"/surveillance/cameras/{room.camera.name}/snapshot.jpg")
    assert answer.status_code == 200
    assert answer["Content-Type"] == "image/jpeg"
    assert answer.content[:2] == b"\xff\xd8"


def test_a_clerk_sees_no_camera_page(as_role, room: Room):
    clerk = as_role(Role.CLERK)
    for url in (
        "/surveillance/cameras/",
        f"/surveillance/cameras/{room.camera.name}/",
        f"/surveillance/cameras/{room.camera.name}/snapshot.jpg",
        f"/surveillance/cameras/{room.camera.name}/regions/",
        "/surveillance/cameras/new/",
    ):
        assert clerk.get(url).status_code == 403, url


def test_no_snapshot_yet_is_a_404(as_role, room: Room):
    cameras.create_camera(ADMIN, cameras.CameraSpec(site="hq", name="new-cam", url="/v/a.mp4"))
    answer = as_role(Role.AUDITOR).get("/surveillance/cameras/new-cam/snapshot.jpg")
    assert answer.status_code == 404


def test_a_camera_page_shows_status_settings_and_recent_events(as_role, room: Room):
    event = make_event(room, type="after_hours", zone="Dock")
    html = as_role(Role.AUDITOR).get(f"/surveillance/cameras/{room.camera.name}/").content.decode()
    assert "rtsp://192.0.2.10:554/stream1" in html
    assert "stored, encrypted" in html
    assert "s3cret-camera" not in html
    assert room.worker.name in html
    assert f"/surveillance/events/{event.pk}/" in html
    assert "After hours" in html
    # An auditor reads; the edit link is a manager's.
    assert "Edit settings" not in html


def _form(**over: str) -> dict[str, str]:
    data = {
        "site": "hq",
        "name": "loading-bay",
        "label": "Loading bay",
        "url": "rtsp://192.0.2.20:554/live",
        "username": "",
        "password": "",
        "worker": "",
        "enabled": "on",
        "analysis_fps": "5",
        "motion_gating": "on",
        "pre_roll_s": "3",
        "post_roll_s": "3",
    }
    data.update(over)
    return data


def test_a_manager_adds_a_camera(as_role, room: Room):
    client = as_role(Role.SECURITY_MANAGER)
    assert client.get("/surveillance/cameras/new/").status_code == 200
    answer = client.post(
        "/surveillance/cameras/new/", _form(worker=room.worker.name, password="pw-1")
    )
    assert answer.status_code == 302
    assert answer["Location"] == "/surveillance/cameras/loading-bay/"
    camera = Camera.objects.get(name="loading-bay")
    assert camera.worker == room.worker
    assert secrets.decrypt(camera.password_secret) == "pw-1"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"url": "ftp://192.0.2.20/live"}, "url"),
        ({"url": "rtsp://admin:pw@192.0.2.20/live"}, "url"),
        ({"name": "hq-dock"}, "name"),
        ({"name": "two words"}, "name"),
        ({"analysis_fps": "90"}, "analysis_fps"),
    ],
)
def test_a_refused_camera_names_its_field(as_role, room: Room, over, field):
    answer = as_role(Role.SECURITY_MANAGER).post("/surveillance/cameras/new/", _form(**over))
    assert answer.status_code == 400
    assert f'data-field-error="{field}"' in answer.content.decode()
    assert not Camera.objects.filter(name=over.get("name", "loading-bay"), label="Loading bay")


def test_a_worker_of_another_site_is_refused_next_to_the_worker(as_role, room: Room):
    make_site("annex")
    cameras.enrol_worker(ADMIN, name="annex-worker", site="annex")
    answer = as_role(Role.SECURITY_MANAGER).post(
        "/surveillance/cameras/new/", _form(worker="annex-worker")
    )
    assert answer.status_code == 400
    assert 'data-field-error="worker"' in answer.content.decode()


@pytest.mark.parametrize("role", [Role.SECURITY_OPERATOR, Role.AUDITOR, Role.CLERK])
def test_only_a_manager_adds_or_changes_a_camera(as_role, room: Room, role):
    client = as_role(role)
    assert client.post("/surveillance/cameras/new/", _form()).status_code == 403
    edit = f"/surveillance/cameras/{room.camera.name}/edit/"
    assert client.post(edit, _form(label="Changed")).status_code == 403
    assert not Camera.objects.filter(name="loading-bay").exists()
    assert Camera.objects.get(pk=room.camera.pk).label == "Dock camera"


def test_editing_keeps_the_password_when_left_blank(as_role, room: Room):
    client = as_role(Role.SECURITY_MANAGER)
    edit = f"/surveillance/cameras/{room.camera.name}/edit/"
    page = client.get(edit).content.decode()
    assert "s3cret-camera" not in page
    assert "leave this empty to keep it" in page
    before = Camera.objects.get(pk=room.camera.pk).password_secret
    answer = client.post(edit, _form(label="Dock, north", analysis_fps="2.5"))
    assert answer.status_code == 302
    camera = Camera.objects.get(pk=room.camera.pk)
    assert camera.label == "Dock, north" and camera.analysis_fps == 2.5
    assert camera.password_secret == before
    client.post(edit, _form(password="new-pass"))
    assert secrets.decrypt(Camera.objects.get(pk=room.camera.pk).password_secret) == "new-pass"
    client.post(edit, _form(clear_password="on"))
    assert Camera.objects.get(pk=room.camera.pk).password_secret == ""


# ----------------------------------------------------------------------------- the editor


def _drawing(door: str | None = "dock") -> dict:
    return {
        "regions": [
            {
                "kind": "zone",
                "name": "Counter",
                "points": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6]],
                "rules": [
                    {"type": "loitering", "seconds": 20},
                    {
                        "type": "after_hours",
                        "schedule": [{"days": ["mon", "tue"], "start": "08:00", "end": "18:00"}],
                    },
                ],
            },
            {
                "kind": "line",
                "name": "Dock threshold",
                "points": [[0.2, 0.8], [0.8, 0.8]],
                "inside": "right",
                "door": door,
                "rules": [{"type": "line_crossing"}, {"type": "tailgating", "window": 8}],
            },
            {"kind": "mask", "name": "mask", "points": [[0.9, 0], [1, 0], [1, 0.2]]},
        ]
    }


def _save(client, room: Room, body: object):
    return client.post(
        f"/surveillance/cameras/{room.camera.name}/regions/save/",
        json.dumps(body),
        content_type="application/json",
    )


def test_the_editor_saves_the_whole_drawing(as_role, room: Room):
    client = as_role(Role.SECURITY_MANAGER)
    page = client.get(f"/surveillance/cameras/{room.camera.name}/regions/").content.decode()
    assert 'data-can-edit="1"' in page and "Draw a zone" in page
    assert '"code": "dock"' in page  # the site's doors, for the line's door list
    answer = _save(client, room, _drawing())
    assert answer.status_code == 200, answer.content
    saved = answer.json()["regions"]
    assert [r["name"] for r in saved] == ["Counter", "Dock threshold", "mask 1"]
    line = Region.objects.get(camera=room.camera, kind="line")
    assert line.door == room.door and line.inside == "right"
    assert line.rules == [{"type": "line_crossing"}, {"type": "tailgating", "window": 8.0}]
    zone = Region.objects.get(camera=room.camera, kind="zone")
    assert zone.points == [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6]]
    # Saving again replaces, never adds.
    assert _save(client, room, {"regions": []}).status_code == 200
    assert not Region.objects.filter(camera=room.camera).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["regions"][0]["rules"][0].update(seconds=-1), "regions.0.rules.0.seconds"),
        (lambda d: d["regions"][1].update(door=None), "regions.1.door"),
        (lambda d: d["regions"][1].update(door="no-such-door"), "regions.1.door"),
        (lambda d: d["regions"][2]["points"].pop(), "regions.2.points"),
        (lambda d: d["regions"][1].update(name="Counter"), "regions.1.name"),
        (lambda d: d["regions"][0].update(points="nope"), "regions.0.points"),
    ],
)
def test_a_refused_drawing_names_the_region_and_field(as_role, room: Room, change, field):
    body = _drawing()
    change(body)
    answer = _save(as_role(Role.SECURITY_MANAGER), room, body)
    assert answer.status_code in (400, 404)
    assert answer.json()["field"] == field
    assert not Region.objects.filter(camera=room.camera).exists()


def test_a_drawing_that_is_not_json_is_refused(as_role, room: Room):
    client = as_role(Role.SECURITY_MANAGER)
    answer = client.post(
        f"/surveillance/cameras/{room.camera.name}/regions/save/",
        b"{nope",
        content_type="application/json",
    )
    assert answer.status_code == 400 and answer.json()["field"] == "regions"


@pytest.mark.parametrize("role", [Role.SECURITY_OPERATOR, Role.AUDITOR])
def test_readers_see_the_drawing_but_cannot_save_it(as_role, room: Room, role):
    cameras.set_regions(
        ADMIN, room.camera.name, [cameras.RegionSpec("zone", "Counter", [(0, 0), (1, 0), (1, 1)])]
    )
    client = as_role(role)
    page = client.get(f"/surveillance/cameras/{room.camera.name}/regions/").content.decode()
    assert 'data-can-edit="0"' in page and "Draw a zone" not in page
    assert '"name": "Counter"' in page
    assert _save(client, room, _drawing()).status_code == 403
    assert Region.objects.filter(camera=room.camera).count() == 1


def test_the_editor_says_when_there_is_no_snapshot_yet(as_role, room: Room):
    cameras.create_camera(ADMIN, cameras.CameraSpec(site="hq", name="blank", url="/v/a.mp4"))
    page = as_role(Role.SECURITY_MANAGER).get("/surveillance/cameras/blank/regions/")
    html = page.content.decode()
    assert "No picture from this camera yet" in html
    assert '"aspect": [16, 9]' in html
