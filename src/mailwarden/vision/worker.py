"""Several cameras at once, each on its own thread, so one camera's failure (a stream that will
not open, a frame the decoder chokes on, a bug in a rule) never stops the others: the failing
camera is marked offline with the reason and restarted after a backoff."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mailwarden.vision import config
from mailwarden.vision.capture import Backoff, Opener, Status, Stream
from mailwarden.vision.pipeline import Analyzer
from mailwarden.vision.rules import Event, Grant
from mailwarden.vision.video import Sampler

OnEvent = Callable[[str, Event], None]


@dataclass
class Camera:
    name: str
    url: str
    rules: config.Rules
    # The source's frame rate; a live stream is sampled down to the rules' analysis rate.
    fps: float = 25.0
    grants: Sequence[Grant] = ()
    # None: FFmpeg with ``timeout_s`` for the open and each read.
    opener: Opener | None = None
    timeout_s: float = 5.0
    status: Status = field(default_factory=Status)


class CameraGroup:
    def __init__(
        self,
        cameras: Sequence[Camera],
        on_event: OnEvent,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        probe: Callable[[str], str | None] | None = None,
    ) -> None:
        self.cameras = list(cameras)
        self.on_event = on_event
        self.clock = clock
        self.stop_event = threading.Event()
        # Waiting for a backoff ends early when the group stops.
        self.sleep = sleep or self._wait
        self.probe = probe
        self.threads: list[threading.Thread] = []
        self.errors: dict[str, int] = {c.name: 0 for c in self.cameras}

    def _wait(self, seconds: float) -> None:
        self.stop_event.wait(seconds)

    def start(self) -> None:
        for camera in self.cameras:
            thread = threading.Thread(
                target=self._run, args=(camera,), name=f"camera-{camera.name}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout)

    def _run(self, camera: Camera) -> None:
        backoff = Backoff()
        while not self.stop_event.is_set():
            stream = Stream(
                camera.url,
                opener=camera.opener,
                timeout_s=camera.timeout_s,
                clock=self.clock,
                sleep=self.sleep,
                probe=self.probe,
            )
            stream.status = camera.status
            try:
                self._analyse(camera, stream)
            except Exception as exc:  # one camera's fault stays with it
                self.errors[camera.name] += 1
                camera.status.set("offline", f"error: {type(exc).__name__}: {exc}")
                self.sleep(backoff.next())

    def _analyse(self, camera: Camera, stream: Stream) -> None:
        analyzer: Analyzer | None = None
        sampler = Sampler(camera.rules.analysis.fps)
        for frame in stream.frames(self.stop_event):
            if analyzer is None:
                h, w = frame.image.shape[:2]
                fps = camera.rules.analysis.fps or camera.fps
                analyzer = Analyzer(camera.rules, (w, h), fps, grants=camera.grants)
            if not sampler.take(frame.time_s):
                continue
            for event in analyzer.process(frame.image, frame.index, frame.time_s):
                self.on_event(camera.name, event)
