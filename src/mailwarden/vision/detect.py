"""Person detectors: the pluggable interface, OpenCV's people HOG run on regions only, and a
user-supplied ONNX model through onnxruntime (an optional dependency)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

from mailwarden.vision.track import Box


@dataclass(frozen=True)
class Detection:
    box: Box  # in the frame's pixels
    label: str
    score: float


class Detector(Protocol):
    """Finds people in a whole frame (BGR, HxWx3 uint8). The analyser calls it only on frames
    that the motion gate lets through."""

    def detect(self, frame: np.ndarray) -> list[Detection]: ...


class HogVerifier:
    """Asks OpenCV's default people HOG whether a candidate's region holds a person. Only the
    region, padded and scaled to about the detector's window, is searched, so one call costs a few
    milliseconds instead of the ~100 ms of a full frame."""

    def __init__(self) -> None:
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(
            np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32)
        )

    def is_person(self, frame: np.ndarray, box: Box) -> bool:
        fh, fw = frame.shape[:2]
        x0, y0, x1, y1 = box
        pw, ph = (x1 - x0) * 0.25, (y1 - y0) * 0.15
        xa, ya = max(0, int(x0 - pw)), max(0, int(y0 - ph))
        xb, yb = min(fw, int(x1 + pw)), min(fh, int(y1 + ph))
        if xb - xa < 8 or yb - ya < 16:
            return False
        crop = frame[ya:yb, xa:xb]
        # The window is 64x128; a person filling the region is made about 150 px tall.
        scale = 150.0 / crop.shape[0]
        crop = cv2.resize(crop, (max(72, int(crop.shape[1] * scale)), 150))
        found, _ = self.hog.detectMultiScale(crop, winStride=(8, 8), padding=(8, 8), scale=1.1)
        return len(found) > 0


class HogScanner:
    """Finds people with OpenCV's default people HOG in one region of a frame, searched as if the
    whole frame were ``height`` pixels tall: a person needs about 96 px of that height (the body
    in the detector's 64x128 window) to be found, so the cost stays that of a small image while
    the region holds whole people at any size above that. A region smaller than the window is
    enlarged to fit it."""

    WINDOW = (64, 128)

    def __init__(self, height: int = 400, min_score: float = 0.0) -> None:
        self.height = height
        self.min_score = min_score
        self.hog = cv2.HOGDescriptor()
        self.hog.setSVMDetector(
            np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32)
        )

    def people(self, frame: np.ndarray, region: Box | None = None) -> list[Detection]:
        fh, fw = frame.shape[:2]
        x0, y0, x1, y1 = region if region is not None else (0.0, 0.0, float(fw), float(fh))
        xa, ya = max(0, int(x0)), max(0, int(y0))
        xb, yb = min(fw, int(np.ceil(x1))), min(fh, int(np.ceil(y1)))
        if xb - xa < 8 or yb - ya < 16:
            return []
        crop = frame[ya:yb, xa:xb]
        scale = self.height / fh
        # The region must hold the window, or nothing can be found in it.
        scale = max(
            scale, (self.WINDOW[1] + 8) / crop.shape[0], (self.WINDOW[0] + 8) / crop.shape[1]
        )
        size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
        image = cv2.resize(
            crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        )
        # A fine stride and scale step: people seen from above or half-turned score near the
        # threshold, and a coarse search misses them on most frames.
        found, weights = self.hog.detectMultiScale(
            image, hitThreshold=self.min_score, winStride=(4, 4), padding=(8, 8), scale=1.05
        )
        out = []
        for (x, y, w, h), score in zip(
            np.asarray(found).reshape(-1, 4), np.asarray(weights).ravel(), strict=False
        ):
            box = (
                xa + float(x) / scale,
                ya + float(y) / scale,
                xa + float(x + w) / scale,
                ya + float(y + h) / scale,
            )
            out.append(Detection(_body(box), "person", float(score)))
        # The HOG's own grouping leaves a person found at two scales as two boxes, one inside
        # the other: the better one stays.
        kept: list[Detection] = []
        for d in sorted(out, key=lambda d: -d.score):
            if all(_inside(d.box, k.box) <= 0.6 for k in kept):
                kept.append(d)
        return kept


def _inside(a: Box, b: Box) -> float:
    """Share of the smaller of two boxes that the other covers."""
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


def _body(box: Box) -> Box:
    """The person inside a HOG window: the window leaves a margin around the body (the default
    detector's people are about 96 of its 128 px tall and half its width)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return (x0 + 0.2 * w, y0 + 0.1 * h, x1 - 0.2 * w, y1 - 0.06 * h)


class OnnxDetector:
    """Runs an ONNX model that takes one float32 image [1, 3, H, W] (RGB, 0..1) and returns rows
    [x0, y0, x1, y1, score, class] in the input's pixels (the layout of detectors exported with
    their non-maximum suppression). ``person_class`` picks the people."""

    def __init__(
        self,
        model: str | Path | bytes,
        person_class: int = 0,
        min_score: float = 0.5,
        providers: list[str] | None = None,
    ) -> None:
        try:
            import onnxruntime  # type: ignore[import-untyped]
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise RuntimeError(
                "the ONNX detector needs onnxruntime: pip install 'mailwarden[onnx]'"
            ) from exc
        source: Any = model if isinstance(model, bytes) else str(model)
        self.session = onnxruntime.InferenceSession(
            source, providers=providers or ["CPUExecutionProvider"]
        )
        first = self.session.get_inputs()[0]
        self.input_name = first.name
        shape = first.shape
        self.height = int(shape[2]) if isinstance(shape[2], int) else 320
        self.width = int(shape[3]) if isinstance(shape[3], int) else 320
        self.person_class = person_class
        self.min_score = min_score

    def detect(self, frame: np.ndarray) -> list[Detection]:
        fh, fw = frame.shape[:2]
        image = cv2.resize(frame, (self.width, self.height))
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB).astype(np.float32) / 255.0
        tensor = np.ascontiguousarray(image.transpose(2, 0, 1)[None])
        (rows,) = self.session.run(None, {self.input_name: tensor})[:1]
        rows = np.asarray(rows, dtype=np.float32).reshape(-1, 6)
        sx, sy = fw / self.width, fh / self.height
        found = []
        for x0, y0, x1, y1, score, cls in rows:
            if score < self.min_score or int(cls) != self.person_class:
                continue
            box = (
                float(np.clip(x0 * sx, 0, fw)),
                float(np.clip(y0 * sy, 0, fh)),
                float(np.clip(x1 * sx, 0, fw)),
                float(np.clip(y1 * sy, 0, fh)),
            )
            if box[2] > box[0] and box[3] > box[1]:
                found.append(Detection(box, "person", float(score)))
        return found
