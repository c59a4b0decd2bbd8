"""Multi-object tracking: a constant-velocity Kalman filter per track on the box's centre, and
Hungarian assignment (scipy) of candidates to tracks on overlap and distance."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

Box = tuple[float, float, float, float]  # x0, y0, x1, y1


def iou(a: Box, b: Box) -> float:
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def gap(a: Box, b: Box) -> float:
    """Distance between two boxes' edges; 0 when they touch or overlap."""
    dx = max(0.0, max(a[0], b[0]) - min(a[2], b[2]))
    dy = max(0.0, max(a[1], b[1]) - min(a[3], b[3]))
    return float(np.hypot(dx, dy))


def _shift(a: Box, b: Box) -> float:
    """How far box ``b`` has moved from box ``a``: along each axis, by as much as both edges
    moved the same way. A blob that only grows or shrinks (a ghost healing, a person's blob
    merging with their shadow) moves its centre without going anywhere."""

    def axis(d0: float, d1: float) -> float:
        return min(abs(d0), abs(d1)) if d0 * d1 > 0 else 0.0

    return float(np.hypot(axis(b[0] - a[0], b[2] - a[2]), axis(b[1] - a[1], b[3] - a[3])))


def _within(inner: Box, outer: Box) -> bool:
    return (
        inner[0] >= outer[0] - 1
        and inner[1] >= outer[1] - 1
        and inner[2] <= outer[2] + 1
        and inner[3] <= outer[3] + 1
    )


def center(b: Box) -> tuple[float, float]:
    return ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)


@dataclass
class Track:
    id: int
    x: np.ndarray  # cx, cy, vx, vy
    p: np.ndarray
    w: float
    h: float
    first_t: float
    last_t: float
    hits: int = 1
    # Analysed frames since the track began, found or not.
    frames: int = 1
    person: bool = False
    verified_at: float = -1e9
    # When the people HOG was last asked about this track.
    asked_at: float = -1e9
    # Since when the track's box has been wider than one person (people side by side).
    wide_since: float | None = None
    # How the person looked (grey, at the motion gate's size) when the HOG last saw them, and
    # where: while that place still looks so, they have not left.
    look: np.ndarray | None = None
    look_box: tuple[int, int, int, int] = (0, 0, 0, 0)
    stood: Box = (0.0, 0.0, 0.0, 0.0)  # the same place, in the track's pixels
    # The person track whose place this track was born in: someone who stood still and walks
    # off leaves a blob of their own, and their old track stays on the place they left.
    parent: int | None = None
    start: tuple[float, float] = (0.0, 0.0)
    # The first box: how far the track has moved is measured from it.
    start_box: Box = (0.0, 0.0, 0.0, 0.0)
    moved: float = 0.0
    sizes: list[tuple[float, float]] = field(default_factory=list)
    # The bottom centre of the box: where the track stands, for zones and door lines.
    foot: tuple[float, float] = (0.0, 0.0)
    start_foot: tuple[float, float] = (0.0, 0.0)

    @property
    def box(self) -> Box:
        cx, cy = float(self.x[0]), float(self.x[1])
        return (cx - self.w / 2, cy - self.h / 2, cx + self.w / 2, cy + self.h / 2)

    def median_size(self) -> tuple[float, float]:
        if not self.sizes:
            return self.w, self.h
        arr = np.asarray(self.sizes[-15:])
        return float(np.median(arr[:, 0])), float(np.median(arr[:, 1]))


class Tracker:
    def __init__(self, max_unseen_s: float = 1.5, min_hits: int = 3) -> None:
        self.max_unseen_s = max_unseen_s
        self.min_hits = min_hits
        self.tracks: list[Track] = []
        self.next_id = 1
        self._t: float | None = None

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _predict(self, dt: float) -> None:
        f = np.eye(4)
        f[0, 2] = f[1, 3] = dt
        q = np.diag([dt**2, dt**2, dt, dt]) * 4.0
        for t in self.tracks:
            t.x = f @ t.x
            t.p = f @ t.p @ f.T + q

    def _correct(self, t: Track, box: Box, now: float) -> None:
        bw, bh = box[2] - box[0], box[3] - box[1]
        if t.person and bw * bh < 0.4 * t.w * t.h and _within(box, t.box):
            # A part of a person who stands still (an arm, the legs) moved: they are still
            # there, and still their whole size.
            self.keep(t, now)
            return
        z = np.asarray(center(box))
        h = np.zeros((2, 4))
        h[0, 0] = h[1, 1] = 1.0
        r = np.eye(2) * 4.0
        s = h @ t.p @ h.T + r
        k = t.p @ h.T @ np.linalg.inv(s)
        t.x = t.x + k @ (z - h @ t.x)
        t.p = (np.eye(4) - k @ h) @ t.p
        t.w = 0.6 * t.w + 0.4 * bw
        t.h = 0.6 * t.h + 0.4 * bh
        t.sizes.append((bw, bh))
        del t.sizes[:-30]
        t.hits += 1
        t.last_t = now
        c = center(box)
        t.moved = max(t.moved, _shift(t.start_box, box))
        t.foot = (c[0], box[3])

    def hold(self, now: float, tracks: list[Track]) -> None:
        """Nothing moved in the scene: these tracks stay where they are and count as seen."""
        for t in tracks:
            t.x[2:] = 0.0
            t.last_t = now
            t.frames += 1
            t.hits += 1
        self._t = now

    def snap(self, t: Track, box: Box) -> None:
        """A detector's box for the track: more of the body than a blob of what moved (a person
        who stands still may show only their moving arms), so it replaces the track's box. It
        is not a move: how far the track has moved is left as it was."""
        c = center(box)
        t.x[0], t.x[1] = c
        t.w, t.h = box[2] - box[0], box[3] - box[1]
        t.sizes.append((t.w, t.h))
        del t.sizes[:-30]
        t.foot = (c[0], box[3])

    def add(self, box: Box, now: float) -> Track:
        """A new track on a box found without a candidate (by a detector, inside a group)."""
        c = center(box)
        track = Track(
            id=self.new_id(),
            x=np.array([c[0], c[1], 0.0, 0.0]),
            p=np.diag([10.0, 10.0, 100.0, 100.0]),
            w=box[2] - box[0],
            h=box[3] - box[1],
            first_t=now,
            last_t=now,
            start=c,
            start_box=box,
            sizes=[(box[2] - box[0], box[3] - box[1])],
            foot=(c[0], box[3]),
            start_foot=(c[0], box[3]),
        )
        self.tracks.append(track)
        return track

    def ride(self, t: Track, blob: Box, now: float) -> None:
        """A track inside a blob that another track took (people side by side, or crossing)
        goes on as it went, but not out of the blob: when the group stops, it stops."""
        cx = min(max(float(t.x[0]), blob[0] + t.w / 2), blob[2] - t.w / 2)
        cy = min(max(float(t.x[1]), blob[1] + t.h / 2), blob[3] - t.h / 2)
        t.x[0], t.x[1] = cx, cy
        t.last_t = now
        t.hits += 1
        t.foot = (cx, cy + t.h / 2)

    def keep(self, t: Track, now: float) -> None:
        """A track without a candidate that is still there, standing still."""
        t.x[2:] = 0.0
        t.last_t = now
        t.hits += 1

    def update(self, boxes: list[Box], now: float) -> tuple[list[Track], list[Track]]:
        """Assign the candidates; return (updated tracks, unmatched tracks)."""
        dt = 0.0 if self._t is None else max(0.0, now - self._t)
        self._t = now
        self._predict(dt)
        for t in self.tracks:
            t.frames += 1
        matched: list[Track] = []
        unmatched = list(self.tracks)
        free = list(range(len(boxes)))
        if self.tracks and boxes:
            cost = np.full((len(self.tracks), len(boxes)), 1e6)
            for i, t in enumerate(self.tracks):
                tb = t.box
                tc = center(tb)
                for j, b in enumerate(boxes):
                    bc = center(b)
                    scale = max(t.w, t.h, b[2] - b[0], b[3] - b[1], 1.0)
                    dist = float(np.hypot(tc[0] - bc[0], tc[1] - bc[1])) / scale
                    overlap = iou(tb, b)
                    if overlap > 0 or dist < 1.0:
                        cost[i, j] = (1.0 - overlap) + dist
            rows, cols = linear_sum_assignment(cost)
            for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
                if cost[i, j] >= 1e6:
                    continue
                t = self.tracks[i]
                self._correct(t, boxes[j], now)
                matched.append(t)
                unmatched.remove(t)
                free.remove(j)
        for j in free:
            matched.append(self.add(boxes[j], now))
        return matched, unmatched

    def prune(self, now: float) -> list[Track]:
        gone = [t for t in self.tracks if now - t.last_t > self.max_unseen_s]
        self.tracks = [t for t in self.tracks if t not in gone]
        return gone

    def confirmed(self, t: Track) -> bool:
        return t.hits >= self.min_hits
