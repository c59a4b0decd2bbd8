"""Generated scenes with exact ground truth: people-like figures that walk and dwell, a package put
down and left, people crossing a door line. Used by the tests and the benchmarks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

Keyframe = tuple[float, float, float]  # time_s, x, y of the feet


@dataclass(frozen=True)
class Walker:
    """A person: present between the first and last keyframe, moving linearly between them."""

    path: Sequence[Keyframe]
    height: float = 110.0
    colour: tuple[int, int, int] = (40, 60, 160)
    # Whether the legs move; a figure that stands with still legs is a mannequin or a poster.
    alive: bool = True
    # A while (from, to) in seconds when a live figure holds perfectly still.
    frozen: tuple[float, float] | None = None

    def at(self, t: float) -> tuple[float, float] | None:
        if t < self.path[0][0] or t > self.path[-1][0]:
            return None
        for (t0, x0, y0), (t1, x1, y1) in zip(self.path, self.path[1:], strict=False):
            if t0 <= t <= t1:
                f = 0.0 if t1 == t0 else (t - t0) / (t1 - t0)
                return x0 + f * (x1 - x0), y0 + f * (y1 - y0)
        return self.path[-1][1], self.path[-1][2]

    def box(self, t: float) -> tuple[float, float, float, float] | None:
        p = self.at(t)
        if p is None:
            return None
        w = self.height * 0.38
        return p[0] - w / 2, p[1] - self.height, p[0] + w / 2, p[1]


@dataclass(frozen=True)
class Package:
    """A box that appears at ``placed`` and stays until ``removed``."""

    box: tuple[int, int, int, int]
    placed: float
    removed: float = 1e9
    colour: tuple[int, int, int] = (60, 140, 200)


@dataclass
class Scene:
    size: tuple[int, int]
    fps: float
    seconds: float
    walkers: list[Walker] = field(default_factory=list)
    packages: list[Package] = field(default_factory=list)
    seed: int = 1
    noise: float = 2.0

    def background(self) -> np.ndarray:
        w, h = self.size
        rng = np.random.default_rng(self.seed)
        coarse = rng.normal(0, 1, (h // 8 + 1, w // 8 + 1, 3)).astype(np.float32)
        texture = np.asarray(cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)) * 18
        ramp = np.linspace(90, 150, h, dtype=np.float32)[:, None, None]
        img = np.clip(ramp + texture, 0, 255).astype(np.uint8)
        # A floor line and a wall edge, so the scene has structure.
        cv2.line(img, (0, int(h * 0.35)), (w, int(h * 0.35)), (70, 70, 70), 3)
        return img

    def frames(self) -> Iterator[tuple[int, float, np.ndarray]]:
        """(index, time_s, BGR frame) for every frame of the scene."""
        base = self.background()
        rng = np.random.default_rng(self.seed + 1)
        w, h = self.size
        pool = [
            rng.normal(0, self.noise, (h, w, 3)).astype(np.int16) for _ in range(6)
        ]  # sensor noise, cycled so that generating frames stays cheap
        n = round(self.seconds * self.fps)
        for i in range(n):
            t = i / self.fps
            img = base.copy()
            for p in self.packages:
                if p.placed <= t < p.removed:
                    x0, y0, x1, y1 = p.box
                    cv2.rectangle(img, (x0, y0), (x1, y1), p.colour, -1)
                    cv2.rectangle(img, (x0, y0), (x1, y1), (30, 60, 90), 2)
            for wk in self.walkers:
                self._draw(img, wk, t)
            if self.noise > 0:
                img = np.clip(img.astype(np.int16) + pool[i % len(pool)], 0, 255).astype(np.uint8)
            yield i, t, img

    @staticmethod
    def _draw(img: np.ndarray, wk: Walker, t: float) -> None:
        p = wk.at(t)
        if p is None:
            return
        x, y, hh = p[0], p[1], wk.height
        head = hh * 0.11
        body_w = hh * 0.19
        # Legs swing as the figure walks, so it never holds one exact shape.
        still = not wk.alive or (wk.frozen is not None and wk.frozen[0] <= t < wk.frozen[1])
        swing = int(hh * 0.04) if still else int(hh * 0.06 * np.sin(t * 6.0))
        cv2.ellipse(
            img,
            (int(x), int(y - hh * 0.55)),
            (int(body_w), int(hh * 0.25)),
            0,
            0,
            360,
            wk.colour,
            -1,
        )
        cv2.line(img, (int(x), int(y - hh * 0.35)), (int(x) - swing, int(y)), (30, 30, 30), 6)
        cv2.line(img, (int(x), int(y - hh * 0.35)), (int(x) + swing, int(y)), (30, 30, 30), 6)
        cv2.circle(img, (int(x), int(y - hh * 0.85)), int(head), (120, 150, 200), -1)


def dwell_scene(size: tuple[int, int] = (640, 360), fps: float = 10.0) -> Scene:
    """One person walks in, stands for 20 s near the middle and leaves; a second walks across."""
    w, _h = size
    s = w / 640
    a = Walker(
        [
            (1.0, -30 * s, 300 * s),
            (5.0, 300 * s, 300 * s),
            (25.0, 305 * s, 300 * s),
            (29.0, w + 30 * s, 300 * s),
        ],
        height=120 * s,
    )
    b = Walker([(8.0, w + 30 * s, 250 * s), (14.0, -30 * s, 250 * s)], 100 * s, (150, 70, 40))
    return Scene(size, fps, 32.0, [a, b])


def package_scene(size: tuple[int, int] = (640, 360), fps: float = 10.0) -> Scene:
    """A person walks to the middle, puts a package down at 6 s, walks away; it stays."""
    w, _h = size
    s = w / 640
    a = Walker(
        [
            (1.0, -30 * s, 300 * s),
            (5.0, 320 * s, 300 * s),
            (7.0, 320 * s, 300 * s),
            (11.0, w + 30 * s, 300 * s),
        ],
        height=120 * s,
    )
    box = (int(340 * s), int(270 * s), int(390 * s), int(310 * s))
    return Scene(size, fps, 40.0, [a], [Package(box, placed=6.0)])


def door_scene(size: tuple[int, int] = (640, 360), fps: float = 10.0) -> Scene:
    """Two people walk down through a door line at y=200, one 3 s behind the other. The line
    runs left to right, so down the screen is its right-hand side."""
    w, _h = size
    s = w / 640
    a = Walker([(1.0, 310 * s, 110 * s), (5.0, 320 * s, 350 * s)], 100 * s)
    b = Walker([(4.0, 300 * s, 110 * s), (8.0, 330 * s, 350 * s)], 100 * s, (150, 70, 40))
    return Scene(size, fps, 12.0, [a, b])


def crowd_scene(size: tuple[int, int] = (640, 360), fps: float = 10.0, people: int = 3) -> Scene:
    """People walk in one by one and wander near each other in the middle."""
    w, h = size
    s = w / 640
    walkers = []
    colours = [(40, 60, 160), (150, 70, 40), (40, 140, 60), (140, 40, 140), (20, 120, 160)]
    for k in range(people):
        x = (140 + 110 * k) * s
        y = (230 + 40 * (k % 2)) * s
        walkers.append(
            Walker(
                [
                    (1.0 + k, x, -10 * s if k % 2 else h + 110 * s),
                    (4.0 + k, x, y),
                    (14.0, x + 30 * s, y),
                    (18.0, x - 30 * s, y),
                ],
                height=110 * s,
                colour=colours[k % len(colours)],
            )
        )
    return Scene(size, fps, 20.0, walkers)


def standing_scene(size: tuple[int, int] = (640, 360), fps: float = 10.0) -> Scene:
    """Two people who stand from the first frame to the last, shifting their weight (their legs
    move, they do not walk), so they are part of the first background; a mannequin between them
    that never moves."""
    w, _h = size
    s = w / 640
    a = Walker([(0.0, 180 * s, 300 * s), (30.0, 182 * s, 300 * s)], 120 * s)
    b = Walker([(0.0, 470 * s, 320 * s), (30.0, 468 * s, 320 * s)], 130 * s, (150, 70, 40))
    still = Walker(
        [(0.0, 330 * s, 280 * s), (30.0, 330 * s, 280 * s)], 115 * s, (40, 140, 60), False
    )
    return Scene(size, fps, 30.0, [a, b, still])


def group_scene(size: tuple[int, int] = (640, 360), fps: float = 10.0) -> Scene:
    """Two people who walk in side by side, close enough to make one blob, and stop together."""
    w, _h = size
    s = w / 640
    a = Walker(
        [(1.0, -40 * s, 300 * s), (6.0, 280 * s, 300 * s), (20.0, 282 * s, 300 * s)], 120 * s
    )
    b = Walker(
        [(1.0, 0 * s, 300 * s), (6.0, 325 * s, 300 * s), (20.0, 323 * s, 300 * s)],
        120 * s,
        (150, 70, 40),
    )
    return Scene(size, fps, 20.0, [a, b])


def screen_scene(size: tuple[int, int] = (640, 360), fps: float = 10.0) -> Scene:
    """No one; a person-sized screen that changes its picture twice a second, in one place."""
    w, _h = size
    s = w / 640
    colours = [(40, 60, 160), (150, 70, 40), (200, 200, 200), (30, 30, 30)]
    box = (int(300 * s), int(120 * s), int(345 * s), int(300 * s))
    seconds = 30.0
    shows = [
        Package(box, k * 0.5, (k + 1) * 0.5, colours[k % len(colours)])
        for k in range(int(seconds * 2))
    ]
    return Scene(size, fps, seconds, packages=shows)


def busy_scene(
    size: tuple[int, int] = (1280, 720), fps: float = 5.0, seconds: float = 20.0, people: int = 6
) -> Scene:
    """People walking back and forth without stopping, for the benchmark."""
    w, h = size
    walkers = []
    for k in range(people):
        y = h * (0.45 + 0.5 * k / max(1, people))
        period = 6.0 + k
        path: list[Keyframe] = []
        t = 0.0
        left = k % 2 == 0
        while t <= seconds + period:
            path.append((t, (0.05 if left else 0.95) * w, y))
            left = not left
            t += period
        walkers.append(Walker(path, height=h * 0.3, colour=(40 + 30 * k, 80, 160 - 20 * k)))
    return Scene(size, fps, seconds, walkers)


def idle_scene(
    size: tuple[int, int] = (1280, 720), fps: float = 5.0, seconds: float = 20.0
) -> Scene:
    return Scene(size, fps, seconds)


def write_video(scene: Scene, path: str, fourcc: str = "mp4v") -> int:
    """Write the scene as a video file; returns the number of frames."""
    writer = cv2.VideoWriter(path, cv2.VideoWriter.fourcc(*fourcc), scene.fps, scene.size)
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot write {path} with {fourcc}")
    count = 0
    try:
        for _, _, image in scene.frames():
            writer.write(image)
            count += 1
    finally:
        writer.release()
    return count
