"""Components of thresholded maps and the measurements taken on them.

A ``Blob`` is one connected component in a window of a binned map. ``Rings`` are the pixel
sets just inside and outside its outline; ``own_reading`` strips what lies under and around an
item (basis-material decomposition of inside minus ring); ``top_hat`` takes the broad layers
away from a mass-thickness map.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .calibration import calibration, own_material, own_materials
from .imaging import MaterialMaps, classify
from .projection import ScanConfig

EIGHT = np.ones((3, 3), dtype=bool)
TOPHAT_CM = 14.0  # wider than the narrow side of any block or sheet the rules look for


@dataclass
class Blob:
    """A component: its mask within a window whose corner is (row, col), at ``scale``."""

    row: int
    col: int
    mask: np.ndarray
    scale: int  # input pixels per pixel of this blob

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        return self.row, self.col, self.row + self.mask.shape[0], self.col + self.mask.shape[1]

    def rescaled(self, scale: int) -> Blob:
        """The blob at a finer ``scale`` (which must divide this one)."""
        factor = self.scale // scale
        if factor == 1:
            return self
        mask = np.repeat(np.repeat(self.mask, factor, axis=0), factor, axis=1)
        return Blob(self.row * factor, self.col * factor, mask, scale)

    def union(self, other: Blob) -> Blob:
        other = other.rescaled(self.scale) if other.scale > self.scale else other
        me = self.rescaled(other.scale) if self.scale > other.scale else self
        r0, c0 = min(me.row, other.row), min(me.col, other.col)
        r1 = max(me.bounds[2], other.bounds[2])
        c1 = max(me.bounds[3], other.bounds[3])
        mask = np.zeros((r1 - r0, c1 - c0), dtype=bool)
        for b in (me, other):
            mask[b.row - r0 : b.bounds[2] - r0, b.col - c0 : b.bounds[3] - c0] |= b.mask
        return Blob(r0, c0, mask, me.scale)

    def in_input(self, shape: tuple[int, int]) -> tuple[tuple[int, int, int, int], np.ndarray]:
        """(bbox, mask) in input pixels, cropped to the image and to the mask's extent."""
        fine = self.rescaled(1)
        r0, c0, r1, c1 = fine.bounds
        mask = fine.mask[: max(0, min(r1, shape[0]) - r0), : max(0, min(c1, shape[1]) - c0)]
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        if rows.size == 0:
            return (r0, c0, r0, c0), mask[:0, :0]
        mask = mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        return (
            r0 + int(rows[0]),
            c0 + int(cols[0]),
            r0 + int(rows[-1]) + 1,
            c0 + int(cols[-1]) + 1,
        ), mask


def distance_cm(a: Blob, b: Blob, pixel_cm: float) -> float:
    """Shortest distance (cm) between two blobs of one scale with pixel size ``pixel_cm``."""
    both = a.union(b)
    r0, c0 = both.row, both.col
    outside = np.ones(both.mask.shape, dtype=bool)
    outside[a.row - r0 : a.bounds[2] - r0, a.col - c0 : a.bounds[3] - c0] &= ~a.mask
    inside_b = np.zeros(both.mask.shape, dtype=bool)
    inside_b[b.row - r0 : b.bounds[2] - r0, b.col - c0 : b.bounds[3] - c0] = b.mask
    if outside.all() or not inside_b.any():
        return float("inf")
    distance = ndimage.distance_transform_edt(outside)
    return float(distance[inside_b].min()) * pixel_cm


# ---- helpers ------------------------------------------------------------------------------


def overlap(
    a: tuple[tuple[int, int, int, int], np.ndarray], b: tuple[tuple[int, int, int, int], np.ndarray]
) -> int:
    (ar0, ac0, ar1, ac1), am = a
    (br0, bc0, br1, bc1), bm = b
    top, left, bottom, right = max(ar0, br0), max(ac0, bc0), min(ar1, br1), min(ac1, bc1)
    if top >= bottom or left >= right:
        return 0
    return int(
        np.count_nonzero(
            am[top - ar0 : bottom - ar0, left - ac0 : right - ac0]
            & bm[top - br0 : bottom - br0, left - bc0 : right - bc0]
        )
    )


def bin_maps(maps: MaterialMaps, factor: int) -> MaterialMaps:
    """Further bin maps by ``factor``: transmissions are averaged, then looked up again."""
    if factor == 1:
        return maps

    def mean(a: np.ndarray) -> np.ndarray:
        rows, cols = a.shape[0] // factor * factor, a.shape[1] // factor * factor
        return (
            a[:rows, :cols]
            .reshape(rows // factor, factor, cols // factor, factor)
            .mean(axis=(1, 3))
        )

    a_high = -np.log(mean(np.exp(-maps.a_high)))
    if maps.a_low is None:
        zeff = mean(maps.zeff)
        mass = mean(maps.mass_thickness)
        return MaterialMaps(a_high, zeff, mass, classify(a_high, zeff), maps.pixel_cm * factor)
    a_low = -np.log(mean(np.exp(-maps.a_low)))
    config = maps.config or ScanConfig()
    zeff, mass = calibration(config).lookup(a_high, a_low / np.maximum(a_high, 1e-3))
    return MaterialMaps(
        a_high, zeff, mass, classify(a_high, zeff), maps.pixel_cm * factor, a_low, config
    )


@dataclass
class Rings:
    """Pixel sets around a component's outline, from two chessboard distance transforms."""

    inner: np.ndarray  # two or more pixels deep: the component less its outline
    inside2: np.ndarray  # exactly two pixels deep
    outside2: np.ndarray  # exactly two pixels out
    background: np.ndarray  # two or three pixels out

    @classmethod
    def of(cls, mask: np.ndarray) -> Rings:
        depth = ndimage.distance_transform_cdt(mask, metric="chessboard")
        out = ndimage.distance_transform_cdt(~mask, metric="chessboard")
        inner = depth >= 2
        if inner.sum() < 4:
            inner = mask
        return cls(inner, depth == 2, out == 2, (out >= 2) & (out <= 3))


@dataclass(frozen=True)
class Reading:
    """What ``own_reading`` reads off the maps before it converts: medians inside, the lower
    part of the ring around, and per-pixel fallbacks for maps without a low channel."""

    inside: tuple[float, float]  # median (a_high, a_low) of the inner pixels (a_low 0 if none)
    around: tuple[float, float]  # 30th percentile (a_high, a_low) of the background ring
    background_mt: float
    has_low: bool


def read(maps: MaterialMaps, rings: Rings, window: tuple[slice, slice]) -> Reading:
    """The raw reading of a component (see ``own_reading``)."""
    ring, inner = rings.background, rings.inner
    layers = [maps.a_high[window], maps.mass_thickness[window]]
    if maps.a_low is not None:
        layers.append(maps.a_low[window])
    stack = np.stack(layers)
    # one quantile call per pixel set, over all maps at once
    bg_h = bg_mt = bg_l = 0.0
    if ring.sum() >= 4:
        bg_h, bg_mt, *rest = (float(v) for v in np.quantile(stack[:, ring], 0.3, axis=1))
        bg_l = rest[0] if rest else 0.0
    in_h, _, *in_rest = (float(v) for v in np.median(stack[:, inner], axis=1))
    in_l = in_rest[0] if in_rest else 0.0
    return Reading((in_h, in_l), (bg_h, bg_l), bg_mt, bool(in_rest))


def own_reading(
    maps: MaterialMaps,
    rings: Rings,
    window: tuple[slice, slice],
    config: ScanConfig | None,
) -> tuple[float, float, float, float]:
    """(own a_high, own Zeff, own mass thickness, background mass thickness) of a component.

    The background is the lower part of a ring 2-3 pixels outside the component: things lying
    across the ring would raise a mean, and a lower quantile keeps to what is under the item.
    """
    return own_readings(maps, [(read(maps, rings, window), rings, window)], config)[0]


def own_readings(
    maps: MaterialMaps,
    readings: list[tuple[Reading, Rings, tuple[slice, slice]]],
    config: ScanConfig | None,
) -> list[tuple[float, float, float, float]]:
    """``own_reading`` of many components (each with its rings and window) at once: one
    basis-material decomposition for all of them."""
    out: list[tuple[float, float, float, float]] = []
    if readings and config is not None and all(r.has_low for r, _, _ in readings):
        own_h, zeff, mt = own_materials(
            config,
            np.array([r.inside for r, _, _ in readings]),
            np.array([r.around for r, _, _ in readings]),
        )
        return [
            (float(h), float(z), float(m), r.background_mt)
            for (r, _, _), h, z, m in zip(readings, own_h, zeff, mt, strict=True)
        ]
    for reading, rings, window in readings:
        (in_h, in_l), around, bg_mt = reading.inside, reading.around, reading.background_mt
        if reading.has_low and config is not None:
            own_h, z, mt = own_material(config, (in_h, in_l), around)
            out.append((own_h, z, mt, bg_mt))
            continue
        z = float(np.median(maps.zeff[window][rings.inner]))
        mt = float(np.median(maps.mass_thickness[window][rings.inner])) - bg_mt
        out.append((max(in_h - around[0], 1e-3), z, max(mt, 0.0), bg_mt))
    return out


def _window(sl: tuple[slice, slice], shape: tuple[int, ...], pad: int) -> tuple[slice, slice]:
    return (
        slice(max(sl[0].start - pad, 0), min(sl[0].stop + pad, shape[0])),
        slice(max(sl[1].start - pad, 0), min(sl[1].stop + pad, shape[1])),
    )


def components(
    mask: np.ndarray, min_px: int, max_px: int | None, scale: int, pad: int = 4
) -> list[Blob]:
    """Components of min_px-max_px pixels, each in a window ``pad`` pixels wider than it."""
    labels, n = ndimage.label(mask, EIGHT)
    if n == 0:
        return []
    sizes = np.bincount(labels.ravel(), minlength=n + 1)
    out = []
    for index, sl in enumerate(ndimage.find_objects(labels), start=1):
        if sl is None or sizes[index] < min_px or (max_px is not None and sizes[index] > max_px):
            continue
        window = _window(sl, mask.shape, pad)
        local = labels[window] == index
        out.append(Blob(window[0].start, window[1].start, local, scale))
    return out


def window_of(blob: Blob) -> tuple[slice, slice]:
    r0, c0, r1, c1 = blob.bounds
    return slice(r0, r1), slice(c0, c1)


# ---- detectors ----------------------------------------------------------------------------


def spread(values: np.ndarray) -> float:
    """(p90 - p10) / median: near 0 for a flat block, large for a cylinder or a lumpy pile."""
    p10, p50, p90 = np.quantile(values, (0.1, 0.5, 0.9))
    return float(p90 - p10) / max(float(p50), 1e-3)


def flatness(mask: np.ndarray, values: np.ndarray) -> float:
    """Mass thickness near the long edges over that along the middle, across the short axis.

    About 1 for a block or a sheet; about 0.75-0.85 for a lying bottle or can, whose chord
    thins towards its sides. ``values`` is the component's own mass thickness (background
    removed), the same shape as ``mask``.
    """
    rows, cols = np.nonzero(mask)
    if rows.size < 12:
        return 1.0
    dr, dc = rows - rows.mean(), cols - cols.mean()
    cov = np.array([[dr @ dr, dr @ dc], [dr @ dc, dc @ dc]])
    _, vectors = np.linalg.eigh(cov)
    minor = vectors[:, 0]
    across = np.abs(dr * minor[0] + dc * minor[1])
    across /= max(float(across.max()), 1e-6)
    v = values[rows, cols]
    middle = v[across < 0.35]
    sides = v[(across > 0.5) & (across < 0.85)]
    if middle.size < 3 or sides.size < 3:
        return 1.0
    return float(np.median(sides)) / max(float(np.median(middle)), 1e-3)


def edge_step(rings: Rings, mt: np.ndarray, own_mt: float) -> float:
    """How sharply mass thickness falls at the component's outline, as a share of its own.

    Compares the second ring of pixels inside the outline with the second ring outside it
    (the first rings share pixels with the edge itself after binning). A cut block or sheet
    steps down by its whole thickness (about 1); a bottle or a lumpy pile slopes away, and so
    does a component cut out of the middle of one (well under 1).
    """
    if rings.inside2.sum() < 4 or rings.outside2.sum() < 4:
        return 0.0
    step = float(np.median(mt[rings.inside2])) - float(np.median(mt[rings.outside2]))
    return step / max(own_mt, 0.1)


def top_hat(mt: np.ndarray, pixel_cm: float) -> np.ndarray:
    """Mass thickness above its grey opening by a TOPHAT_CM square: what lies on top of the
    broad layers (box floor, clothing) once they are taken away.

    The opening (a smooth background) is computed on a 2x min-pooled map and spread back,
    which keeps it below the map and costs a quarter of the full-size filter.
    """
    rows, cols = mt.shape[0] // 2 * 2, mt.shape[1] // 2 * 2
    pooled = mt[:rows, :cols].reshape(rows // 2, 2, cols // 2, 2).min(axis=(1, 3))
    size = max(3, round(TOPHAT_CM / (2 * pixel_cm)) | 1)
    opened = ndimage.grey_opening(pooled, size=(size, size))
    background = np.repeat(np.repeat(opened, 2, axis=0), 2, axis=1)
    background = np.pad(background, ((0, mt.shape[0] - rows), (0, mt.shape[1] - cols)), mode="edge")
    return np.maximum(mt - background, 0.0)
