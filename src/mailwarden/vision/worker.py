"""Several cameras at once, each on its own thread, so one camera's failure (a stream that will
not open, a frame the decoder chokes on, a bug in a rule) never stops the others: the failing
camera is marked offline with the reason and restarted after a backoff.

Cameras can be added, removed and replaced while the others run (``add``, ``remove``,
``replace``), which is how a worker applies a new configuration without a restart. A camera may
carry its own frame ``source`` (a file played in a loop), a ``prepare`` hook that turns its
rules into the first frame's pixels, and an ``evidence`` folder, in which case each event is
handed over with its snapshot and clip written."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mailwarden.vision import config
from mailwarden.vision.capture import Backoff, Frame, Opener, Status, Stream
from mailwarden.vision.evidence import Recorder
from mailwarden.vision.pipeline import Analyzer
from mailwarden.vision.rules import Event, Grant
from mailwarden.vision.video import Sampler

OnEvent = Callable[[str, Event], None]
# Frames of a camera until the event is set; the camera's status is passed to keep up to date.
Source = Callable[[threading.Event, Status], Iterator[Frame]]
# The rules for a frame size, given the first frame's size and time: a worker's zones arrive as
# fractions of the frame, and its after-hours rules need the wall-clock time of the start.
Prepare = Callable[[tuple[int, int], float], config.Rules]


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
    source: Source | None = None
    prepare: Prepare | None = None
    evidence: Path | None = None
    # The latest decoded frame, for the status report's snapshot.
    latest: np.ndarray | None = field(default=None, repr=False)


@dataclass
class _Running:
    camera: Camera
    stop: threading.Event
    thread: threading.Thread


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
        # Waiting for a backoff ends early when the camera or the group stops.
        self.custom_sleep = sleep
        self.sleep = sleep or self._wait
        self.probe = probe
        self.threads: list[threading.Thread] = []
        self.errors: dict[str, int] = {c.name: 0 for c in self.cameras}
        self.running: dict[str, _Running] = {}
        self.lock = threading.Lock()

    def _wait(self, seconds: float) -> None:
        self.stop_event.wait(seconds)

    def start(self) -> None:
        for camera in list(self.cameras):
            self._start(camera)

    def _start(self, camera: Camera) -> None:
        stop = threading.Event()
        thread = threading.Thread(
            target=self._run, args=(camera, stop), name=f"camera-{camera.name}", daemon=True
        )
        with self.lock:
            self.errors.setdefault(camera.name, 0)
            self.running[camera.name] = _Running(camera, stop, thread)
            self.threads.append(thread)
        thread.start()

    def add(self, camera: Camera) -> None:
        """Start one more camera beside the running ones."""
        if camera.name in self.running:
            raise ValueError(f"camera {camera.name!r} is running already")
        self.cameras.append(camera)
        self._start(camera)

    def remove(self, name: str, timeout: float = 10.0) -> Camera | None:
        """Stop camera ``name`` (its pending evidence is written first); the others run on."""
        with self.lock:
            running = self.running.pop(name, None)
        if running is None:
            return None
        running.stop.set()
        running.thread.join(timeout)
        self.cameras = [c for c in self.cameras if c is not running.camera]
        return running.camera

    def replace(self, camera: Camera, timeout: float = 10.0) -> None:
        """Restart one camera with new settings."""
        self.remove(camera.name, timeout)
        self.add(camera)

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        with self.lock:
            running = list(self.running.values())
        for r in running:
            r.stop.set()
        for thread in list(self.threads):
            thread.join(timeout)

    def _stopped(self, stop: threading.Event) -> bool:
        return stop.is_set() or self.stop_event.is_set()

    def _run(self, camera: Camera, stop: threading.Event | None = None) -> None:
        stop = stop or self.stop_event
        sleep = self.custom_sleep or _waiter(stop)
        backoff = Backoff()
        while not self._stopped(stop):
            try:
                if camera.source is not None:
                    self._analyse(camera, camera.source(stop, camera.status), stop)
                    if camera.status.state == "ended":
                        return  # a file played once has nothing more to give
                    continue
                stream = Stream(
                    camera.url,
                    opener=camera.opener,
                    timeout_s=camera.timeout_s,
                    clock=self.clock,
                    sleep=sleep,
                    probe=self.probe,
                )
                stream.status = camera.status
                self._analyse(camera, stream.frames(_Either(stop, self.stop_event)), stop)
            except Exception as exc:  # one camera's fault stays with it
                self.errors[camera.name] = self.errors.get(camera.name, 0) + 1
                camera.status.set("offline", f"error: {type(exc).__name__}: {exc}")
                sleep(backoff.next())

    def _analyse(
        self, camera: Camera, frames: Iterator[Frame], stop: threading.Event | None = None
    ) -> None:
        analyzer: Analyzer | None = None
        recorder: Recorder | None = None
        # Events wait here until their clip's post-roll is written.
        waiting: list[tuple[Event, str | None]] = []
        rules = camera.rules
        sampler = Sampler(rules.analysis.fps)
        try:
            for frame in frames:
                camera.latest = frame.image
                if analyzer is None:
                    h, w = frame.image.shape[:2]
                    if camera.prepare is not None:
                        rules = camera.prepare((w, h), frame.time_s)
                        sampler = Sampler(rules.analysis.fps)
                    fps = rules.analysis.fps or camera.fps
                    analyzer = Analyzer(rules, (w, h), fps, grants=camera.grants)
                    if camera.evidence is not None:
                        # A folder per run: a restarted camera numbers its files afresh, and
                        # must not overwrite evidence still waiting to be sent.
                        run = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
                        recorder = Recorder(camera.evidence / run, rules.evidence, fps)
                if not sampler.take(frame.time_s):
                    continue
                events = analyzer.process(frame.image, frame.index, frame.time_s)
                if recorder is None:
                    for event in events:
                        self.on_event(camera.name, event)
                    continue
                recorder.push(frame.time_s, frame.image)
                for event in events:
                    paths = recorder.record(event, frame.image)
                    event.extra.update(paths)
                    waiting.append((event, paths.get("clip")))
                waiting = self._hand_over(camera, recorder, waiting)
                if stop is not None and self._stopped(stop):
                    break
        finally:
            if recorder is not None:
                recorder.finish()
                self._hand_over(camera, recorder, waiting, finished=True)

    def _hand_over(
        self,
        camera: Camera,
        recorder: Recorder,
        waiting: list[tuple[Event, str | None]],
        finished: bool = False,
    ) -> list[tuple[Event, str | None]]:
        pending = {str(c.path) for c in recorder.pending}
        rest: list[tuple[Event, str | None]] = []
        for event, clip in waiting:
            if finished or clip is None or clip not in pending:
                if clip is not None and not Path(clip).is_file():
                    event.extra.pop("clip", None)
                self.on_event(camera.name, event)
            else:
                rest.append((event, clip))
        return rest


def _waiter(stop: threading.Event) -> Callable[[float], None]:
    def wait(seconds: float) -> None:
        stop.wait(seconds)

    return wait


class _Either(threading.Event):
    """Set when either of two events is: a camera stops when it or its whole group does."""

    def __init__(self, one: threading.Event, two: threading.Event) -> None:
        super().__init__()
        self.one, self.two = one, two

    def is_set(self) -> bool:
        return self.one.is_set() or self.two.is_set()
