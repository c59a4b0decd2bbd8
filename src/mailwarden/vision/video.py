"""A video file through the same pipeline as a live camera, as fast as the CPU allows."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from mailwarden.vision import config
from mailwarden.vision.capture import Frame, VideoFile
from mailwarden.vision.detect import Detector
from mailwarden.vision.evidence import Recorder
from mailwarden.vision.pipeline import Analyzer
from mailwarden.vision.rules import Event, Grant


class Sampler:
    """Picks frames at the analysis rate from a source of any rate; None keeps every frame."""

    def __init__(self, fps: float | None) -> None:
        self.period = None if fps is None else 1.0 / fps
        self.next: float | None = None

    def take(self, time_s: float) -> bool:
        if self.period is None:
            return True
        if self.next is None or time_s + 1e-6 >= self.next:
            base = time_s if self.next is None else max(self.next, time_s - self.period)
            self.next = base + self.period
            return True
        return False


def analysis_fps(rules: config.Rules, source_fps: float) -> float:
    wanted = rules.analysis.fps
    return source_fps if wanted is None else min(wanted, source_fps)


class FileRun:
    """Iterate ``events()``; afterwards ``summary()`` says what was seen."""

    def __init__(
        self,
        path: str | Path,
        rules: config.Rules,
        *,
        grants: Sequence[Grant] = (),
        detector: Detector | None = None,
        evidence: str | Path | None = None,
        start_time: dt.datetime | None = None,
        progress: Callable[[int, int | None], None] | None = None,
    ) -> None:
        self.source = VideoFile(path)
        self.rules = rules
        self.fps = analysis_fps(rules, self.source.fps)
        self.analyzer = Analyzer(
            rules,
            self.source.size,
            self.fps,
            grants=grants,
            detector=detector,
            start_time=start_time,
        )
        self.sampler = Sampler(rules.analysis.fps)
        self.recorder = (
            Recorder(evidence, rules.evidence, self.fps) if evidence is not None else None
        )
        self.progress = progress
        self.decoded = 0

    def events(self) -> Iterator[Event]:
        for frame in self.source.frames():
            self.decoded += 1
            if self.progress is not None and self.decoded % 25 == 0:
                self.progress(self.decoded, self.source.declared)
            if not self.sampler.take(frame.time_s):
                continue
            yield from self._one(frame)
        if self.recorder is not None:
            self.recorder.finish()

    def _one(self, frame: Frame) -> list[Event]:
        events = self.analyzer.process(frame.image, frame.index, frame.time_s)
        if self.recorder is not None:
            self.recorder.push(frame.time_s, frame.image)
            for e in events:
                e.extra.update(self.recorder.record(e, frame.image))
        return events

    def summary(self) -> dict[str, Any]:
        s = self.analyzer.summary.to_json()
        status = self.source.status
        out: dict[str, Any] = {
            "frames": self.decoded,
            **s,
            "fps": round(self.source.fps, 3),
            "analysis_fps": round(self.fps, 3),
            "duration_s": round(self.decoded / self.source.fps, 3),
            "size": list(self.source.size),
            "corrupt_frames": status.corrupt,
        }
        if status.reason:
            out["problem"] = status.reason
        out["line_counts"] = self.analyzer.engine.counts
        return out
