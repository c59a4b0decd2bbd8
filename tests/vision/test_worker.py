"""Several cameras at once: one that cannot be reached and one whose decoder fails never stop
the camera that works."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from mailwarden.vision import config, synthetic
from mailwarden.vision.capture import Capture, open_any
from mailwarden.vision.rules import Event
from mailwarden.vision.worker import Camera, CameraGroup


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def broken_decoder(url: str) -> Capture:
    raise RuntimeError("decoder crashed")


def test_one_camera_failing_never_stops_the_others(tmp_path: Path) -> None:
    video = tmp_path / "door.mp4"
    synthetic.write_video(synthetic.door_scene(), str(video))
    rules = config.parse_rules(
        {
            "analysis": {"fps": None},
            "lines": [
                {
                    "name": "door",
                    "points": [[150, 200], [500, 200]],
                    "inside": "right",
                    "rules": [{"type": "line_crossing"}],
                }
            ],
        }
    )
    seen: list[tuple[str, Event]] = []
    two = threading.Event()

    def on_event(camera: str, event: Event) -> None:
        seen.append((camera, event))
        if sum(1 for c, _ in seen if c == "door") >= 2:
            two.set()

    cameras = [
        Camera("gone", f"rtsp://127.0.0.1:{closed_port()}/cam", rules),
        Camera("crashing", "rtsp://example.invalid/cam", rules, opener=broken_decoder),
        Camera("door", str(video), rules, fps=10.0, opener=open_any),
    ]
    group = CameraGroup(cameras, on_event, probe=lambda url: "unreachable: refused")
    group.start()
    try:
        assert two.wait(120), [s.status.history for s in cameras]
    finally:
        group.stop()
    assert {c for c, _ in seen} == {"door"}
    assert [e.extra["direction"] for _, e in seen][:2] == ["entry", "entry"]
    gone, crashing, door = cameras
    assert "offline: unreachable: refused" in gone.status.history
    assert crashing.status.history[0] == "offline: error: RuntimeError: decoder crashed"
    assert group.errors["crashing"] >= 1
    assert door.status.frames >= 50
