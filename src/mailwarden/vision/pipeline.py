"""One camera's analysis: motion gate, candidates, tracks, stationary objects, rules.

Each analysed frame goes first through the motion gate: a background model on a frame about
160 px wide. When nothing moved, the tracks hold still and only the gate's cost is paid; the
stationary-object model is refreshed once a second. When something moved, foreground blobs at the
work width become candidates, are assigned to Kalman tracks, and a track that moves like a person
and has a person's size counts as a person. Candidates that stay in place (someone standing, or
there from the first frame) and blobs of people side by side are shown, on their regions only,
to OpenCV's people HOG, which confirms or splits them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from mailwarden.vision import config
from mailwarden.vision.detect import Detector, HogScanner
from mailwarden.vision.rules import Event, Grant, Person, RuleEngine, StaticObject
from mailwarden.vision.track import Box, Track, Tracker, center, gap, iou

WARM_UP = 3  # frames that only teach the models the scene
DIFF = 25.0  # grey levels between a pixel and a background for it to count as different


def _size(frame_size: tuple[int, int], width: int) -> tuple[int, int]:
    w, h = frame_size
    width = min(width, w)
    return width, max(8, round(h * width / w))


class MotionGate:
    """Says whether anything moved, from a tiny grey frame against its running average (the
    way Frigate's motion detector works). It costs a few hundredths of a millisecond; the
    background-subtraction model at the work width runs only when it says yes."""

    def __init__(
        self,
        frame_size: tuple[int, int],
        cfg: config.Analysis,
        fps: float,
        masks: Sequence[Sequence[tuple[float, float]]] = (),
    ) -> None:
        self.size = _size(frame_size, cfg.gate_width)
        self.keep = keep_mask(frame_size, self.size, masks, np.float32)
        # The average follows the scene over about a second, so a change that stays (a package
        # put down, a light switched on) stops counting as motion soon after.
        self.alpha = min(1.0, 1.0 / max(1.0, fps * GATE_MEMORY_S))
        self.average: np.ndarray | None = None
        self.threshold = cfg.motion_fraction * self.size[0] * self.size[1]
        # The last frame the gate saw, as it saw it.
        self.last: np.ndarray | None = None

    def small(self, frame: np.ndarray) -> np.ndarray:
        # Nearest-neighbour sampling and grey, so that the gate costs next to nothing; the blur
        # evens out the sensor noise that sampling lets through.
        small = cv2.resize(frame, self.size, interpolation=cv2.INTER_NEAREST)
        if small.ndim == 3:
            small = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
        return np.asarray(cv2.GaussianBlur(small, (5, 5), 0), np.float32)

    def moved(self, frame: np.ndarray) -> bool:
        small = self.last = self.small(frame)
        if self.average is None:
            self.average = small
            return True
        diff = cv2.absdiff(small, self.average)
        cv2.accumulateWeighted(small, self.average, self.alpha)
        _, moving = cv2.threshold(diff, GATE_DIFF, 1.0, cv2.THRESH_BINARY)
        if self.keep is not None:
            moving = cv2.multiply(moving, self.keep)
        return bool(cv2.countNonZero(moving) > self.threshold)


def keep_mask(
    frame_size: tuple[int, int],
    size: tuple[int, int],
    masks: Sequence[Sequence[tuple[float, float]]],
    dtype: type = np.uint8,
) -> np.ndarray | None:
    """1 where the image counts and 0 under the masks, at ``size``; None without masks."""
    if not masks:
        return None
    sx, sy = size[0] / frame_size[0], size[1] / frame_size[1]
    keep = np.ones((size[1], size[0]), np.uint8)
    for polygon in masks:
        points = np.array([[round(x * sx), round(y * sy)] for x, y in polygon], np.int32)
        cv2.fillPoly(keep, [points], 0)
    return keep.astype(dtype)


@dataclass
class _Static:
    id: int
    box: Box
    since: float


class Stationary:
    """New objects that stay: pixels that differ from a long-term background yet match a
    short-term one. The long-term model learns over minutes, so a package put down stays
    different from it, while the short-term one absorbs it in a few seconds."""

    def __init__(self, size: tuple[int, int], cfg: config.Analysis) -> None:
        self.size = size
        self.cfg = cfg
        self.long: np.ndarray | None = None
        self.short: np.ndarray | None = None
        self.age = np.zeros((size[1], size[0]), np.float32)
        self.still = np.zeros((size[1], size[0]), bool)
        # Where ghosts were healed on the last update, so the tracks they made can be let go.
        self.healed: np.ndarray | None = None
        self.changed = np.zeros((size[1], size[0]), np.uint8)
        self.objects: list[_Static] = []
        self.last_t: float | None = None
        self.kernel = np.ones((3, 3), np.uint8)
        self.keep: np.ndarray | None = None

    def update(self, image: np.ndarray, now: float, settle: bool = False) -> None:
        """Learn a frame. ``settle``: the scene has just gone still, so whatever is there now
        is the short-term background at once."""
        f = image.astype(np.float32)
        if self.long is None or self.short is None or self.last_t is None:
            self.long, self.short, self.last_t = f.copy(), f.copy(), now
            return
        dt_s = max(0.0, now - self.last_t)
        self.last_t = now
        if settle:
            self.short = f.copy()
        # Differences are taken before the models learn this frame.
        changed = _differs(f, self.long)
        moving = _differs(f, self.short)
        # Thin changes are edges shifting when the camera shakes, not objects.
        opened = cv2.morphologyEx(changed.astype(np.uint8), cv2.MORPH_OPEN, self.kernel)
        changed = opened.astype(bool)
        still = changed & ~moving
        healed_all = None
        if still.any():
            healed = self._heal_ghosts(image, still)
            if healed is not None:
                changed &= ~healed
                still &= ~healed
                healed_all = healed
        if self.keep is not None:
            changed &= self.keep.astype(bool)
            still &= self.keep.astype(bool)
        self.changed = changed.astype(np.uint8)
        self.age = (self.age + np.float32(dt_s)) * self.changed
        cv2.accumulateWeighted(f, self.short, min(1.0, dt_s / self.cfg.short_term_s))
        # Learning over minutes, the long-term model keeps a left object (or a person standing
        # still) different from it for as long as the rules need.
        cv2.accumulateWeighted(f, self.long, min(1.0, dt_s / self.cfg.long_term_s))
        self.still = still
        self.healed = healed_all

    def _heal_ghosts(self, image: np.ndarray, still: np.ndarray) -> np.ndarray | None:
        """A ghost is where the background model is wrong: something there when the model was
        made has gone. The frame then shows no edge along the region's outline while the model
        does; a real object left behind shows its own outline. Ghosts are copied into both models
        at once."""
        assert self.long is not None and self.short is not None
        n, labels, stats, _ = cv2.connectedComponentsWithStats(
            still.astype(np.uint8), connectivity=8
        )
        if n <= 1:
            return None
        frame_edges = _edges(image)
        model_edges = _edges(self.long.astype(np.uint8))
        healed = np.zeros(still.shape, bool)
        for i in range(1, n):
            if stats[i, cv2.CC_STAT_AREA] < 20:
                continue
            x, y, w, h = (int(v) for v in stats[i, :4])
            x0, y0 = max(0, x - 2), max(0, y - 2)
            x1, y1 = min(still.shape[1], x + w + 2), min(still.shape[0], y + h + 2)
            region = (labels[y0:y1, x0:x1] == i).astype(np.uint8)
            ring = cv2.morphologyEx(region, cv2.MORPH_GRADIENT, self.kernel).astype(bool)
            if not ring.any():
                continue
            in_frame = float(frame_edges[y0:y1, x0:x1][ring].mean())
            in_model = float(model_edges[y0:y1, x0:x1][ring].mean())
            if in_model > 1.5 * in_frame + 4.0:
                grown = cv2.dilate(region, self.kernel, iterations=2).astype(bool)
                patch = self.long[y0:y1, x0:x1]
                patch[grown] = image[y0:y1, x0:x1][grown]
                self.short[y0:y1, x0:x1][grown] = image[y0:y1, x0:x1][grown]
                healed[y0:y1, x0:x1] |= grown
        return healed if healed.any() else None

    def found(
        self, now: float, people: Sequence[Box], new_id: Any, min_area: float
    ) -> list[_Static]:
        if self.last_t is None:
            return []
        still = (self.still & (self.age >= 0.5)).astype(np.uint8) * 255
        mask = cv2.morphologyEx(still, cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        boxes: list[Box] = []
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            if area < min_area:
                continue
            box = (float(x), float(y), float(x + w), float(y + h))
            # A person standing still is not an object.
            if any(iou(box, p) > 0.2 or _covers(p, box) for p in people):
                continue
            boxes.append(box)
        kept: list[_Static] = []
        for box in boxes:
            old = max(self.objects, key=lambda o: iou(o.box, box), default=None)
            if old is not None and iou(old.box, box) > 0.3:
                kept.append(_Static(old.id, box, old.since))
            else:
                x0, y0, x1, y1 = (int(v) for v in box)
                age = float(np.median(self.age[y0:y1, x0:x1])) if x1 > x0 and y1 > y0 else 0.0
                kept.append(_Static(new_id(), box, now - age))
        self.objects = kept
        return kept


PERSON_HITS = 5
VISIBLE_S = 0.5
IDLE_REFRESH_S = 10.0
GATE_MEMORY_S = 1.0
GATE_DIFF = 12.0  # grey levels, after the blur
HOG_AFTER_S = 0.6  # a candidate's age before the people HOG is asked about it
HOG_RETRY_S = 0.5  # how soon the HOG is asked again about a track it found nobody on
HOG_BODY = 96  # a person's height in the HOG's window, in the pixels it searches
LOOK_DIFF = 10.0  # grey levels, mean over a person's box at the gate's size
INHERIT_WAIT_S = 1.0  # how long a track born in a person's place waits to be told apart
REVIVE_S = 10.0  # how long a lost person may be found again where they stood, as themselves
GROUP = 0.75  # a person track wider than this share of its height may hold more than one
GROUP_S = 1.0  # for this long


def _unsteady(t: Track) -> bool:
    heights = np.asarray([h for _, h in t.sizes[-10:]])
    return bool(heights.std() > 0.3 * np.median(heights))


def _edges(image: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    gx = cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)
    return np.asarray(cv2.magnitude(gx, gy))


def _differs(image: np.ndarray, background: np.ndarray) -> np.ndarray:
    diff = cv2.absdiff(image, background)
    if diff.ndim == 3:
        # Colour counts: a green coat on a grey floor may have the floor's brightness.
        b, g, r = cv2.split(diff)
        diff = cv2.max(cv2.max(b, g), r)
    return np.asarray(diff > DIFF)


def _overlap(a: Box, b: Box) -> float:
    """Share of the smaller box that the other covers."""
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    small = min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))
    return ix * iy / small if small > 0 else 0.0


def _same(a: Box, b: Box) -> bool:
    """Whether box ``a`` is centred on the person in box ``b``."""
    (ax, ay), (bx, by) = center(a), center(b)
    return abs(ax - bx) < 0.3 * (b[2] - b[0]) and abs(ay - by) < 0.3 * (b[3] - b[1])


def _pad(box: Box, px: float, py: float, size: tuple[int, int]) -> Box:
    w, h = box[2] - box[0], box[3] - box[1]
    return (
        max(0.0, box[0] - px * w),
        max(0.0, box[1] - py * h),
        min(float(size[0]), box[2] + px * w),
        min(float(size[1]), box[3] + py * h),
    )


def _merge(regions: list[Box], box: Box) -> list[Box]:
    """``regions`` with ``box`` added, overlapping ones joined into their union."""
    out = []
    for r in regions:
        if min(r[2], box[2]) > max(r[0], box[0]) and min(r[3], box[3]) > max(r[1], box[1]):
            box = _union([r, box])
        else:
            out.append(r)
    if len(out) < len(regions):
        return _merge(out, box)
    return [*out, box]


def _union(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _covers(outer: Box, inner: Box) -> bool:
    ix = min(outer[2], inner[2]) - max(outer[0], inner[0])
    iy = min(outer[3], inner[3]) - max(outer[1], inner[1])
    area = (inner[2] - inner[0]) * (inner[3] - inner[1])
    return ix > 0 and iy > 0 and area > 0 and ix * iy / area > 0.5


@dataclass
class Summary:
    frames: int = 0
    analysed: int = 0
    gated: int = 0
    person_tracks: int = 0
    objects: int = 0
    events: dict[str, int] = field(default_factory=dict)
    max_people: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "sampled": self.frames,
            "analysed": self.analysed,
            "idle_skipped": self.gated,
            "person_tracks": self.person_tracks,
            "static_objects": self.objects,
            "max_people": self.max_people,
            "events": dict(sorted(self.events.items())),
        }


class Analyzer:
    """Analyses one camera's frames; ``process`` returns the events that fired on a frame."""

    def __init__(
        self,
        rules: config.Rules,
        frame_size: tuple[int, int],
        fps: float,
        *,
        grants: Sequence[Grant] = (),
        detector: Detector | None = None,
        start_time: dt.datetime | None = None,
    ) -> None:
        self.cfg = rules.analysis
        self.frame_size = frame_size
        self.fps = fps
        self.work = _size(frame_size, self.cfg.work_width)
        self.scale = frame_size[0] / self.work[0], frame_size[1] / self.work[1]
        self.gate = MotionGate(frame_size, self.cfg, fps, rules.masks)
        history = max(10, int(self.cfg.history_s * fps))
        self.fg = cv2.createBackgroundSubtractorMOG2(history, 16, False)
        self.stationary = Stationary(self.work, self.cfg)
        self.stationary.keep = keep_mask(frame_size, self.work, rules.masks)
        self.tracker = Tracker(self.cfg.max_unseen_s)
        self.engine = RuleEngine(rules, frame_size, grants, start_time)
        self.detector = detector
        self.hog = HogScanner(self.cfg.hog_height) if self.cfg.verifier == "hog" else None
        self.last_hog: float | None = None
        # People whose tracks ended in the last REVIVE_S seconds.
        self.lost: list[Track] = []
        # What the candidates were made of on the last analysed frame: what moved, and what
        # differs from the long-term background.
        self.mask = np.zeros((self.work[1], self.work[0]), np.uint8)

        self.min_area = self.cfg.min_area * self.work[0] * self.work[1]
        self.min_person_h = self.cfg.min_person_height * self.work[1]
        self.kernel = np.ones((3, 3), np.uint8)
        self.summary = Summary()
        self.people_ids: set[int] = set()
        self.object_ids: set[int] = set()
        self.last_static: float | None = None
        self.objects: list[_Static] = []
        self.started = False
        self.warm = 0
        self.moving = False

    # -- coordinates
    def to_video(self, box: Box) -> Box:
        sx, sy = self.scale
        w, h = self.frame_size
        return (
            max(0.0, box[0] * sx),
            max(0.0, box[1] * sy),
            min(float(w), box[2] * sx),
            min(float(h), box[3] * sy),
        )

    def to_work(self, box: Box) -> Box:
        sx, sy = self.scale
        return (box[0] / sx, box[1] / sy, box[2] / sx, box[3] / sy)

    # -- the frame
    def process(self, frame: np.ndarray, index: int, now: float) -> list[Event]:
        self.summary.frames += 1
        self.gate.last = None
        moved = self.gate.moved(frame) if self.cfg.motion_gating else True
        if self.warm < WARM_UP:
            moved = True
        if moved:
            self.summary.analysed += 1
            self._analyse(frame, now)
        else:
            self.summary.gated += 1
            # Nothing moved, so whoever is still there stands where they were; a track whose
            # place looks like the background again has left and is let go.
            changed = self.stationary.changed
            # Someone the HOG saw is there even where they look like the background (they were
            # in the first frame): nothing moved, so they have not left.
            self.tracker.hold(
                now,
                [
                    t
                    for t in self.tracker.tracks
                    if self._support(changed, t.box) > 0.3 or self._still_there(t, frame)
                ],
            )
            self._prune(now)
            # When the scene has just gone still, what stays is what was left: the frame is
            # learnt as the short-term background at once and stationary objects are found.
            # After that, an idle scene costs only the gate, but for a look every few seconds
            # that lets the models follow the light.
            if self.moving:
                self._stationary(frame, now, settle=True)
            elif self.last_static is None or now - self.last_static >= IDLE_REFRESH_S:
                self._stationary(frame, now)
        self.moving = moved
        people = self._people(now)
        self.summary.max_people = max(self.summary.max_people, len(people))
        objects = [StaticObject(o.id, self.to_video(o.box), o.since) for o in self.objects]
        events = self.engine.evaluate(index, now, people, objects)
        for e in events:
            self.summary.events[e.type] = self.summary.events.get(e.type, 0) + 1
        return events

    def _small(self, frame: np.ndarray) -> np.ndarray:
        return cv2.resize(frame, self.work, interpolation=cv2.INTER_AREA)

    def _stationary(
        self,
        frame: np.ndarray,
        now: float,
        gray: np.ndarray | None = None,
        settle: bool = False,
    ) -> None:
        if gray is None:
            gray = self._small(frame)
            # The foreground model also sees the idle scene now and then, so slow changes (the
            # light) are learnt before the next motion.
            self.fg.apply(cv2.GaussianBlur(gray, (5, 5), 0))
        self.last_static = now
        self.stationary.update(gray, now, settle)
        boxes = [t.box for t in self.tracker.tracks if t.person]
        self.objects = self.stationary.found(now, boxes, self.tracker.new_id, self.min_area)
        self.object_ids.update(o.id for o in self.objects)
        self.summary.objects = len(self.object_ids)

    def _analyse(self, frame: np.ndarray, now: float) -> None:
        gray = self._small(frame)
        self._stationary(frame, now, gray)
        if self.detector is not None:
            found = [d.box for d in self.detector.detect(frame) if d.label == "person"]
            boxes = [self.to_work(b) for b in found]
            verified = True
        else:
            boxes = self._blobs(gray)
            verified = False
        healed = self.stationary.healed
        if healed is not None:
            # A ghost is not something that moved: tracks made of one end with it.
            self.tracker.tracks = [
                t
                for t in self.tracker.tracks
                if t.person or self._support(healed.astype(np.uint8), t.box) < 0.3
            ]
        matched, unmatched = self.tracker.update(boxes, now)
        for t in unmatched:
            if not t.person:
                continue
            # People side by side make one blob that only one track can take; the others in it
            # go on as they went.
            group = next((b for b in boxes if _overlap(b, t.box) > 0.5), None)
            if group is not None:
                self.tracker.ride(t, group, now)
            elif self._support(self.mask, t.box) > 0.3:
                # A person who stands still fades into the foreground model but stays different
                # from the long-term background: while the candidates' mask still covers them,
                # the track is kept where it stands.
                self.tracker.keep(t, now)
            elif self._still_there(t, frame):
                # Someone the HOG saw, who may be part of the background (there from the first
                # frame) and so make no candidate at all: their place still looks as it did.
                self.tracker.keep(t, now)
        for t in matched:
            wide = t.w > GROUP * t.h
            t.wide_since = (t.wide_since if t.wide_since is not None else now) if wide else None
            if t.frames == 1:
                t.parent = next(
                    (
                        p.id
                        for p in self.tracker.tracks
                        if p is not t
                        and p.person
                        and p.look is not None
                        and gap(p.stood, t.box) <= 0.5 * (p.stood[2] - p.stood[0])
                    ),
                    None,
                )
            self._classify(t, verified)
        if self.hog is not None and not verified:
            self._verify(frame, now)
        for t in list(self.tracker.tracks):
            if t.person and t.parent is not None:
                self._inherit(t, frame, now)
        self._prune(now)
        # A candidate that never became a person is let go sooner than a person who may only be
        # hidden for a moment.
        self.tracker.tracks = [
            t for t in self.tracker.tracks if t.person or now - t.last_t <= VISIBLE_S
        ]

    def _prune(self, now: float) -> None:
        for t in self.tracker.prune(now):
            if t.person:
                self.lost.append(t)
        self.lost = [t for t in self.lost if now - t.last_t <= REVIVE_S]

    def _tiny(self, frame: np.ndarray) -> np.ndarray:
        if self.gate.last is None:
            self.gate.last = self.gate.small(frame)
        return self.gate.last

    def _remember(self, t: Track, frame: np.ndarray) -> None:
        gw, gh = self.gate.size
        sx, sy = gw / self.work[0], gh / self.work[1]
        x0, y0 = max(0, int(t.box[0] * sx)), max(0, int(t.box[1] * sy))
        x1, y1 = min(gw, int(np.ceil(t.box[2] * sx))), min(gh, int(np.ceil(t.box[3] * sy)))
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            t.look_box = (x0, y0, x1, y1)
            t.stood = t.box
            t.look = self._tiny(frame)[y0:y1, x0:x1].copy()

    def _looks_like(self, t: Track, frame: np.ndarray) -> bool:
        """Whether the track's box, where it is now, still shows the person the HOG saw (or
        their track has slid onto the empty place they left)."""
        if t.look is None:
            return False
        gw, gh = self.gate.size
        sx, sy = gw / self.work[0], gh / self.work[1]
        x0, y0 = max(0, int(t.box[0] * sx)), max(0, int(t.box[1] * sy))
        x1, y1 = min(gw, int(np.ceil(t.box[2] * sx))), min(gh, int(np.ceil(t.box[3] * sy)))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return False
        patch = cv2.resize(self._tiny(frame)[y0:y1, x0:x1], t.look.shape[::-1])
        return bool(float(cv2.absdiff(patch, t.look).mean()) < LOOK_DIFF)

    def _still_there(self, t: Track, frame: np.ndarray) -> bool:
        if not t.person or t.look is None:
            return False
        x0, y0, x1, y1 = t.look_box
        now = self._tiny(frame)[y0:y1, x0:x1]
        return bool(float(cv2.absdiff(now, t.look).mean()) < LOOK_DIFF)

    def _inherit(self, t: Track, frame: np.ndarray, now: float) -> None:
        """``t`` was born where a person stood and is now a person: if that person's track no
        longer shows them (it stays on the place they left), ``t`` is them walking off. While it
        does, ``t`` waits a moment before it counts as someone else (the place changes a frame
        or two after they step off it)."""
        parent = next((p for p in self.tracker.tracks if p.id == t.parent), None)
        if parent is None:
            parent = next((p for p in self.lost if p.id == t.parent), None)
            if parent is None:
                t.parent = None
                return
            self.lost.remove(parent)
        elif float(np.hypot(parent.x[2], parent.x[3])) > 0.25 * parent.h:
            # They walk on: ``t`` is someone else who came by.
            t.parent = None
            return
        elif self._looks_like(parent, frame):
            if now - t.first_t < INHERIT_WAIT_S:
                t.person = False
            else:
                t.parent = None
            return
        else:
            self.tracker.tracks.remove(parent)
        t.id, t.first_t, t.start_foot = parent.id, parent.first_t, parent.start_foot
        t.parent = None

    def _person(self, t: Track, box: Box, now: float, frame: np.ndarray) -> None:
        """The HOG found a person on track ``t`` (at ``box``). Someone lost a little earlier
        where they stand is the same person: a person who stands still may be lost while
        nothing of them moves, and found again when something does."""
        t.person = True
        t.verified_at = now
        self.tracker.snap(t, box)
        self._remember(t, frame)
        old = next((o for o in self.lost if _same(o.box, box) or iou(o.box, box) > 0.3), None)
        if old is not None:
            self.lost.remove(old)
            t.id, t.first_t, t.start_foot = old.id, old.first_t, old.start_foot

    def _blobs(self, gray: np.ndarray) -> list[Box]:
        blurred = cv2.GaussianBlur(gray, (5, 5), 0)
        moving = self.fg.apply(blurred)
        # What moves now, and what is new since the long-term background yet stands still (a
        # person waiting, a package), so a candidate does not fade while it keeps still.
        mask = cv2.bitwise_or(moving, self.stationary.changed * np.uint8(255))
        if self.stationary.keep is not None:
            mask = cv2.multiply(mask, self.stationary.keep)
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, self.kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((7, 7), np.uint8))
        self.mask = (mask > 0).astype(np.uint8)
        self.warm += 1
        # The first frames only teach the model; a change of most of the frame is the light or
        # the camera, not objects.
        if self.warm <= WARM_UP or cv2.countNonZero(mask) > 0.4 * mask.size:
            return []
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        boxes: list[Box] = []
        for i in range(1, n):
            x, y, w, h, area = (int(v) for v in stats[i])
            # Sparse blobs are noise and shimmer; a body fills a fair share of its box.
            if area >= self.min_area and area >= 0.3 * w * h:
                boxes.append((float(x), float(y), float(x + w), float(y + h)))
        return boxes

    @staticmethod
    def _support(mask: np.ndarray, box: Box) -> float:
        x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
        x1, y1 = int(box[2]), int(box[3])
        region = mask[y0:y1, x0:x1]
        return float(region.mean()) if region.size else 0.0

    def _classify(self, t: Track, verified: bool) -> None:
        if t.person or not self.tracker.confirmed(t):
            return
        if verified:
            t.person = True
            return
        w, h = t.median_size()
        seen = t.hits / max(1, t.frames)
        if h < self.min_person_h or not 0.2 * h <= w <= 1.25 * h or seen < 0.6:
            looks = False
        elif t.hits < PERSON_HITS or _unsteady(t):
            # Shimmer and shaking edges make blobs whose size jumps from frame to frame.
            looks = False
        else:
            # Something that walks: it has moved by a fair share of its own height, and was
            # found on most frames since it appeared (noise comes and goes).
            looks = t.moved >= 0.5 * h
        t.person = looks

    def _verify(self, frame: np.ndarray, now: float) -> None:
        """Asks the people HOG about candidates that the shape and motion test did not take, and
        about people whose blob has grown wider than one person. A person who stands still (or
        was there from the first frame, and so is part of the background) moves only their
        arms, head and legs, and people side by side make one blob. Motion made the candidate
        and the HOG sees a person's outline in it: two cues that rarely agree on anything else.
        One search covers each region; the rate is held to ``hog_every_s``."""
        assert self.hog is not None
        if self.last_hog is not None and now - self.last_hog < self.cfg.hog_every_s:
            return
        pending = [
            t
            for t in self.tracker.tracks
            if not t.person
            and t.last_t == now
            and t.hits >= 2
            # Someone walking is a person by the shape and motion test within about half a
            # second; the HOG is for what stays.
            and now - t.first_t >= HOG_AFTER_S
            and now - t.asked_at >= HOG_RETRY_S
            and t.h >= 0.5 * self.min_person_h
        ]
        groups = [
            t
            for t in self.tracker.tracks
            if t.person
            and t.last_t == now
            and now - t.asked_at >= HOG_RETRY_S
            # People who cross make one wide blob for a moment; people who walk or stand
            # together, for longer.
            and t.wide_since is not None
            and now - t.wide_since >= GROUP_S
            and t.h >= self.min_person_h
        ]
        if not pending and not groups:
            return
        self.last_hog = now
        for t in pending + groups:
            t.asked_at = now
        found = self._hog_regions(frame, pending + groups)
        split: dict[int, list[Box]] = {}
        taken: set[int] = set()
        for box in sorted(found, key=lambda b: -(b[3] - b[1])):
            owner = next(
                (
                    t
                    for t in self.tracker.tracks
                    if t.person and t not in groups and _same(t.box, box)
                ),
                None,
            )
            if owner is not None:
                # Someone already counted; candidates on them are parts of them (a blob of
                # their legs, another of their arms), not people of their own. Their track is
                # left where it is: when people cross, the HOG's box may be the other one.
                owner.verified_at = now
                if iou(owner.box, box) > 0.5:
                    self._remember(owner, frame)
                gone = {t.id for t in pending if _overlap(t.box, box) > 0.5}
                self.tracker.tracks = [t for t in self.tracker.tracks if t.id not in gone]
                pending = [t for t in pending if t.id not in gone]
                continue
            # The candidate the person is in: the one whose box overlaps it most.
            best = max(pending, key=lambda t: _overlap(t.box, box), default=None)
            if best is not None and best.id not in taken and _overlap(best.box, box) > 0.5:
                taken.add(best.id)
                self._person(best, box, now, frame)
                continue
            group = next((g for g in groups if _overlap(g.box, box) > 0.5), None)
            if group is not None:
                split.setdefault(group.id, []).append(box)
                continue
            if any(_overlap(t.box, box) > 0.5 for t in self.tracker.tracks if t.person):
                continue
            # A second person in a blob wider than one person, which another track took: a
            # track of their own, as long as what made the blob covers them.
            wide = any(
                _overlap(t.box, box) > 0.5 and t.w > 1.5 * (box[2] - box[0]) for t in pending
            )
            if wide and self._support(self.mask, box) > 0.3:
                self._person(self.tracker.add(box, now), box, now, frame)
        for g in groups:
            boxes = split.get(g.id, [])
            # One outline in a wide blob may be one person with a bag or a shadow; two or more
            # are that many people. The group's track goes on as the one nearest its centre.
            if len(boxes) < 2:
                continue
            gx, gy = center(g.box)
            boxes.sort(key=lambda b: abs(center(b)[0] - gx) + abs(center(b)[1] - gy))
            self.tracker.snap(g, boxes[0])
            g.verified_at = now
            self._remember(g, frame)
            for box in boxes[1:]:
                if self._support(self.mask, box) > 0.3:
                    track = self.tracker.add(box, now)
                    track.x[2:] = g.x[2:]
                    self._person(track, box, now, frame)

    def _hog_regions(self, frame: np.ndarray, tracks: Sequence[Track]) -> list[Box]:
        """People the HOG finds around these tracks, in work pixels. A candidate may be a part
        of someone who stands still (an arm, the legs), so its region reaches a findable
        person's height above and below it, and half that to the sides; a person's blob holds
        whole people and gets a margin only. Regions that overlap are searched as one."""
        assert self.hog is not None
        tall = 1.2 * HOG_BODY * self.work[1] / self.cfg.hog_height
        regions: list[Box] = []
        for t in tracks:
            w, h = t.box[2] - t.box[0], t.box[3] - t.box[1]
            if t.person:
                pad_x, pad_y = 0.15 * w, 0.2 * h
            else:
                pad_x, pad_y = max(0.5 * w, 0.5 * tall), max(0.5 * h, tall)
            regions = _merge(
                regions, _pad(t.box, pad_x / max(w, 1.0), pad_y / max(h, 1.0), self.work)
            )
        found = [
            self.to_work(d.box)
            for region in regions
            for d in self.hog.people(frame, self.to_video(region))
        ]
        return [b for b in found if b[3] - b[1] >= self.min_person_h]

    def _people(self, now: float) -> list[Person]:
        out = []
        for t in self.tracker.tracks:
            # People count while they are seen; a track coasting through an occlusion keeps its
            # identity but is not counted in a zone.
            if not t.person or now - t.last_t > VISIBLE_S:
                continue
            if t.id not in self.people_ids:
                self.people_ids.add(t.id)
                self.summary.person_tracks = len(self.people_ids)
            sx, sy = self.scale
            foot = (t.foot[0] * sx, t.foot[1] * sy)
            origin = (t.start_foot[0] * sx, t.start_foot[1] * sy)
            out.append(Person(t.id, self.to_video(t.box), t.first_t, foot, origin))
        return out
