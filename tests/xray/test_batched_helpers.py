"""Helpers that do many regions' (or pixels') work at once give what one at a time gives, to
the last bit: the analysis's findings must not depend on how its work is batched."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from mailwarden.xray.calibration import LOOKUP_CHUNK, calibration
from mailwarden.xray.detectors import _group_quantiles
from mailwarden.xray.projection import ScanConfig
from mailwarden.xray.shape_features import measure, measure_many


def test_a_map_looked_up_in_chunks_equals_it_looked_up_row_by_row() -> None:
    table = calibration(ScanConfig())
    g = np.random.default_rng(3)
    shape = (LOOKUP_CHUNK // 100 + 7, 230)  # more pixels than a chunk, and not a multiple
    a_high = g.uniform(-0.2, 9.5, shape).astype(np.float32)
    ratio = g.uniform(0.8, 3.4, shape).astype(np.float32)
    zeff, mass = table.lookup(a_high, ratio)
    for row in range(shape[0]):
        z, m = table.lookup(a_high[row], ratio[row])  # a row is under a chunk: looked up whole
        assert np.array_equal(zeff[row], z) and np.array_equal(mass[row], m)
    assert zeff.dtype == np.float32 and zeff.shape == shape


def _offset_sort_quantiles(values: np.ndarray, groups: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The readings as an earlier form of ``_group_quantiles`` took them, every group's pixels
    labelled on their own: sorted by (group * span + value - low), shifted back, interpolated."""
    count = q.size
    sizes = np.bincount(groups, minlength=count)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = q * (sizes - 1)
    lo = np.floor(position).astype(np.intp)
    hi = np.minimum(lo + 1, sizes - 1)
    first = np.repeat(np.arange(count), sizes).astype(float)
    out = np.empty((values.shape[0], count))
    for c in range(values.shape[0]):
        low = float(values[c].min())
        span = float(values[c].max()) - low + 1.0
        ordered = np.sort(groups * span + (values[c] - low)) - first * span + low
        a, b = ordered[starts + lo], ordered[starts + hi]
        out[c] = a + (b - a) * (position - lo)
    return out


def test_groups_sharing_a_pixel_set_read_it_as_if_each_held_its_own_copy() -> None:
    g = np.random.default_rng(11)
    for dtype in (np.float32, np.float64):
        values = g.normal(2.0, 1.5, size=(2, 900)).astype(dtype)
        labels = g.integers(0, 4, 900)  # four pixel sets
        # six groups: sets 0-3, and two more reading set 2 at other quantiles
        source = np.array([0, 1, 2, 3, 2, 2])
        q = np.array([0.5, 0.1, 0.3, 0.9, 0.6, 0.1])
        shared = _group_quantiles(values, labels, 6, q, source)
        # the same readings with set 2 copied out for groups 4 and 5
        copies = np.concatenate([values, values[:, labels == 2], values[:, labels == 2]], axis=1)
        copied = np.concatenate([labels, np.full(2 * int((labels == 2).sum()), 4)])
        copied[900 + int((labels == 2).sum()) :] = 5
        order = np.argsort(copied, kind="stable")
        expected = _offset_sort_quantiles(copies[:, order], copied[order], q)
        assert np.array_equal(shared, expected)
        for k in range(6):
            pixels = values[:, labels == source[k]].astype(float)
            assert np.allclose(shared[:, k], np.quantile(pixels, q[k], axis=1), atol=1e-5)


def test_group_quantiles_leave_a_group_with_an_empty_source_missing() -> None:
    values = np.arange(10, dtype=np.float32)[None]
    out = _group_quantiles(
        values, np.zeros(10, dtype=np.intp), 3, np.full(3, 0.5), np.array([0, 1, 0])
    )
    assert out[0, 0] == out[0, 2] == 4.5
    assert np.isnan(out[0, 1])


def test_shapes_measured_together_equal_shapes_measured_alone() -> None:
    g = np.random.default_rng(5)
    masks = []
    for _ in range(12):
        noise = ndimage.gaussian_filter(g.random((40, 50)), 3)
        labels, _ = ndimage.label(noise > np.quantile(noise, 0.7))
        sizes = np.bincount(labels.ravel())[1:]
        masks.append(labels == 1 + int(sizes.argmax()))
    masks.append(np.ones((1, 1), dtype=bool))  # a single pixel
    masks.append(np.eye(9, dtype=bool))  # a thin diagonal
    offsets = [(int(g.integers(0, 99)), int(g.integers(0, 99))) for _ in masks]
    together = measure_many(masks, 0.4, offsets, hull=True)
    alone = [measure(m, 0.4, o, hull=True) for m, o in zip(masks, offsets, strict=True)]
    assert together == alone
