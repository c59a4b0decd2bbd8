"""Thickness profiles of simple solids, seen from above, in the solid's own frame.

Every profile maps local coordinates ``u`` (along the part) and ``v`` (across it), in cm, to the
path length (cm) a vertical ray travels through the solid. Parts are placed by a pose, and a part
is rasterised by evaluating its profile at pixel centres inside its bounding box, so rotation
needs no image resampling. Parts thinner than a pixel are spread over one pixel with the same
cross-section, so thin wires neither vanish nor alias.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Profile = Callable[[np.ndarray, np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class Part:
    """A solid of one material with its pose relative to its object (cm, radians)."""

    material: str
    profile: Profile
    extent: float  # radius (cm) of a circle about the part's origin that holds the whole part
    du: float = 0.0
    dv: float = 0.0
    angle: float = 0.0
    # half length (along u) and half width (along v), cm, of a rectangle about the part's
    # origin that holds it, where known: a long or flat part's box is far smaller than the
    # square around its circle, and the simulator evaluates the profile over that box
    half: tuple[float, float] | None = None

    def reach(self, theta: float, pixel: float) -> tuple[float, float]:
        """Half extents (cm) along the image's x and y that hold the part turned by theta."""
        if self.half is None:
            return self.extent, self.extent
        along, across = self.half
        c, s = abs(math.cos(theta)), abs(math.sin(theta))
        # a pixel more: a part thinner than a pixel is spread over one (see ``rod``)
        return (
            min(along * c + across * s + pixel, self.extent),
            min(along * s + across * c + pixel, self.extent),
        )


def slab(length: float, width: float, thickness: float) -> Profile:
    """A box lying flat: constant thickness over a length x width rectangle."""

    def profile(u: np.ndarray, v: np.ndarray, pixel: float) -> np.ndarray:
        inside = (np.abs(u) <= length / 2) & (np.abs(v) <= width / 2)
        return np.where(inside, np.float32(thickness), np.float32(0))

    return profile


def frame(length: float, width: float, wall: float, height: float) -> Profile:
    """The side walls of an open box seen from above: each wall is traversed along its height."""

    def profile(u: np.ndarray, v: np.ndarray, pixel: float) -> np.ndarray:
        au, av = np.abs(u), np.abs(v)
        outer = (au <= length / 2) & (av <= width / 2)
        inner = (au < length / 2 - max(wall, pixel)) & (av < width / 2 - max(wall, pixel))
        scale = wall / max(wall, pixel)  # thin walls spread over a pixel, same material amount
        return np.where(outer & ~inner, np.float32(height * scale), np.float32(0))

    return profile


def _chord(v: np.ndarray, radius: float, pixel: float) -> np.ndarray:
    if radius * 2 >= pixel:
        return 2.0 * np.sqrt(np.clip(radius * radius - v * v, 0.0, None))
    # thinner than a pixel: a triangle of half-width one pixel with the disc's cross-section
    return np.pi * radius * radius / pixel * np.clip(1.0 - np.abs(v) / pixel, 0.0, None)


def rod(length: float, radius: float, inner_radius: float = 0.0) -> Profile:
    """A cylinder (or a tube) lying with its axis along u."""

    def profile(u: np.ndarray, v: np.ndarray, pixel: float) -> np.ndarray:
        t = _chord(v, radius, pixel)
        if inner_radius > 0:
            t = t - _chord(v, inner_radius, pixel)
        return np.where(np.abs(u) <= length / 2, t, 0.0).astype(np.float32)

    return profile


def disc(radius: float, height: float, inner_radius: float = 0.0) -> Profile:
    """An upright cylinder (a coin, a can seen end-on): constant height over a disc or ring."""

    def profile(u: np.ndarray, v: np.ndarray, pixel: float) -> np.ndarray:
        r2 = u * u + v * v
        inside = (r2 <= radius * radius) & (r2 >= inner_radius * inner_radius)
        return np.where(inside, np.float32(height), np.float32(0))

    return profile


def ellipsoid(a: float, b: float, height: float) -> Profile:
    """A lump: semi-axes a (u) and b (v), full height ``height`` at the centre."""

    def profile(u: np.ndarray, v: np.ndarray, pixel: float) -> np.ndarray:
        q = 1.0 - (u / a) ** 2 - (v / b) ** 2
        return (height * np.sqrt(np.clip(q, 0.0, None))).astype(np.float32)

    return profile


def textured(base: Profile, field: np.ndarray, half_size: float, depth: float) -> Profile:
    """``base`` modulated by a smooth random ``field`` in [-1, 1] spanning +-half_size cm.

    Soft goods (clothing, powder heaps) are lumpy; the field makes their thickness vary by
    up to ``depth`` as a fraction of the base thickness.
    """
    n = field.shape[0]

    def profile(u: np.ndarray, v: np.ndarray, pixel: float) -> np.ndarray:
        t = base(u, v, pixel)
        i = np.clip(((u / half_size + 1) * 0.5 * (n - 1)).astype(np.intp), 0, n - 1)
        j = np.clip(((v / half_size + 1) * 0.5 * (n - 1)).astype(np.intp), 0, n - 1)
        return (t * (1.0 + depth * field[i, j])).astype(np.float32)

    return profile


def polygon(vertices: np.ndarray, thickness: float) -> Profile:
    """A flat plate of constant thickness bounded by ``vertices`` (k x 2, in (u, v), cm)."""
    vu = np.asarray(vertices[:, 0], dtype=float)
    vv = np.asarray(vertices[:, 1], dtype=float)

    def profile(u: np.ndarray, v: np.ndarray, pixel: float) -> np.ndarray:
        inside = np.zeros(np.broadcast(u, v).shape, dtype=bool)
        k = len(vu)
        for i in range(k):
            u0, v0, u1, v1 = vu[i], vv[i], vu[(i + 1) % k], vv[(i + 1) % k]
            if v0 == v1:
                continue
            crosses = (v0 > v) != (v1 > v)
            u_at = u0 + (v - v0) * (u1 - u0) / (v1 - v0)
            inside ^= crosses & (u < u_at)
        return np.where(inside, np.float32(thickness), np.float32(0))

    return profile


def smooth_field(rng: np.random.Generator, n: int = 24, passes: int = 3) -> np.ndarray:
    """A smooth random field on an n x n grid, scaled to [-1, 1] (cheap box-blurred noise)."""
    field = rng.standard_normal((n, n))
    for _ in range(passes):
        padded = np.pad(field, 1, mode="edge")
        field = sum(
            (
                padded[1 + di : n + 1 + di, 1 + dj : n + 1 + dj]
                for di in (-1, 0, 1)
                for dj in (-1, 0, 1)
            ),
            np.zeros((n, n)),
        )
    field -= field.mean()
    return field / max(float(np.abs(field).max()), 1e-9)
