"""Capture from files and streams: corrupt frames, truncated files, reconnecting with backoff,
and the reason a stream does not play, against real files, a closed port and a loopback RTSP
responder."""

from __future__ import annotations

import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mailwarden.vision import synthetic
from mailwarden.vision.capture import (
    Backoff,
    CaptureError,
    FrameCheck,
    Stream,
    VideoFile,
    open_any,
    probe_reason,
)


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    synthetic.write_video(synthetic.Scene((320, 180), 10.0, 3.0), str(path))
    return path


def test_a_file_gives_every_frame_with_its_time(clip: Path) -> None:
    source = VideoFile(clip)
    frames = list(source.frames())
    assert len(frames) == 30
    assert frames[10].time_s == pytest.approx(1.0)
    assert source.size == (320, 180)
    assert source.status.state == "ended" and source.status.reason is None


def test_a_truncated_file_says_so(tmp_path: Path) -> None:
    # An AVI declares its frame count in its header and keeps the frames it has readable when
    # cut short (an MP4 from OpenCV keeps its index at the end, so a cut one does not open).
    avi = tmp_path / "clip.avi"
    synthetic.write_video(synthetic.Scene((320, 180), 10.0, 3.0), str(avi), "MJPG")
    raw = avi.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(raw[: len(raw) // 2])
    source = VideoFile(cut)
    frames = list(source.frames())
    assert 0 < len(frames) < 30
    assert source.status.reason is not None and source.status.reason.startswith("truncated")


def test_not_a_video_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00not a video" * 100)
    with pytest.raises(CaptureError, match=r"cannot decode|not a video"):
        VideoFile(junk)
    with pytest.raises(CaptureError, match="no such file"):
        VideoFile(tmp_path / "missing.mp4")


def test_frames_of_another_shape_or_none_are_corrupt() -> None:
    check = FrameCheck()
    good = np.zeros((90, 160, 3), np.uint8)
    assert check.ok(good)
    assert not check.ok(None)
    assert not check.ok(np.zeros((45, 80, 3), np.uint8))
    assert not check.ok(np.zeros((90, 160, 3), np.float32))
    assert not check.ok(np.zeros((0,), np.uint8))
    assert check.ok(good.copy())


class Clock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_a_stream_that_ends_is_reopened_and_counts_its_frames(clip: Path) -> None:
    clock = Clock()
    stop = threading.Event()
    stream = Stream(
        str(clip), opener=open_any, clock=clock, sleep=clock.sleep, probe=lambda u: None
    )
    got = 0
    for _ in stream.frames(stop):
        got += 1
        if got == 75:  # two whole passes and half of a third
            stop.set()
    assert got == 75
    assert stream.status.reconnects == 2
    # Each pass delivered frames, so the backoff started again from its first step.
    assert clock.slept == [1.0, 1.0]
    assert stream.status.frames == 75
    assert stream.status.history[:3] == ["online", "offline: ended", "online"]


def test_a_stream_that_never_opens_backs_off_exponentially(tmp_path: Path) -> None:
    clock = Clock()
    stop = threading.Event()

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        if len(clock.slept) == 6:
            stop.set()

    stream = Stream(
        str(tmp_path / "gone.mp4"),
        opener=open_any,
        clock=clock,
        sleep=sleep,
        backoff=Backoff(1.0, 8.0),
        probe=lambda u: None,
    )
    assert list(stream.frames(stop)) == []
    assert clock.slept == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert stream.status.state == "ended"
    assert "offline: cannot open the stream" in stream.status.history


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_camera_says_why() -> None:
    url = f"rtsp://127.0.0.1:{closed_port()}/cam"
    assert probe_reason(url, timeout=2).startswith("unreachable")
    stop = threading.Event()
    clock = Clock()

    def sleep(seconds: float) -> None:
        stop.set()

    stream = Stream(url, timeout_s=2.0, clock=clock, sleep=sleep)
    assert list(stream.frames(stop)) == []
    assert any(h.startswith("offline: unreachable") for h in stream.status.history)


class RtspResponder(socketserver.BaseRequestHandler):
    reply = b""

    def handle(self) -> None:
        self.request.recv(4096)
        self.request.sendall(self.server.reply)  # type: ignore[attr-defined]


@pytest.fixture
def rtsp() -> Iterator[socketserver.TCPServer]:
    server = socketserver.TCPServer(("127.0.0.1", 0), RtspResponder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def answer(server: socketserver.TCPServer, status: str, sdp: str = "") -> str:
    body = sdp.encode()
    head = f"RTSP/1.0 {status}\r\nCSeq: 1\r\nContent-Length: {len(body)}\r\n"
    if sdp:
        head += "Content-Type: application/sdp\r\n"
    server.reply = head.encode() + b"\r\n" + body  # type: ignore[attr-defined]
    host, port = server.server_address[:2]
    return f"rtsp://viewer:secret@{host}:{port}/stream"


SDP = "v=0\r\ns=cam\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 {codec}/90000\r\n"


def test_the_probe_tells_a_wrong_password(rtsp: socketserver.TCPServer) -> None:
    url = answer(rtsp, '401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"')
    assert probe_reason(url) == "wrong user name or password"


def test_the_probe_tells_an_unsupported_codec(rtsp: socketserver.TCPServer) -> None:
    url = answer(rtsp, "200 OK", SDP.format(codec="VP9"))
    assert probe_reason(url) == "unsupported codec: VP9"


def test_the_probe_finds_nothing_wrong_with_h264(rtsp: socketserver.TCPServer) -> None:
    assert probe_reason(answer(rtsp, "200 OK", SDP.format(codec="H264"))) is None
    assert probe_reason(answer(rtsp, "404 Not Found")) == "no such stream"


def test_the_probe_leaves_files_alone() -> None:
    assert probe_reason("/tmp/clip.mp4") is None


def test_a_camera_that_accepts_and_then_says_nothing_is_offline_not_stuck() -> None:
    # A stalled camera: the connection opens, no answer comes. The open times out instead of
    # blocking the worker, and the status says the camera did not answer.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    stop_accepting = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop_accepting.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    stop = threading.Event()
    url = f"rtsp://127.0.0.1:{port}/cam"
    try:
        stream = Stream(
            url,
            timeout_s=1.5,
            clock=Clock(),
            sleep=lambda s: stop.set(),
            probe=lambda u: probe_reason(u, timeout=1.0),
        )
        assert list(stream.frames(stop)) == []
    finally:
        stop_accepting.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
    assert "offline: unreachable: no answer" in stream.status.history


def test_corrupt_frames_in_a_file_are_skipped_and_counted(tmp_path: Path) -> None:
    avi = tmp_path / "clip.avi"
    synthetic.write_video(synthetic.Scene((320, 180), 10.0, 3.0), str(avi), "MJPG")
    raw = bytearray(avi.read_bytes())
    # Each frame is one JPEG (it starts FF D8): blank out the data of frames 10 and 20.
    starts = [i for i in range(len(raw) - 1) if raw[i] == 0xFF and raw[i + 1] == 0xD8]
    assert len(starts) == 30
    for frame in (10, 20):
        raw[starts[frame] : starts[frame] + 2000] = b"\xab" * 2000
    broken = tmp_path / "broken.avi"
    broken.write_bytes(bytes(raw))
    source = VideoFile(broken)
    frames = list(source.frames())
    assert [f.index for f in frames] == [i for i in range(30) if i not in (10, 20)]
    assert frames[-1].time_s == pytest.approx(2.9)
    assert source.status.corrupt == 2
    assert source.status.reason is None  # damaged, not cut short


def test_a_camera_with_a_wrong_password_says_so(rtsp: socketserver.TCPServer) -> None:
    url = answer(rtsp, '401 Unauthorized\r\nWWW-Authenticate: Basic realm="cam"')
    stop = threading.Event()
    stream = Stream(url, timeout_s=2.0, clock=Clock(), sleep=lambda s: stop.set())
    assert list(stream.frames(stop)) == []
    assert "offline: wrong user name or password" in stream.status.history


def test_a_stream_needs_a_positive_timeout() -> None:
    with pytest.raises(ValueError, match="timeout_s must be more than 0"):
        Stream("rtsp://127.0.0.1/cam", timeout_s=0)
