"""Evidence for each event: a JPEG snapshot with the event's box, and a clip from a ring buffer
of the last seconds (pre-roll) plus the seconds after (post-roll) that browsers play: H.264 in
MP4, or VP8 in WebM, written through PyAV (OpenCV's own FFmpeg build has no H.264 encoder)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from av.video.stream import VideoStream

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
        write_clip(clip.path, clip.frames, self.fps, self.cfg.clip_format)
        self.written.append(clip.path)


# Encoder settings per format: quick enough for the camera's thread, sharp enough to identify.
_CODECS: dict[str, tuple[str, dict[str, str]]] = {
    "mp4": ("libx264", {"preset": "veryfast", "crf": "23"}),
    "webm": ("libvpx", {"deadline": "realtime", "cpu-used": "8", "crf": "10", "b": "2M"}),
}


def write_clip(path: Path, frames: list[np.ndarray], fps: float, fmt: str) -> None:
    """Frames (BGR or grey) as a clip browsers play: 4:2:0 H.264 in MP4 with its index at the
    front (faststart, so playback starts while it downloads), or VP8 in WebM."""
    codec, options = _CODECS[fmt]
    h, w = frames[0].shape[:2]
    # 4:2:0 halves the colour's resolution, so the picture's sides must be even.
    h, w = h - h % 2, w - w % 2
    container_options = {"movflags": "+faststart"} if fmt == "mp4" else {}
    rate = Fraction(max(1.0, fps)).limit_denominator(1001)
    with av.open(str(path), mode="w", format=fmt, options=container_options) as container:
        stream = container.add_stream(codec, rate=rate, options=options)
        assert isinstance(stream, VideoStream)  # a video codec gives a video stream
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for index, image in enumerate(frames):
            picture = np.ascontiguousarray(image[:h, :w])
            frame = av.VideoFrame.from_ndarray(
                picture, format="gray" if picture.ndim == 2 else "bgr24"
            )
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
