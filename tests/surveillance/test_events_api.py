"""The video events API: the filtered list, one event, its evidence with its content type, and
handling; each operation for the roles it names, never for a worker's token."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.core import media
from mailwarden.core.roles import Role
from mailwarden.surveillance.models import VideoEvent
from mailwarden.surveillance.services import cameras
from tests.api.conftest import Api, token_for
from tests.factories import ADMIN
from tests.surveillance.conftest import DOCK_LINE, badge, record

pytestmark = pytest.mark.django_db
URL = "/api/surveillance/events"


@pytest.fixture(autouse=True)
def media_dir(settings, tmp_path):
    settings.MEDIA_STORE_DIR = str(tmp_path / "media")


@pytest.fixture
def operator() -> Api:
    return Api(token_for(Role.SECURITY_OPERATOR))


@pytest.fixture
def auditor() -> Api:
    return Api(token_for(Role.AUDITOR))


@pytest.fixture
def scene(mailroom, camera, frozen_clock) -> dict[str, VideoEvent]:
    """A loitering event with evidence, a crowd without, and two entries on one grant."""
    now = frozen_clock()
    snap, clip = media.put(b"\xff\xd8jpeg bytes"), media.put(b"mp4 bytes")
    loiter = record(camera, "loitering", now - timedelta(minutes=5), snapshot=snap, clip=clip)
    crowd = record(camera, "crowding", now - timedelta(minutes=4))
    badge(mailroom, now)
    paid = record(
        camera,
        "line_crossing",
        now + timedelta(seconds=1),
        zone=DOCK_LINE,
        direction="entry",
        snapshot=snap,
        clip=clip,
    )
    tailgated = record(
        camera,
        "line_crossing",
        now + timedelta(seconds=2),
        zone=DOCK_LINE,
        direction="entry",
        snapshot=snap,
        clip=clip,
    )
    return {
        "loiter": loiter,
        "crowd": crowd,
        "paid": paid,
        "tailgated": tailgated,
        "tailgating": VideoEvent.objects.get(type="tailgating"),
    }


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [e["id"] for e in response.json()]


def test_the_list_leaves_recorded_crossings_out_and_filters(scene, operator, frozen_clock):
    s = scene
    assert ids(operator.get(URL)) == [s["tailgating"].pk, s["crowd"].pk, s["loiter"].pk]
    assert ids(operator.get(URL, state="recorded")) == [s["tailgated"].pk, s["paid"].pk]
    assert ids(operator.get(URL, type="crowding")) == [s["crowd"].pk]
    assert ids(operator.get(URL, camera="dock-cam", site="hq", limit=1, offset=1)) == [
        s["crowd"].pk
    ]
    since = (frozen_clock() - timedelta(minutes=4)).isoformat()
    assert ids(operator.get(URL, since=since)) == [s["tailgating"].pk, s["crowd"].pk]


def test_bad_filters_name_their_field(scene, operator):
    for params, field, status in [
        ({"camera": "nope"}, "camera", 404),
        ({"site": "nowhere"}, "site", 404),
        ({"limit": 201}, "limit", 422),
        ({"type": "dancing"}, "type", 422),
        ({"since": "0"}, "since", 422),
        # Its offset moves it before year 1 in UTC.
        ({"since": "0001-01-01T00:00:00+05:00"}, "since", 422),
    ]:
        response = operator.get(URL, **params)
        assert response.status_code == status, (params, response.content)
        assert field in str(response.json()), (params, response.json())


def test_one_event_links_the_crossing_its_grant_and_its_tailgating(scene, auditor):
    s = scene
    tailgating = auditor.get(f"{URL}/{s['tailgating'].pk}").json()
    assert tailgating["type"] == "tailgating" and tailgating["door"] == "dock"
    assert tailgating["crossing"] == s["tailgated"].pk and tailgating["state"] == "new"
    assert tailgating["detail"]["grants_in_window"] == 1
    assert tailgating["description"].startswith("tailgating at door dock on dock-cam: 2 entries")
    crossing = auditor.get(f"{URL}/{s['tailgated'].pk}").json()
    assert crossing["tailgating"] == s["tailgating"].pk and crossing["grant_event_id"] is None
    paid = auditor.get(f"{URL}/{s['paid'].pk}").json()
    assert paid["grant_event_id"] is not None and paid["tailgating"] is None
    assert auditor.get(f"{URL}/999999").status_code == 404


def test_the_evidence_comes_with_its_content_type(scene, operator):
    loiter = scene["loiter"]
    body = operator.get(f"{URL}/{loiter.pk}").json()
    assert body["snapshot_url"] == f"{URL}/{loiter.pk}/snapshot"
    assert body["clip_url"] == f"{URL}/{loiter.pk}/clip" and body["clip_type"] == "video/mp4"
    snapshot = operator.get(body["snapshot_url"])
    assert snapshot.status_code == 200 and snapshot["Content-Type"] == "image/jpeg"
    assert snapshot.content == b"\xff\xd8jpeg bytes"
    clip = operator.get(body["clip_url"])
    assert clip.status_code == 200 and clip["Content-Type"] == "video/mp4"
    assert clip.content == b"mp4 bytes" and clip["Accept-Ranges"] == "bytes"
    # A player seeks with ranges.
    part = operator.client.get(body["clip_url"], headers={**operator.headers, "Range": "bytes=4-"})
    assert part.status_code == 206 and part.content == b"bytes"
    assert part["Content-Range"] == "bytes 4-8/9"
    none = operator.get(f"{URL}/{scene['crowd'].pk}/snapshot")
    assert none.status_code == 404 and none.json()["field"] == "snapshot"


def test_purged_evidence_says_when_and_by_which_rule(scene, operator, frozen_clock):
    loiter = scene["loiter"]
    VideoEvent.objects.filter(pk=loiter.pk).update(
        evidence_purged_at=frozen_clock(), evidence_purged_by="age 30 days"
    )
    body = operator.get(f"{URL}/{loiter.pk}").json()
    assert body["snapshot_url"] is None and body["evidence_purged_by"] == "age 30 days"
    gone = operator.get(f"{URL}/{loiter.pk}/clip")
    assert gone.status_code == 404
    assert "removed on 2026-03-02 by the retention rule 'age 30 days'" in gone.json()["message"]


def test_an_operator_handles_an_event_once(scene, operator):
    path = f"{URL}/{scene['tailgating'].pk}/handle"
    done = operator.post(path, {"false_positive": True, "note": "the courier"})
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "false_positive" and done.json()["note"] == "the courier"
    again = operator.post(path, {"false_positive": False})
    assert again.status_code == 409
    assert "already" in again.json()["message"]
    recorded = operator.post(f"{URL}/{scene['paid'].pk}/handle", {})
    assert recorded.status_code == 409
    assert operator.post(f"{URL}/999999/handle", {}).status_code == 404
    bad = operator.post(f"{URL}/{scene['crowd'].pk}/handle", {"false_positive": "yes"})
    assert bad.status_code == 422


def test_who_may_do_what(scene, auditor, mailroom):
    pk = scene["crowd"].pk
    assert auditor.get(f"{URL}/{pk}").status_code == 200
    assert auditor.post(f"{URL}/{pk}/handle", {}).status_code == 403
    clerk = Api(token_for(Role.CLERK))
    assert clerk.get(URL).status_code == 403
    worker = Api(cameras.enrol_worker(ADMIN, name="worker-1", site="hq").token)
    assert worker.get(URL).status_code == 403
    assert worker.post(f"{URL}/{pk}/handle", {}).status_code == 403
    assert VideoEvent.objects.get(pk=pk).state == "new"
