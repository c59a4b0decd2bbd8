"""Cameras against a real RTSP server on loopback (GStreamer's, run by tests/vision/rtsp_server.py):
frames arrive; a wrong password, an unsupported codec, a stall and a server that goes away each
show as the camera's status with the reason; the stream comes back by itself; and a group keeps
serving its good camera beside a bad one.

The read timeout is real (FFmpeg's), so these tests use real time, with a short timeout, and
wait for conditions with a deadline rather than for a fixed time.
"""

from __future__ import annotations

import functools
import select
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mailwarden.vision import config
from mailwarden.vision.capture import Backoff, Status, Stream
from mailwarden.vision.worker import Camera, CameraGroup
from tests.conftest import service_missing

SERVER = Path(__file__).with_name("rtsp_server.py")
# GStreamer's Python bindings come with Debian's Python, not with the project's venv.
SYSTEM_PYTHON = "/usr/bin/python3"
ELEMENTS = ("videotestsrc", "valve", "x264enc", "rtph264pay", "openjpegenc", "rtpj2kpay")
TIMEOUT_S = 1.5  # the cameras' open and read timeout
DEADLINE_S = 30.0  # for anything to happen; generous, as CI machines are slow


@functools.cache
def gstreamer_missing() -> str | None:
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} is missing (the RTSP server runs on Debian's python3-gi)"
    check = (
        "import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0')\n"
        "from gi.repository import Gst, GstRtspServer\n"
        "Gst.init(None)\n"
        f"print(' '.join(e for e in {ELEMENTS!r} if Gst.ElementFactory.find(e) is None))\n"
    )
    done = subprocess.run([SYSTEM_PYTHON, "-c", check], capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        return "GStreamer's RTSP server is not installed: " + done.stderr.strip().splitlines()[-1]
    if done.stdout.strip():
        return f"GStreamer elements missing: {done.stdout.strip()}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtspCamera:
    """The server as a child process, told what to do over its stdin."""

    def __init__(self, user: str | None = None, password: str | None = None) -> None:
        self.port = free_port()
        self.args = [SYSTEM_PYTHON, str(SERVER), str(self.port)]
        if user is not None:
            self.args += ["--user", user, "--password", password or ""]
        self.process: subprocess.Popen[str] | None = None
        self.start()

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self._line() == f"ready {self.port}"

    def _line(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], DEADLINE_S)
        assert ready, "the RTSP server did not answer"
        return self.process.stdout.readline().strip()

    def tell(self, command: str) -> None:
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        assert self._line() == f"ok {command}"

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def url(self, path: str = "cam", user: str = "", password: str = "") -> str:
        auth = f"{user}:{password}@" if user else ""
        return f"rtsp://{auth}127.0.0.1:{self.port}/{path}"


@pytest.fixture
def camera() -> Iterator[RtspCamera]:
    reason = gstreamer_missing()
    if reason:
        service_missing(reason)
    server = RtspCamera("viewer", "secret")
    yield server
    server.kill()


def until(condition: Callable[[], bool], what: str, status: Status) -> None:
    deadline = time.monotonic() + DEADLINE_S
    pause = threading.Event()  # never set: a wait that cannot be cut short by a signal
    while not condition():
        assert time.monotonic() < deadline, f"{what}; history: {status.history}"
        pause.wait(0.05)


class Running:
    """A stream read on its own thread, as the worker reads it."""

    def __init__(self, url: str) -> None:
        self.stop = threading.Event()
        self.stream = Stream(
            url,
            timeout_s=TIMEOUT_S,
            sleep=self.stop.wait,
            backoff=Backoff(0.2, 1.0),
        )
        self.shapes: set[tuple[int, ...]] = set()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    @property
    def status(self) -> Status:
        return self.stream.status

    def _read(self) -> None:
        for frame in self.stream.frames(self.stop):
            self.shapes.add(frame.image.shape)

    def until(self, condition: Callable[[Status], bool], what: str) -> None:
        until(lambda: condition(self.status), what, self.status)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(DEADLINE_S)
        assert not self.thread.is_alive()


@pytest.fixture
def running() -> Iterator[Callable[[str], Running]]:
    started: list[Running] = []

    def start(url: str) -> Running:
        started.append(Running(url))
        return started[-1]

    yield start
    for one in started:
        one.close()


def online_with(frames: int) -> Callable[[Status], bool]:
    return lambda s: s.state == "online" and s.frames >= frames


def test_frames_arrive_and_the_camera_is_online(
    camera: RtspCamera, running: Callable[[str], Running]
) -> None:
    began = time.monotonic()
    cam = running(camera.url(user="viewer", password="secret"))
    cam.until(online_with(20), "20 frames")
    status = cam.status
    assert status.reason is None and status.corrupt == 0
    assert status.last_frame_at is not None and began < status.last_frame_at <= time.monotonic()
    assert cam.shapes == {(240, 320, 3)}


def test_a_wrong_password_says_so(camera: RtspCamera, running: Callable[[str], Running]) -> None:
    cam = running(camera.url(user="viewer", password="guess"))
    cam.until(lambda s: s.reconnects >= 2, "two attempts")
    assert cam.status.state == "offline"
    assert cam.status.reason == "wrong user name or password"
    assert cam.status.frames == 0
    anonymous = running(camera.url())
    anonymous.until(lambda s: s.reconnects >= 1, "one attempt")
    assert anonymous.status.reason == "wrong user name or password"


def test_an_unsupported_codec_or_a_missing_stream_says_so(
    camera: RtspCamera, running: Callable[[str], Running]
) -> None:
    j2k = running(camera.url("j2k", "viewer", "secret"))
    missing = running(camera.url("nothing-here", "viewer", "secret"))
    j2k.until(lambda s: s.reconnects >= 1, "one attempt")
    missing.until(lambda s: s.reconnects >= 1, "one attempt")
    assert j2k.status.reason == "unsupported codec: JPEG2000"
    assert missing.status.reason == "no such stream"
    assert j2k.status.frames == missing.status.frames == 0


def test_a_stalled_stream_is_offline_and_comes_back_by_itself(
    camera: RtspCamera, running: Callable[[str], Running]
) -> None:
    cam = running(camera.url(user="viewer", password="secret"))
    cam.until(online_with(10), "10 frames")
    camera.tell("stall")
    stalled = time.monotonic()
    cam.until(lambda s: s.state == "offline", "offline after the stall")
    noticed = time.monotonic() - stalled
    assert cam.status.reason == f"stalled: no frame for {TIMEOUT_S:g} s"
    # The frames already on their way are read first; then one read timeout, or a few.
    assert TIMEOUT_S <= noticed < 4 * TIMEOUT_S + 2
    frames = cam.status.frames
    # While it stays stalled, the stream keeps trying and keeps saying why.
    cam.until(lambda s: s.reconnects >= 2, "a second attempt")
    assert cam.status.state == "offline" and cam.status.reason is not None
    assert cam.status.reason.startswith("stalled")
    assert cam.status.frames == frames
    camera.tell("resume")
    cam.until(online_with(frames + 10), "10 frames after resuming")
    assert cam.status.history[0] == "online"
    assert f"offline: stalled: no frame for {TIMEOUT_S:g} s" in cam.status.history


def test_a_server_that_goes_away_is_unreachable_until_it_is_back(
    camera: RtspCamera, running: Callable[[str], Running]
) -> None:
    cam = running(camera.url(user="viewer", password="secret"))
    cam.until(online_with(10), "10 frames")
    camera.kill()
    cam.until(
        lambda s: (s.reason or "").startswith("unreachable"), "unreachable once the server is gone"
    )
    frames = cam.status.frames
    camera.start()
    cam.until(online_with(frames + 10), "10 frames after the server came back")


def test_a_group_keeps_serving_its_good_camera_beside_bad_ones(camera: RtspCamera) -> None:
    rules = config.parse_rules({"analysis": {"fps": None}})
    good = Camera("good", camera.url(user="viewer", password="secret"), rules, fps=15.0)
    locked = Camera("locked", camera.url(user="viewer", password="guess"), rules)
    j2k = Camera("j2k", camera.url("j2k", "viewer", "secret"), rules)
    for one in (good, locked, j2k):
        one.timeout_s = TIMEOUT_S
    group = CameraGroup([good, locked, j2k], lambda name, event: None)
    group.start()
    try:
        until(lambda: good.status.frames >= 60, "60 frames from the good camera", good.status)
        until(lambda: j2k.status.state == "offline", "the JPEG 2000 camera offline", j2k.status)
        until(lambda: locked.status.state == "offline", "the locked camera offline", locked.status)
        assert good.status.state == "online"
        # The bad cameras go on trying, and the good one on delivering.
        frames = good.status.frames
        until(lambda: locked.status.reconnects >= 2, "the locked camera retried", locked.status)
        until(lambda: good.status.frames >= frames + 30, "30 frames more", good.status)
        assert locked.status.reason == "wrong user name or password"
        assert j2k.status.reason == "unsupported codec: JPEG2000"
    finally:
        group.stop()
    assert group.errors == {"good": 0, "locked": 0, "j2k": 0}
