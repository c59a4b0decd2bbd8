"""Shape measurements of one connected component, in cm, for threat rules."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import ConvexHull, QhullError


@dataclass(frozen=True)
class Shape:
    area: float  # cm2
    length: float  # extent along the principal axis, cm
    width: float  # extent across it, cm
    elongation: float  # length / width
    rectangularity: float  # area / (length * width): 1 for a rectangle, pi/4 for an ellipse
    solidity: float  # area / convex hull area
    centroid: tuple[float, float]  # (row, col) in the component's pixel coordinates
    end_widths: tuple[float, float]  # mean width (cm) over the first and last fifth of the length


def band(x: float, lo0: float, lo1: float, hi1: float, hi0: float) -> float:
    """Trapezoid membership: 0 outside (lo0, hi0), 1 on [lo1, hi1], linear between."""
    if x <= lo0 or x >= hi0:
        return 0.0
    if x < lo1:
        return (x - lo0) / (lo1 - lo0)
    if x > hi1:
        return (hi0 - x) / (hi0 - hi1)
    return 1.0


def measure(
    mask: np.ndarray, pixel_cm: float, offset: tuple[int, int] = (0, 0), hull: bool = True
) -> Shape:
    """Shape of the True pixels of ``mask`` (which must hold at least one).

    ``hull=False`` skips the convex hull (the slowest part) and reports solidity 1.
    """
    return measure_many([mask], pixel_cm, [offset], hull)[0]


def measure_many(
    masks: list[np.ndarray],
    pixel_cm: float,
    offsets: list[tuple[int, int]],
    hull: bool = True,
) -> list[Shape]:
    """``measure`` of each mask: one eigen-decomposition for all of them, as numpy's set-up for
    it costs far more than a 2 x 2 problem (each matrix is solved as it would be alone), and
    the extents of all of them from their pixels together."""
    if not masks:
        return []
    moments = [_moments(mask) for mask in masks]
    _, vectors = np.linalg.eigh(np.stack([m.cov for m in moments]))
    extents = _Extents.of(moments, vectors[:, :, 1])
    return [
        _shape(mask, m, extents, k, pixel_cm, offset, hull)
        for k, (mask, m, offset) in enumerate(zip(masks, moments, offsets, strict=True))
    ]


@dataclass(frozen=True)
class _Moments:
    """A component's pixels about their mean, and their covariance."""

    mean: tuple[float, float]
    dr: np.ndarray
    dc: np.ndarray
    cov: np.ndarray


def _moments(mask: np.ndarray) -> _Moments:
    rows, cols = np.nonzero(mask)
    r_mean, c_mean = rows.mean(), cols.mean()
    dr, dc = rows - r_mean, cols - c_mean
    cov = np.array([[dr @ dr, dr @ dc], [dr @ dc, dc @ dc]]) / rows.size
    return _Moments((float(r_mean), float(c_mean)), dr, dc, cov)


@dataclass(frozen=True)
class _Extents:
    """Each component's extent along and across its major axis, and its pixels within a fifth
    of the length of either end: per-pixel work on all components' pixels at once (each value
    as it is for one alone), as numpy's set-up costs more than the arithmetic on a few
    hundred pixels."""

    along: tuple[np.ndarray, np.ndarray]  # (min, max) of each component
    across: tuple[np.ndarray, np.ndarray]
    ends: tuple[np.ndarray, np.ndarray]  # pixels near the first and the last end

    @classmethod
    def of(cls, moments: list[_Moments], majors: np.ndarray) -> _Extents:
        sizes = np.array([m.dr.size for m in moments])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        dr = np.concatenate([m.dr for m in moments])
        dc = np.concatenate([m.dc for m in moments])
        major0, major1 = np.repeat(majors[:, 0], sizes), np.repeat(majors[:, 1], sizes)
        along = dr * major0 + dc * major1
        across = -dr * major1 + dc * major0
        low, high = np.minimum.reduceat(along, starts), np.maximum.reduceat(along, starts)
        fifth = (high - low + 1) / 5
        first = np.add.reduceat(along <= np.repeat(low + fifth, sizes), starts, dtype=np.intp)
        last = np.add.reduceat(along >= np.repeat(high - fifth, sizes), starts, dtype=np.intp)
        return cls(
            (low, high),
            (np.minimum.reduceat(across, starts), np.maximum.reduceat(across, starts)),
            (first, last),
        )


def _shape(
    mask: np.ndarray,
    m: _Moments,
    extents: _Extents,
    k: int,
    pixel_cm: float,
    offset: tuple[int, int],
    hull: bool,
) -> Shape:
    along_min, along_max = extents.along[0][k], extents.along[1][k]
    length = (along_max - along_min + 1) * pixel_cm
    width = (extents.across[1][k] - extents.across[0][k] + 1) * pixel_cm
    area = m.dr.size * (pixel_cm * pixel_cm)
    span = along_max - along_min + 1
    fifth = span / 5
    end_widths = (
        float(extents.ends[0][k]) / max(fifth, 1) * pixel_cm,
        float(extents.ends[1][k]) / max(fifth, 1) * pixel_cm,
    )
    return Shape(
        area=area,
        length=length,
        width=width,
        elongation=length / max(width, pixel_cm),
        rectangularity=min(1.0, area / (length * width)),
        solidity=solidity(mask) if hull else 1.0,
        centroid=(m.mean[0] + offset[0], m.mean[1] + offset[1]),
        end_widths=end_widths,
    )


def solidity(mask: np.ndarray) -> float:
    """Area over convex hull area of the True pixels of ``mask`` (1 under eight pixels)."""
    n = int(np.count_nonzero(mask))
    if n < 8:
        return 1.0
    # pixel corners, not centres, so that a one-pixel-wide line has a non-zero hull; and only
    # the outer corners of each row's first and last pixel, as every other corner lies between
    # two of those: the same hull from a fraction of the points (qhull's cost grows with them)
    rows = np.flatnonzero(mask.any(axis=1))
    occupied = mask[rows]
    left = occupied.argmax(axis=1) - 0.5
    right = occupied.shape[1] - 0.5 - occupied[:, ::-1].argmax(axis=1)
    top, bottom = rows - 0.5, rows + 0.5
    corners = np.concatenate(
        [
            np.column_stack([top, left]),
            np.column_stack([bottom, left]),
            np.column_stack([top, right]),
            np.column_stack([bottom, right]),
        ]
    )
    try:
        hull = ConvexHull(corners)
    except QhullError:
        return 1.0
    return min(1.0, n / hull.volume)
