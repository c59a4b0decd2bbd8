"""Frames from files and RTSP streams.

A source yields frames with their time. Corrupt frames (no image, or a shape other than the
stream's) are skipped and counted. A stream that fails to open, stalls or ends is reopened with
exponential backoff; the clock and the sleep are injected so tests move time instead of waiting.
Each camera's status says whether it is online and, when it is not, why.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

import cv2
import numpy as np


class Capture(Protocol):
    """The part of ``cv2.VideoCapture`` the sources use."""

    def isOpened(self) -> bool: ...  # OpenCV's name
    def read(self) -> tuple[bool, np.ndarray | None]: ...
    def get(self, prop: int) -> float: ...
    def release(self) -> None: ...


Opener = Callable[[str], Capture]


# OpenCV passes FFmpeg's own options only through this variable (a site may set its own).
# RTSP over TCP, as NVRs use it: no frames lost to dropped UDP packets, and a camera that hangs up
# reads as ended at once. A short analysis: FFmpeg would otherwise read for the whole open
# timeout before the first frame comes back, and start that far behind the camera.
FFMPEG_OPTIONS = "rtsp_transport;tcp|analyzeduration;500000"


def open_ffmpeg(url: str, timeout_ms: int = 5000) -> Capture:
    """Open a file or stream with OpenCV's FFmpeg backend, with open and read timeouts, so a
    stalled stream returns control instead of blocking for ever."""
    os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", FFMPEG_OPTIONS)
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        timeout_ms,
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        timeout_ms,
    ]
    return cv2.VideoCapture(url, cv2.CAP_FFMPEG, params)


def open_any(url: str) -> Capture:
    # GIFs and image sequences need OpenCV's own readers, which the FFmpeg-only open skips.
    return cv2.VideoCapture(url)


@dataclass
class Frame:
    index: int
    time_s: float
    image: np.ndarray


class CaptureError(Exception):
    """A source that cannot be used at all; the message says why."""


@dataclass
class Status:
    state: str = "starting"  # starting, online, offline, ended
    reason: str | None = None
    last_frame_at: float | None = None
    frames: int = 0
    corrupt: int = 0
    reconnects: int = 0
    history: list[str] = field(default_factory=list)

    def set(self, state: str, reason: str | None = None) -> None:
        self.state, self.reason = state, reason
        self.history.append(state if reason is None else f"{state}: {reason}")
        del self.history[:-50]


class FrameCheck:
    """Refuses frames that cannot be analysed: none, empty, or not the stream's shape."""

    def __init__(self) -> None:
        self.shape: tuple[int, ...] | None = None

    def ok(self, image: np.ndarray | None) -> bool:
        if image is None or not isinstance(image, np.ndarray) or image.size == 0:
            return False
        if image.dtype != np.uint8 or image.ndim not in (2, 3):
            return False
        if self.shape is None:
            self.shape = image.shape
        return image.shape == self.shape


class VideoFile:
    """A video file read once from start to end, timed by its own frame rate."""

    def __init__(self, path: str | Path, opener: Opener = open_any) -> None:
        self.path = str(path)
        if not Path(self.path).is_file():
            raise CaptureError(f"{self.path}: no such file")
        self.cap = opener(self.path)
        if not self.cap.isOpened():
            raise CaptureError(f"{self.path}: not a video this build can decode")
        fps = self.cap.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 0 < fps < 1000 else 25.0
        count = self.cap.get(cv2.CAP_PROP_FRAME_COUNT)
        self.declared = int(count) if count and count > 0 else None
        width = int(self.cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(self.cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self.size = (width, height)
        self.status = Status()
        self.check = FrameCheck()

    def frames(self) -> Iterator[Frame]:
        index = 0
        failed = 0  # reads in a row that gave nothing
        self.status.set("online")
        try:
            while True:
                ok, image = self.cap.read()
                if not ok:
                    # A frame the decoder refuses reads as a failure, and the next one reads
                    # again; the end of the file reads as failures for ever.
                    failed += 1
                    if failed > MAX_FAILED_READS:
                        break
                    index += 1
                    continue
                # The failures just passed were corrupt frames, not the end.
                self.status.corrupt += failed
                failed = 0
                position = index
                index += 1
                if not self.check.ok(image):
                    self.status.corrupt += 1
                    continue
                assert image is not None
                self.status.frames += 1
                self.status.last_frame_at = position / self.fps
                yield Frame(position, position / self.fps, image)
        finally:
            self.cap.release()
        index -= failed
        if self.declared is not None and index < self.declared * 0.98 - 1:
            self.status.set("ended", f"truncated: {index} of {self.declared} frames")
        else:
            self.status.set("ended")


MAX_FAILED_READS = 25  # failed reads in a row that end a file


class Backoff:
    def __init__(self, first: float = 1.0, most: float = 30.0) -> None:
        self.first, self.most = first, most
        self.delay = first

    def next(self) -> float:
        delay = self.delay
        self.delay = min(self.most, self.delay * 2)
        return delay

    def reset(self) -> None:
        self.delay = self.first


class Stream:
    """A camera that is reopened whenever it fails, for as long as ``stop`` is not set.

    ``timeout_s`` bounds the open and each read (FFmpeg's opener is given it); a read that gives
    nothing for that long is a stall, and one that fails sooner is the camera hanging up.
    """

    def __init__(
        self,
        url: str,
        *,
        opener: Opener | None = None,
        timeout_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        backoff: Backoff | None = None,
        probe: Callable[[str], str | None] | None = None,
    ) -> None:
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be more than 0 seconds, not {timeout_s}")
        self.url = url
        self.timeout_s = timeout_s
        self.opener: Opener = opener or (lambda u: open_ffmpeg(u, round(timeout_s * 1000)))
        self.clock = clock
        self.sleep = sleep
        self.backoff = backoff or Backoff()
        self.probe = probe if probe is not None else probe_reason
        self.status = Status()

    def frames(self, stop: threading.Event | None = None) -> Iterator[Frame]:
        stop = stop or threading.Event()
        start = self.clock()
        index = 0
        while not stop.is_set():
            began = self.clock()
            cap = self.opener(self.url)
            if not cap.isOpened():
                cap.release()
                waited = self.clock() - began
                # The probe only runs when the open failed: it names what the open cannot tell.
                reason = self.probe(self.url)
                if reason is None:
                    reason = (
                        self._stalled() if self._timed_out(waited) else "cannot open the stream"
                    )
                self.status.set("offline", reason)
                self._wait(stop)
                continue
            check = FrameCheck()
            got = 0
            waited = 0.0
            try:
                while not stop.is_set():
                    began = self.clock()
                    ok, image = cap.read()
                    if not ok:
                        waited = self.clock() - began
                        break
                    if not check.ok(image):
                        self.status.corrupt += 1
                        continue
                    assert image is not None
                    if got == 0:
                        self.status.set("online")
                        self.backoff.reset()
                    got += 1
                    now = self.clock()
                    self.status.frames += 1
                    self.status.last_frame_at = now
                    yield Frame(index, now - start, image)
                    index += 1
            finally:
                cap.release()
            if stop.is_set():
                break
            # OpenCV reads a timeout and an end alike; how long the read took tells them apart.
            if self._timed_out(waited):
                self.status.set("offline", self._stalled())
            else:
                self.status.set("offline", "ended" if got else "ended before the first frame")
            self._wait(stop)
        self.status.set("ended")

    def _timed_out(self, waited: float) -> bool:
        # FFmpeg's timeout fires a little early or late; half of it is no ordinary frame gap.
        return waited >= self.timeout_s / 2

    def _stalled(self) -> str:
        return f"stalled: no frame for {self.timeout_s:g} s"

    def _wait(self, stop: threading.Event) -> None:
        self.status.reconnects += 1
        if not stop.is_set():
            self.sleep(self.backoff.next())


# What OpenCV's FFmpeg takes apart from RTP and decodes (VP9 it does not, nor JPEG 2000).
_SUPPORTED = {"H264", "H265", "HEVC", "JPEG", "MP4V-ES", "MJPEG", "VP8", "THEORA", "RAW", "MP2T"}


def probe_reason(url: str, timeout: float = 3.0) -> str | None:
    """Why an RTSP URL does not play, from one DESCRIBE: unreachable, wrong credentials, not found,
    or an unsupported codec. None when the probe finds nothing wrong or the URL is not RTSP."""
    parts = urlsplit(url)
    if parts.scheme not in ("rtsp", "rtsps") or not parts.hostname:
        return None
    port = parts.port or 554
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            clean = parts._replace(netloc=f"{parts.hostname}:{port}").geturl()
            auth = ""
            if parts.username:
                import base64

                raw = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
                auth = f"Authorization: Basic {base64.b64encode(raw).decode()}\r\n"
            request = (
                f"DESCRIBE {clean} RTSP/1.0\r\nCSeq: 1\r\nAccept: application/sdp\r\n{auth}"
                "User-Agent: mailwarden-vision\r\n\r\n"
            )
            sock.sendall(request.encode())
            reply = _read_reply(sock)
    except TimeoutError:
        return "unreachable: no answer"
    except OSError as exc:
        return f"unreachable: {exc.strerror or exc}"
    head, _, body = reply.partition("\r\n\r\n")
    match = re.match(r"RTSP/1\.\d (\d{3})", head)
    if not match:
        return "not an RTSP server"
    code = int(match.group(1))
    if code == 401:
        return "wrong user name or password"
    if code == 404:
        return "no such stream"
    if code >= 400:
        return f"refused: RTSP {code}"
    codecs = re.findall(r"a=rtpmap:\d+ ([A-Za-z0-9-]+)/", body)
    video = body.split("m=video", 1)[1] if "m=video" in body else ""
    video_codecs = re.findall(r"a=rtpmap:\d+ ([A-Za-z0-9-]+)/", video) or codecs
    if video_codecs and not any(c.upper() in _SUPPORTED for c in video_codecs):
        return f"unsupported codec: {', '.join(video_codecs)}"
    return None


def _read_reply(sock: socket.socket) -> str:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 65536:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    length = re.search(r"(?im)^content-length:\s*(\d+)", head)
    if length:
        want = int(length.group(1))
        body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
        while len(body) < want:
            chunk = sock.recv(4096)
            if not chunk:
                break
            body += chunk
        data = head.encode("latin-1") + b"\r\n\r\n" + body
    return data.decode("latin-1")
