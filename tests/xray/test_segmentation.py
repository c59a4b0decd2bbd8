"""The measurements that segmentation takes the fast way give what numpy and scipy give, bit
for bit: the analysis must not move when they are swapped in."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from mailwarden.xray.segmentation import (
    EIGHT,
    Blob,
    Rings,
    components,
    open2,
    open3,
    sorted_median,
    sorted_quantile,
)

SHAPES = [(1, 1), (1, 7), (6, 1), (2, 2), (5, 9), (17, 12), (31, 40)]


def _masks(seed: int) -> list[np.ndarray]:
    g = np.random.default_rng(seed)
    out = []
    for shape in SHAPES:
        for share in (0.05, 0.5, 0.9):
            mask = g.random(shape) < share
            out += [mask, ndimage.binary_opening(mask)]
        out += [np.zeros(shape, bool), np.ones(shape, bool)]
    return out


def test_openings_match_scipy() -> None:
    g = np.random.default_rng(1)
    for mask in _masks(1):
        assert np.array_equal(open2(mask), ndimage.binary_opening(mask, np.ones((2, 2), bool)))
        values = (g.random(mask.shape) * mask).astype(np.float32)
        assert np.array_equal(open3(values), ndimage.grey_opening(values, footprint=EIGHT))


def test_rings_match_the_chessboard_distance_transforms() -> None:
    for mask in _masks(2):
        depth = ndimage.distance_transform_cdt(mask, metric="chessboard")
        out = ndimage.distance_transform_cdt(~mask, metric="chessboard")
        inner = depth >= 2
        rings = Rings.of(mask)
        assert np.array_equal(rings.inner, inner if inner.sum() >= 4 else mask)
        assert np.array_equal(rings.inside2, depth == 2)
        assert np.array_equal(rings.outside2, out == 2)
        assert np.array_equal(rings.background, (out >= 2) & (out <= 3))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sorted_quantiles_and_medians_match_numpy_to_the_bit(dtype) -> None:
    g = np.random.default_rng(3)
    for n in [*range(1, 12), 97, 500]:
        values = g.normal(5.0, 2.0, (3, n)).astype(dtype)
        ordered = np.sort(values, axis=1)
        assert np.array_equal(sorted_median(ordered), np.median(values, axis=1))
        assert sorted_median(ordered[0]) == np.median(values[0])
        for q in (0.0, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 0.95, 1.0):
            weak = np.quantile(values, q, axis=1)  # a Python float: the values' precision
            assert np.array_equal(sorted_quantile(ordered, q), weak)
            strong = np.quantile(values[0], (q, 0.5))[0]  # a tuple of them: float64
            assert sorted_quantile(ordered[0], np.float64(q)) == strong
            assert sorted_quantile(ordered[0], np.float64(q)).dtype == strong.dtype


def test_components_keep_those_of_the_size_range_in_label_order() -> None:
    g = np.random.default_rng(4)
    mask = np.zeros((70, 95), bool)  # an empty margin, which the labelling leaves out
    mask[5:65, 9:89] = ndimage.binary_opening(g.random((60, 80)) < 0.6)
    labels, n = ndimage.label(mask, EIGHT)
    sizes = np.bincount(labels.ravel())
    found = components(mask, 6, 40, 2)
    expected = [k for k in range(1, n + 1) if 6 <= sizes[k] <= 40]
    assert len(found) == len(expected) > 3
    assert components(np.zeros((8, 8), bool), 1, None, 1) == []
    for blob, k in zip(found, expected, strict=True):
        assert isinstance(blob, Blob) and blob.scale == 2
        r0, c0, r1, c1 = blob.bounds
        assert np.array_equal(blob.mask, labels[r0:r1, c0:c1] == k)
