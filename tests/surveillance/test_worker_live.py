"""The vision worker against the live test server, with real components: a camera whose video
is a generated scene with exact ground truth (a person who dwells, so one loitering event), the
real outbox, real HTTP, the real Mosquitto broker."""

from __future__ import annotations

import json
import queue
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from mailwarden.cli import main
from mailwarden.config import get_settings
from mailwarden.core import media
from mailwarden.edge.clock import ManualClock
from mailwarden.surveillance.models import Camera, VideoEvent, VisionWorker
from mailwarden.surveillance.services.cameras import RegionSpec, set_regions
from mailwarden.vision.remote import ServerClient
from mailwarden.vision.service import VisionService
from tests.conftest import port_open, service_missing
from tests.factories import MANAGER
from tests.surveillance.live_helpers import TcpGate, dwell_video, wait_for
from tests.surveillance.worker_helpers import Enrolled, enrol

pytestmark = pytest.mark.django_db(transaction=True)

LOITER = RegionSpec(kind="zone", name="floor", rules=[{"type": "loitering", "seconds": 8}])
# The left third of the frame: the dwelling person stands in the middle, the walker crosses it.
LEFT = RegionSpec(
    kind="zone",
    name="left-aisle",
    points=[(0.0, 0.0), (0.33, 0.0), (0.33, 1.0), (0.0, 1.0)],
    rules=[{"type": "presence"}],
)


@pytest.fixture
def video(tmp_path: Path) -> Path:
    return dwell_video(tmp_path)


@pytest.fixture
def enrolled(video: Path) -> Enrolled:
    return enrol(url=str(video), regions=[LOITER])


def service(url: str, token: str, data: Path, **kw: object) -> VisionService:
    # Played once, as fast as the CPU allows: the video's own time drives the dwell rules.
    return VisionService(ServerClient(url, token), data, loop_files=False, file_speed=0, **kw)  # type: ignore[arg-type]


def ended(worker: VisionService, camera: str = "dock-cam") -> bool:
    running = worker.group.running.get(camera)
    return running is not None and running.camera.status.state == "ended"


@pytest.fixture
def stoppers() -> Iterator[list[VisionService]]:
    running: list[VisionService] = []
    yield running
    for worker in running:
        worker.stop()


def test_events_arrive_with_their_snapshot_and_clip(
    live_server, enrolled: Enrolled, tmp_path: Path, stoppers: list[VisionService]
) -> None:
    worker = service(live_server.url, enrolled.token, tmp_path / "worker")
    worker.connect()
    stoppers.append(worker.start())
    event = wait_for(lambda: VideoEvent.objects.first(), why="the loitering event")
    assert (event.type, event.zone, event.camera.name) == ("loitering", "floor", "dock-cam")
    assert event.frame_size == [640, 360]
    x0, _, x1, _ = event.bbox
    assert 200 < (x0 + x1) / 2 < 400  # the dwelling person, in the middle
    assert media.path_for(event.snapshot).read_bytes()[:2] == b"\xff\xd8"
    assert media.path_for(event.clip).stat().st_size > 1000
    assert event.clip_type == "video/mp4"
    wait_for(lambda: ended(worker), why="the file to end")
    worker.report_status()
    camera = Camera.objects.get(name="dock-cam")
    assert (camera.state, camera.width, camera.height) == ("ended", 640, 360)
    assert camera.frames == 320 and camera.snapshot and media.path_for(camera.snapshot).exists()
    assert VisionWorker.objects.get(name="vision-1").last_seen_at is not None
    wait_for(lambda: worker.outbox.pending_count() == 0, why="the outbox to empty")
    assert VideoEvent.objects.count() == 1  # one person dwelt: one loitering event
    # Delivered evidence leaves the worker's disk.
    assert not list((tmp_path / "worker" / "evidence").rglob("*.jpg"))


def test_with_the_server_down_events_wait_and_arrive_exactly_once(
    live_server, enrolled: Enrolled, tmp_path: Path, stoppers: list[VisionService]
) -> None:
    parts = urlsplit(live_server.url)
    gate = TcpGate((parts.hostname or "127.0.0.1", parts.port or 80))
    gate.open()
    clock = ManualClock(datetime.now(UTC))
    worker = service(gate.url, enrolled.token, tmp_path / "worker", outbox_clock=clock.now)
    worker.connect()
    gate.shut()
    stoppers.append(worker.start())
    wait_for(lambda: ended(worker), why="the file to end")
    wait_for(lambda: worker.outbox.pending_count() >= 1, why="an event in the outbox")
    failed = wait_for(lambda: worker.outbox.stuck(min_attempts=1), why="a failed attempt")
    assert "ConnectError" in (failed[0].last_error or "")
    assert VideoEvent.objects.count() == 0
    waiting = {e.key for e in worker.outbox.due(limit=100)} | {e.key for e in failed}
    # The worker restarts meanwhile: the outbox is on disk, not in memory.
    worker.stop()
    stoppers.remove(worker)
    again = service(gate.url, enrolled.token, tmp_path / "worker", outbox_clock=clock.now)
    assert again.outbox.pending_count() == len(waiting)
    gate.open()
    clock.advance(600)  # past any backoff
    assert again.deliver().delivered == len(waiting)
    assert set(VideoEvent.objects.values_list("key", flat=True)) == waiting
    assert again.outbox.pending_count() == 0
    assert again.deliver().attempted == 0
    assert VideoEvent.objects.count() == len(waiting)
    again.close()
    gate.shut()


def test_a_new_zone_is_picked_up_without_a_restart(
    live_server, enrolled: Enrolled, tmp_path: Path, stoppers: list[VisionService]
) -> None:
    worker = service(live_server.url, enrolled.token, tmp_path / "worker")
    worker.connect()
    stoppers.append(worker.start())
    wait_for(lambda: VideoEvent.objects.filter(zone="floor").exists(), why="loitering")
    wait_for(lambda: ended(worker), why="the file to end")
    assert worker.poll_config() is False  # nothing changed: 304
    first = worker.group.running["dock-cam"]
    set_regions(MANAGER, "dock-cam", [LOITER, LEFT])
    assert worker.poll_config() is True
    # The camera was restarted with the new zone (its file plays again); the worker was not.
    assert worker.group.running["dock-cam"] is not first
    presence = wait_for(
        lambda: list(VideoEvent.objects.filter(zone="left-aisle")), why="presence in the new zone"
    )
    assert {e.type for e in presence} == {"presence"}
    assert worker.stop_event.is_set() is False


def test_a_wrong_token_is_refused_with_a_clear_message(
    live_server, enrolled: Enrolled, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.setenv("MW_VISION_TOKEN", "mw_wrong_token")
    code = main(["vision", "run", "--server", live_server.url, "--data", str(tmp_path / "w")])
    err = capsys.readouterr().err.strip()
    assert code == 1
    assert "refused the worker's token (401" in err and "MW_VISION_TOKEN" in err
    assert len(err.splitlines()) == 1


def test_start_up_errors_are_one_line_with_an_exit_code(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.delenv("MW_VISION_TOKEN", raising=False)
    args = ["vision", "run", "--server", "http://127.0.0.1:9", "--data", str(tmp_path / "w")]
    assert main(args) == 2
    assert "MW_VISION_TOKEN or --token-file" in capsys.readouterr().err
    token = tmp_path / "token"
    token.write_text("two words\n")
    assert main([*args, "--token-file", str(token)]) == 2
    assert "--token-file: a device token is one word" in capsys.readouterr().err
    token.write_text("mw_abc\n")
    assert main([*args, "--token-file", str(token)]) == 1
    assert "cannot reach the server" in capsys.readouterr().err


def test_events_and_status_are_published_on_mqtt(
    live_server, enrolled: Enrolled, tmp_path: Path, stoppers: list[VisionService]
) -> None:
    if not port_open("127.0.0.1", 1883):
        service_missing("Mosquitto is not reachable at 127.0.0.1:1883")
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    settings = get_settings().surveillance
    before = (settings.mqtt_host, settings.mqtt_topic_prefix)
    prefix = f"mailwarden-test/{uuid.uuid4().hex[:8]}"
    settings.mqtt_host, settings.mqtt_topic_prefix = "127.0.0.1", prefix
    messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
    subscriber = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
    subscriber.on_message = lambda client, userdata, message: messages.put(message)
    subscribed = __import__("threading").Event()
    subscriber.on_subscribe = lambda *args: subscribed.set()
    subscriber.on_connect = lambda client, *args: client.subscribe(f"{prefix}/#", qos=1)
    subscriber.connect("127.0.0.1", 1883)
    subscriber.loop_start()
    try:
        assert subscribed.wait(10)
        worker = service(live_server.url, enrolled.token, tmp_path / "worker")
        worker.connect()
        stoppers.append(worker.start())
        seen: dict[str, list[dict[str, object]]] = {}
        while not (
            seen.get("events") and any(s["state"] == "ended" for s in seen.get("status", []))
        ):
            message = messages.get(timeout=60)
            what = message.topic.rsplit("/", 1)[1]
            assert message.topic.startswith(f"{prefix}/dock-cam/")
            seen.setdefault(what, []).append(json.loads(message.payload))
        event = seen["events"][0]
        assert (event["type"], event["zone"], event["camera"]) == ("loitering", "floor", "dock-cam")
        assert uuid.UUID(str(event["key"]))
        assert [s["state"] for s in seen["status"]][:1] == ["online"]
        worker.stop()
        stoppers.clear()
        # The status is retained: a newcomer learns the camera's state at once.
        late: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        newcomer = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)
        newcomer.on_message = lambda client, userdata, message: late.put(message)
        newcomer.on_connect = lambda client, *args: client.subscribe(f"{prefix}/+/status", qos=1)
        newcomer.connect("127.0.0.1", 1883)
        newcomer.loop_start()
        try:
            retained = late.get(timeout=10)
            assert retained.retain and json.loads(retained.payload)["state"] == "ended"
        finally:
            newcomer.loop_stop()
            newcomer.disconnect()
            # Leave no retained message behind on the shared broker.
            subscriber.publish(retained.topic, b"", qos=1, retain=True).wait_for_publish(5)
    finally:
        settings.mqtt_host, settings.mqtt_topic_prefix = before
        subscriber.loop_stop()
        subscriber.disconnect()


def test_a_camera_that_cannot_be_reached_is_reported_and_the_others_run_on(
    live_server, enrolled: Enrolled, tmp_path: Path, stoppers: list[VisionService]
) -> None:
    import socket

    from mailwarden.contracts.events import CameraDisconnected
    from mailwarden.core.models import OutboxEvent
    from mailwarden.surveillance.services.cameras import CameraSpec, create_camera

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    create_camera(
        MANAGER,
        CameraSpec(
            site="hq", name="gone-cam", url=f"rtsp://127.0.0.1:{closed}/cam", worker="vision-1"
        ),
    )
    worker = service(live_server.url, enrolled.token, tmp_path / "worker")
    worker.connect()
    stoppers.append(worker.start())
    wait_for(lambda: VideoEvent.objects.filter(camera__name="dock-cam").exists(), why="events")
    gone = worker.group.running["gone-cam"].camera
    wait_for(lambda: gone.status.state == "offline", why="the unreachable camera offline")
    worker.report_status()
    camera = Camera.objects.get(name="gone-cam")
    assert camera.state == "offline" and camera.state_reason.startswith("unreachable")
    down = OutboxEvent.objects.get(topic=CameraDisconnected.TOPIC)
    assert down.payload["camera"] == "gone-cam"


def test_an_event_the_server_cannot_take_never_holds_up_the_others(
    live_server, enrolled: Enrolled, tmp_path: Path
) -> None:
    from tests.surveillance.worker_helpers import event

    worker = service(live_server.url, enrolled.token, tmp_path / "worker")
    good, huge = event(), event(detail={"note": "x" * (16 * 1024 * 1024)})
    for body in (huge, good):
        payload = {k: v for k, v in body.items() if k != "key"}
        payload.update(snapshot_path=None, clip_path=None)
        worker.outbox.put("video_event", payload, key=uuid.UUID(body["key"]))
    # The batch is over the server's body limit (413): sent one by one, the good one arrives and
    # the one refused for good is let go, so the outbox moves on.
    result = worker.deliver()
    assert (result.delivered, result.failed) == (2, 0)
    assert [str(k) for k in VideoEvent.objects.values_list("key", flat=True)] == [good["key"]]
    assert worker.outbox.pending_count() == 0
    worker.close()


def test_the_command_runs_the_worker_and_stops_cleanly_on_sigterm(
    live_server, enrolled: Enrolled, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("MW_")}
    env.update(MW_VISION_TOKEN=enrolled.token, PYTHONUNBUFFERED="1")
    data = tmp_path / "worker"
    command = ["vision", "run", "--server", live_server.url, "--data", str(data), "--files-once"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailwarden.cli", *command],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        # The clip plays in real time: the person has dwelt 8 s about 13 s in.
        wait_for(lambda: VideoEvent.objects.exists() or proc.poll() is not None, why="an event")
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read() if proc.stderr else ""
    assert "worker vision-1 runs 1 camera(s)" in err
    assert VideoEvent.objects.get().type == "loitering"
    assert (data / "outbox.sqlite3").is_file()


def test_two_people_through_a_door_line_arrive_as_entries_at_its_door(
    live_server, tmp_path: Path, stoppers: list[VisionService]
) -> None:
    from mailwarden.access.services.doors import DoorData, create_door
    from mailwarden.vision import synthetic

    video = tmp_path / "door.mp4"
    synthetic.write_video(synthetic.door_scene(), str(video))  # two people, 3 s apart
    enrolled = enrol(url=str(video), regions=[])
    create_door(MANAGER, DoorData(site="hq", code="dock-door"))
    # The scene's line runs left to right at y=200 of 360; down the screen is inside.
    door_line = RegionSpec(
        kind="line",
        name="dock-door-line",
        points=[(150 / 640, 200 / 360), (500 / 640, 200 / 360)],
        inside="right",
        door="dock-door",
        rules=[{"type": "tailgating", "window": 10}],
    )
    set_regions(MANAGER, "dock-cam", [door_line])
    worker = service(live_server.url, enrolled.token, tmp_path / "worker")
    worker.connect()
    stoppers.append(worker.start())
    wait_for(lambda: ended(worker), why="the file to end")
    wait_for(lambda: worker.outbox.pending_count() == 0, why="the outbox to empty")
    # Both are entries at the door, for the server to hold against the door's badge grants.
    crossings = VideoEvent.objects.filter(zone="dock-door-line", type="line_crossing")
    assert [e.detail["direction"] for e in crossings.order_by("occurred_at")] == ["entry"] * 2
    assert {e.door.code if e.door else None for e in crossings} == {"dock-door"}
