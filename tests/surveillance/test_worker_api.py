"""The worker's endpoints with its device token: evidence uploads checked by type, size and hash;
events recorded once by key, each refused on its own with the field; camera status with its
disconnect and reconnect events; and enrolment, for an administrator only."""

from __future__ import annotations

from typing import Any

import pytest

from mailwarden.contracts import events as catalogue
from mailwarden.contracts.vision import MAX_SNAPSHOT_BYTES
from mailwarden.core import media
from mailwarden.core.models import OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.surveillance.models import Camera, VideoEvent, VisionWorker
from mailwarden.surveillance.services.cameras import RegionSpec
from tests.api.conftest import Api, token_for
from tests.surveillance.worker_helpers import Enrolled, enrol, event, jpeg, mp4_stub, sha

pytestmark = pytest.mark.django_db
MEDIA = "/api/surveillance/worker/media"


@pytest.fixture
def enrolled() -> Enrolled:
    return enrol(
        regions=[
            RegionSpec(kind="zone", name="dock", rules=[{"type": "loitering", "seconds": 10}]),
            RegionSpec(kind="line", name="entry", points=[(0.2, 0.5), (0.8, 0.5)]),
        ]
    )


@pytest.fixture
def worker(enrolled: Enrolled) -> Api:
    return Api(enrolled.token)


def put(api: Api, data: bytes, content_type: str = "image/jpeg", digest: str | None = None) -> Any:
    return api.client.put(
        f"{MEDIA}/{digest or sha(data)}", data, content_type=content_type, headers=api.headers
    )


def refusal(response: Any, status: int = 400) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    return body


class TestMedia:
    def test_a_snapshot_is_stored_under_its_hash(self, worker: Api) -> None:
        data = jpeg()
        response = put(worker, data)
        assert response.status_code == 201, response.content
        assert response.json() == {"sha256": sha(data), "bytes": len(data)}
        assert media.get(sha(data)) == data
        assert put(worker, data).status_code == 201  # again: harmless

    def test_a_clip_is_stored(self, worker: Api) -> None:
        assert put(worker, mp4_stub(), "video/mp4").status_code == 201

    def test_a_wrong_hash_is_refused(self, worker: Api) -> None:
        data = jpeg()
        body = refusal(put(worker, data, digest="0" * 64))
        assert body["field"] == "sha256" and "SHA-256" in body["message"]
        assert not media.path_for("0" * 64).exists()

    def test_a_malformed_hash_is_refused(self, worker: Api) -> None:
        assert put(worker, jpeg(), digest="abc").status_code in (400, 422)

    def test_a_wrong_type_is_refused(self, worker: Api) -> None:
        assert refusal(put(worker, b"hello", "text/plain"))["field"] == "Content-Type"
        # Said to be a JPEG, but not one.
        assert refusal(put(worker, b"\x89PNG not really"))["field"] == "body"
        assert refusal(put(worker, b"not a clip at all", "video/mp4"))["field"] == "body"

    def test_an_oversized_snapshot_is_refused(self, worker: Api) -> None:
        data = jpeg() + b"\x00" * MAX_SNAPSHOT_BYTES
        body = refusal(put(worker, data))
        assert body["field"] == "body" and "limit" in body["message"]
        assert not media.path_for(sha(data)).exists()

    def test_a_person_token_cannot_upload(self, enrolled: Enrolled) -> None:
        admin = Api(token_for(Role.ADMIN))
        assert put(admin, jpeg()).status_code == 403


class TestEvents:
    def post(self, api: Api, *events: dict[str, Any]) -> dict[str, Any]:
        response = api.post("/api/surveillance/worker/events", {"events": list(events)})
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        return body

    def test_an_event_is_recorded_with_its_evidence_and_raised(self, worker: Api) -> None:
        snap, clip = jpeg(), mp4_stub()
        put(worker, snap)
        put(worker, clip, "video/mp4")
        one = event(snapshot=sha(snap), clip=sha(clip))
        assert self.post(worker, one) == {"accepted": [one["key"]], "rejected": []}
        recorded = VideoEvent.objects.get()
        assert (recorded.type, recorded.zone, recorded.camera.name) == (
            "loitering",
            "dock",
            "dock-cam",
        )
        assert (recorded.snapshot, recorded.clip, recorded.clip_type) == (
            sha(snap),
            sha(clip),
            "video/mp4",
        )
        assert recorded.bbox == [10, 20, 50, 90] and recorded.frame_size == [640, 360]
        raised = OutboxEvent.objects.filter(topic=catalogue.VideoEventRaised.TOPIC)
        assert raised.count() == 1
        assert VisionWorker.objects.get(name="vision-1").last_seen_at is not None

    def test_a_duplicate_key_is_recorded_once(self, worker: Api) -> None:
        one = event()
        assert self.post(worker, one, one)["accepted"] == [one["key"], one["key"]]
        assert self.post(worker, one)["accepted"] == [one["key"]]
        assert VideoEvent.objects.count() == 1
        assert OutboxEvent.objects.filter(topic=catalogue.VideoEventRaised.TOPIC).count() == 1

    def test_a_line_crossing_names_the_lines_door(self, worker: Api) -> None:
        one = event(type="line_crossing", zone="entry", detail={"direction": "in"})
        assert self.post(worker, one)["accepted"] == [one["key"]]
        assert VideoEvent.objects.get().type == "line_crossing"

    @pytest.mark.parametrize(
        ("overrides", "field", "words"),
        [
            ({"camera": "nowhere-cam"}, "camera", "no camera"),
            ({"camera": "yard-cam"}, "camera", "not assigned"),
            ({"bbox": [10, 20, 700, 90]}, "bbox", "inside"),
            ({"bbox": [50, 20, 10, 90]}, "bbox", "x0 <= x1"),
            ({"snapshot": "a" * 64}, "snapshot", "upload"),
            ({"clip": "b" * 64}, "clip", "upload"),
            ({"occurred_at": "2026-03-02T09:00:00"}, "occurred_at", "offset"),
            ({"frame_size": [0, 360]}, "frame_size", "width"),
        ],
    )
    def test_a_bad_event_is_refused_on_its_own(
        self, worker: Api, overrides: dict[str, Any], field: str, words: str
    ) -> None:
        bad, good = event(**overrides), event()
        body = self.post(worker, bad, good)
        assert body["accepted"] == [good["key"]]
        assert len(body["rejected"]) == 1
        rejected = body["rejected"][0]
        assert (rejected["key"], rejected["field"]) == (bad["key"], field)
        assert words in rejected["reason"]
        assert list(VideoEvent.objects.values_list("key", flat=True)).__len__() == 1

    def test_another_workers_token_cannot_report_for_this_camera(self, enrolled: Enrolled) -> None:
        other = Api(enrolled.other_token)
        body = self.post(other, event())
        assert body["accepted"] == [] and body["rejected"][0]["field"] == "camera"

    def test_an_unknown_type_is_refused_naming_it(self, worker: Api) -> None:
        response = worker.post("/api/surveillance/worker/events", {"events": [event(type="dance")]})
        assert response.status_code == 422
        assert "type" in response.content.decode()


class TestStatus:
    def post(self, api: Api, *cameras: dict[str, Any]) -> dict[str, Any]:
        response = api.post("/api/surveillance/worker/status", {"cameras": list(cameras)})
        assert response.status_code == 200, response.content
        body: dict[str, Any] = response.json()
        return body

    def test_status_updates_the_camera_and_its_transitions_raise_events(self, worker: Api) -> None:
        snap = jpeg()
        put(worker, snap)
        body = self.post(
            worker,
            {
                "camera": "dock-cam",
                "state": "online",
                "last_frame_at": "2026-03-02T09:00:00Z",
                "frames": 50,
                "corrupt_frames": 1,
                "frame_size": [640, 360],
                "snapshot": sha(snap),
            },
        )
        assert body == {"updated": ["dock-cam"], "rejected": []}
        camera = Camera.objects.get(name="dock-cam")
        assert (camera.state, camera.frames, camera.corrupt_frames) == ("online", 50, 1)
        assert (camera.width, camera.height, camera.snapshot) == (640, 360, sha(snap))
        down = OutboxEvent.objects.filter(topic=catalogue.CameraDisconnected.TOPIC)
        up = OutboxEvent.objects.filter(topic=catalogue.CameraReconnected.TOPIC)
        assert (down.count(), up.count()) == (0, 0)
        self.post(
            worker, {"camera": "dock-cam", "state": "offline", "reason": "unreachable: no answer"}
        )
        self.post(
            worker, {"camera": "dock-cam", "state": "offline", "reason": "unreachable: no answer"}
        )
        assert (down.count(), up.count()) == (1, 0)
        assert down.get().payload["reason"] == "unreachable: no answer"
        camera.refresh_from_db()
        assert (camera.state, camera.state_reason) == ("offline", "unreachable: no answer")
        self.post(worker, {"camera": "dock-cam", "state": "online"})
        assert (down.count(), up.count()) == (1, 1)

    def test_a_camera_of_another_worker_or_none_is_refused_naming_it(self, worker: Api) -> None:
        body = self.post(
            worker,
            {"camera": "yard-cam", "state": "online"},
            {"camera": "nowhere", "state": "online"},
            {"camera": "dock-cam", "state": "online", "snapshot": "c" * 64},
        )
        assert body["updated"] == []
        assert [(r["camera"], r["field"]) for r in body["rejected"]] == [
            ("yard-cam", "camera"),
            ("nowhere", "camera"),
            ("dock-cam", "snapshot"),
        ]
        assert Camera.objects.get(name="yard-cam").state == "unknown"


class TestEnrolment:
    def test_an_administrator_enrols_a_worker_and_sees_its_token_once(
        self, enrolled: Enrolled
    ) -> None:
        admin = Api(token_for(Role.ADMIN))
        response = admin.post("/api/surveillance/workers", {"name": "vision-3", "site": "hq"})
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["name"] == "vision-3" and body["token"].startswith("mw_")
        listed = admin.get("/api/surveillance/workers").json()
        assert [w["name"] for w in listed] == ["vision-1", "vision-2", "vision-3"]
        assert all("token" not in w for w in listed)
        new = Api(body["token"])
        assert new.get("/api/surveillance/worker/config").status_code == 200

    def test_a_manager_cannot_enrol(self, enrolled: Enrolled) -> None:
        manager = Api(token_for(Role.SECURITY_MANAGER))
        response = manager.post("/api/surveillance/workers", {"name": "vision-3", "site": "hq"})
        assert response.status_code == 403

    def test_a_taken_name_and_an_unknown_site_are_named(self, enrolled: Enrolled) -> None:
        admin = Api(token_for(Role.ADMIN))
        taken = admin.post("/api/surveillance/workers", {"name": "vision-1", "site": "hq"})
        assert (taken.status_code, taken.json()["field"]) == (409, "name")
        nowhere = admin.post("/api/surveillance/workers", {"name": "vision-9", "site": "mars"})
        assert (nowhere.status_code, nowhere.json()["field"]) == (404, "site")
