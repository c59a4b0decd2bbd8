"""A video file played as a camera: at its own pace (or faster), once or in a loop.

Frames carry the video's own time, which runs on across loops, so dwell and loitering rules see
the seconds the video shows whatever the playing speed. A speed of 0 plays as fast as the CPU
allows (the tests); 1 plays in real time (a demo camera). Used as a camera group's ``source``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2

from mailwarden.vision.capture import (
    MAX_FAILED_READS,
    CaptureError,
    Frame,
    FrameCheck,
    Opener,
    Status,
    open_any,
)


def file_path(url: str) -> Path | None:
    """The file a camera's URL names (a full path or a file:// URL); None for a stream."""
    if url.startswith("file://"):
        return Path(url[len("file://") :])
    if url.startswith("/"):
        return Path(url)
    return None


class FilePlayer:
    def __init__(
        self,
        path: str | Path,
        *,
        loop: bool = True,
        speed: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        opener: Opener = open_any,
    ) -> None:
        self.path = Path(path)
        self.loop = loop
        self.speed = speed
        self.clock = clock
        self.opener = opener
        self.passes = 0

    def __call__(self, stop: threading.Event, status: Status) -> Iterator[Frame]:
        base = 0.0  # video seconds played before this pass
        index = 0
        started = self.clock()
        while not stop.is_set():
            if not self.path.is_file():
                status.set("offline", f"{self.path}: no such file")
                raise CaptureError(f"{self.path}: no such file")
            cap = self.opener(str(self.path))
            if not cap.isOpened():
                cap.release()
                status.set("offline", f"{self.path}: not a video this build can decode")
                raise CaptureError(f"{self.path}: not a video this build can decode")
            fps = cap.get(cv2.CAP_PROP_FPS)
            fps = fps if fps and 0 < fps < 1000 else 25.0
            check = FrameCheck()
            got = failed = 0
            try:
                while not stop.is_set():
                    ok, image = cap.read()
                    if not ok:
                        failed += 1
                        if failed > MAX_FAILED_READS:
                            break
                        continue
                    status.corrupt += failed
                    failed = 0
                    if not check.ok(image):
                        status.corrupt += 1
                        continue
                    assert image is not None
                    t = base + got / fps
                    got += 1
                    if status.state != "online":
                        status.set("online")
                    if self.speed > 0:
                        wait = started + t / self.speed - self.clock()
                        if wait > 0 and stop.wait(wait):
                            break
                    status.frames += 1
                    status.last_frame_at = self.clock()
                    yield Frame(index, t, image)
                    index += 1
            finally:
                cap.release()
            if stop.is_set():
                return
            if got == 0:
                status.set("offline", f"{self.path}: no frames could be decoded")
                raise CaptureError(f"{self.path}: no frames could be decoded")
            self.passes += 1
            base += got / fps
            if not self.loop:
                status.set("ended")
                return
