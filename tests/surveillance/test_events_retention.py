"""Evidence retention by age and by total size, with real files in a media folder of the
test's own, and the watch on silent workers; time is injected, never waited for."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest

from mailwarden.config import get_settings
from mailwarden.core import ledger, media
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.surveillance.models import Camera, VideoEvent, VisionWorker
from mailwarden.surveillance.services import cameras, retention
from tests.factories import ADMIN
from tests.surveillance.conftest import record

pytestmark = pytest.mark.django_db
MB = 1024 * 1024


@pytest.fixture(autouse=True)
def media_dir(settings, tmp_path):
    settings.MEDIA_STORE_DIR = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def rules(monkeypatch):
    surveillance = get_settings().surveillance
    monkeypatch.setattr(surveillance, "evidence_days", 30)
    monkeypatch.setattr(surveillance, "evidence_max_mb", 10)
    monkeypatch.setattr(surveillance, "worker_silent_s", 120)
    return surveillance


def stored(label: str, size: int = 1000) -> str:
    data = (label.encode() * (size // len(label) + 1))[:size]
    return media.put(data)


def exists(digest: str) -> bool:
    return media.path_for(digest).exists()


def purge(now, capture):
    with capture(execute=True):
        return retention.purge_evidence(now)


def test_evidence_older_than_the_days_goes_and_the_event_stays(
    camera, frozen_clock, rules, django_capture_on_commit_callbacks
):
    now = frozen_clock()
    old_snap, old_clip = stored("old snapshot"), stored("old clip")
    young_snap = stored("young snapshot")
    old = record(camera, "loitering", now - timedelta(days=31), snapshot=old_snap, clip=old_clip)
    young = record(camera, "loitering", now - timedelta(days=29), snapshot=young_snap)

    done = purge(now, django_capture_on_commit_callbacks)

    assert done.events == [(old.pk, "age 30 days")]
    assert done.files == sorted([old_snap, old_clip]) and done.bytes == 2000
    assert not exists(old_snap) and not exists(old_clip) and exists(young_snap)
    old.refresh_from_db()
    young.refresh_from_db()
    assert (old.evidence_purged_at, old.evidence_purged_by) == (now, "age 30 days")
    # The hashes stay on the row and in the ledger; only the bytes are gone.
    assert (old.snapshot, old.clip) == (old_snap, old_clip)
    assert young.evidence_purged_at is None
    [entry] = LedgerEntry.objects.filter(action="surveillance.evidence.purged")
    assert ledger.entry_data(entry) == {
        "events": [
            {"event": old.pk, "rule": "age 30 days", "snapshot": old_snap, "clip": old_clip}
        ],
        "deleted": sorted([old_snap, old_clip]),
        "bytes": 2000,
    }
    assert ledger.verify().ok
    # Nothing more to do: no second entry.
    assert purge(now, django_capture_on_commit_callbacks).events == []
    assert LedgerEntry.objects.filter(action="surveillance.evidence.purged").count() == 1


def test_a_file_another_live_event_uses_is_kept(
    camera, frozen_clock, rules, django_capture_on_commit_callbacks
):
    now = frozen_clock()
    shared, clip = stored("shared"), stored("clip")
    crossing = record(camera, "loitering", now - timedelta(days=40), snapshot=shared, clip=clip)
    record(camera, "crowding", now - timedelta(days=1), snapshot=shared)
    done = purge(now, django_capture_on_commit_callbacks)
    assert done.events == [(crossing.pk, "age 30 days")]
    assert done.files == [clip]
    assert exists(shared) and not exists(clip)


def test_the_cameras_latest_snapshot_is_kept(
    camera, frozen_clock, rules, django_capture_on_commit_callbacks
):
    now = frozen_clock()
    latest = stored("latest frame")
    record(camera, "loitering", now - timedelta(days=40), snapshot=latest)
    Camera.objects.filter(pk=camera.pk).update(snapshot=latest, snapshot_at=now)
    done = purge(now, django_capture_on_commit_callbacks)
    assert len(done.events) == 1 and done.files == []
    assert exists(latest)


def test_the_oldest_go_while_the_total_is_over_the_limit(
    camera, frozen_clock, rules, django_capture_on_commit_callbacks
):
    now = frozen_clock()
    clips = [stored(f"clip {i}", 4 * MB) for i in range(4)]  # 16 MB against 10 MB
    made = [
        record(camera, "loitering", now - timedelta(hours=4 - i), clip=clip)
        for i, clip in enumerate(clips)
    ]
    done = purge(now, django_capture_on_commit_callbacks)
    assert done.events == [(made[0].pk, "total size 10 MB"), (made[1].pk, "total size 10 MB")]
    assert done.bytes == 8 * MB
    assert [exists(c) for c in clips] == [False, False, True, True]
    assert VideoEvent.objects.filter(evidence_purged_at__isnull=True).count() == 2
    assert purge(now, django_capture_on_commit_callbacks).events == []


def test_a_shared_file_counts_once_and_frees_nothing_until_its_last_user_goes(
    camera, frozen_clock, rules, django_capture_on_commit_callbacks
):
    now = frozen_clock()
    big, other = stored("big", 6 * MB), stored("other", 6 * MB)  # 12 MB against 10 MB
    first = record(camera, "loitering", now - timedelta(hours=3), clip=big)
    second = record(camera, "loitering", now - timedelta(hours=2), clip=big)
    record(camera, "loitering", now - timedelta(hours=1), clip=other)
    done = purge(now, django_capture_on_commit_callbacks)
    assert [pk for pk, _ in done.events] == [first.pk, second.pk]
    assert done.files == [big] and exists(other)


def test_a_missing_file_counts_as_nothing(
    camera, frozen_clock, rules, django_capture_on_commit_callbacks
):
    now = frozen_clock()
    gone = hashlib.sha256(b"never stored").hexdigest()
    event = record(camera, "loitering", now - timedelta(days=31), snapshot=gone)
    done = purge(now, django_capture_on_commit_callbacks)
    assert done.events == [(event.pk, "age 30 days")] and done.bytes == 0


def test_the_tick_runs_it_every_ten_minutes(
    camera, frozen_clock, rules, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr(retention, "_last_purge", [])
    now = frozen_clock()
    record(camera, "loitering", now - timedelta(days=31), snapshot=stored("a"))
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.scheduled_purge(now) == 1
    record(camera, "loitering", now - timedelta(days=31), snapshot=stored("b"))
    assert retention.scheduled_purge(now + timedelta(minutes=9)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.scheduled_purge(now + timedelta(minutes=10)) == 1


# ----------------------------------------------------------------------------- silent workers


@pytest.fixture
def watched(camera, frozen_clock) -> tuple[VisionWorker, list[Camera]]:
    worker = cameras.enrol_worker(ADMIN, name="worker-1", site="hq").worker
    spec = {"site": "hq", "worker": "worker-1"}
    hall = cameras.create_camera(
        ADMIN, cameras.CameraSpec(name="hall-cam", url="rtsp://cam.local/hall", **spec)
    )
    gate = cameras.create_camera(
        ADMIN, cameras.CameraSpec(name="gate-cam", url="rtsp://cam.local/gate", **spec)
    )
    Camera.objects.filter(pk__in=[hall.pk, gate.pk]).update(state="online")
    VisionWorker.objects.filter(pk=worker.pk).update(last_seen_at=frozen_clock())
    return worker, [hall, gate]


def disconnected() -> list[dict]:
    return [e.payload for e in OutboxEvent.objects.filter(topic="surveillance.camera.disconnected")]


def test_a_silent_workers_cameras_go_offline_once(watched, frozen_clock, rules):
    seen = frozen_clock()
    assert retention.check_workers(seen + timedelta(seconds=120)) == 0
    later = seen + timedelta(seconds=121)
    assert retention.check_workers(later) == 2
    reason = "worker worker-1 silent since 2026-03-02 09:00:00 UTC"
    for cam in Camera.objects.filter(worker__name="worker-1"):
        assert (cam.state, cam.state_reason, cam.state_at) == ("offline", reason, later)
    assert sorted(p["camera"] for p in disconnected()) == ["gate-cam", "hall-cam"]
    assert {p["reason"] for p in disconnected()} == {reason}
    assert LedgerEntry.objects.filter(action="surveillance.camera.disconnected").count() == 2
    # Said once: the next ticks find them offline already.
    assert retention.check_workers(later + timedelta(minutes=5)) == 0
    assert len(disconnected()) == 2
    # The camera without a worker is not its business.
    assert Camera.objects.get(name="dock-cam").state == "unknown"


def test_a_disabled_or_ended_camera_is_left_alone(watched, frozen_clock, rules):
    _, (hall, gate) = watched
    Camera.objects.filter(pk=hall.pk).update(enabled=False)
    Camera.objects.filter(pk=gate.pk).update(state="ended")
    assert retention.check_workers(frozen_clock() + timedelta(hours=1)) == 0


def test_a_worker_never_seen_is_silent_since_its_enrolment(watched, frozen_clock, rules):
    worker, _ = watched
    VisionWorker.objects.filter(pk=worker.pk).update(last_seen_at=None)
    enrolled = VisionWorker.objects.get(pk=worker.pk).created_at
    assert retention.check_workers(enrolled + timedelta(seconds=60)) == 0
    assert retention.check_workers(enrolled + timedelta(seconds=121)) == 2
    assert disconnected()[0]["reason"] == "worker worker-1 silent since it was enrolled"
