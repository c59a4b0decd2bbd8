"""Evidence for each event: a JPEG snapshot with the event's box, and an MP4 clip from a ring
buffer of the last seconds (pre-roll) plus the seconds after (post-roll)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from mailwarden.vision import config
from mailwarden.vision.rules import Event


@dataclass
class _Clip:
    path: Path
    until: float
    frames: list[np.ndarray] = field(default_factory=list)


class Recorder:
    def __init__(self, folder: str | Path, cfg: config.Evidence, fps: float) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cfg = cfg
        self.fps = fps
        self.ring: deque[tuple[float, np.ndarray]] = deque()
        self.pending: list[_Clip] = []
        self.written: list[Path] = []
        self.count = 0

    def push(self, now: float, image: np.ndarray) -> None:
        """Every analysed frame passes here; the ring keeps references, not copies."""
        self.ring.append((now, image))
        while self.ring and now - self.ring[0][0] > self.cfg.pre_roll_s:
            self.ring.popleft()
        for clip in list(self.pending):
            clip.frames.append(image)
            if now >= clip.until:
                self._write(clip)

    def record(self, event: Event, image: np.ndarray) -> dict[str, str]:
        """Write the snapshot now and start the clip; returns the files' paths for the event."""
        self.count += 1
        stem = f"{event.frame:07d}-{event.type}-{self.count}"
        snap = image.copy()
        x0, y0, x1, y1 = (int(v) for v in event.bbox)
        cv2.rectangle(snap, (x0, y0), (x1, y1), (0, 0, 255), 2)
        snapshot = self.folder / f"{stem}.jpg"
        cv2.imwrite(str(snapshot), snap, [cv2.IMWRITE_JPEG_QUALITY, self.cfg.jpeg_quality])
        suffix = self.cfg.clip_format
        clip = _Clip(self.folder / f"{stem}.{suffix}", event.time_s + self.cfg.post_roll_s)
        clip.frames = [f for _, f in self.ring]
        if not clip.frames or clip.frames[-1] is not image:
            clip.frames.append(image)
        self.pending.append(clip)
        if self.cfg.post_roll_s == 0:
            self._write(clip)
        return {"snapshot": str(snapshot), "clip": str(clip.path)}

    def finish(self) -> None:
        """The video ended: clips still waiting for post-roll are written with what there is."""
        for clip in list(self.pending):
            self._write(clip)

    def _write(self, clip: _Clip) -> None:
        self.pending.remove(clip)
        if not clip.frames:
            return
        h, w = clip.frames[0].shape[:2]
        fourcc = cv2.VideoWriter.fourcc(*("VP80" if self.cfg.clip_format == "webm" else "mp4v"))
        writer = cv2.VideoWriter(str(clip.path), fourcc, max(1.0, self.fps), (w, h))
        try:
            for image in clip.frames:
                if image.ndim == 2:
                    image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
                writer.write(image)
        finally:
            writer.release()
        self.written.append(clip.path)
