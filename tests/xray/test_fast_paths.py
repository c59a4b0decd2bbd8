"""Shortcuts taken for speed give what the plain computations give, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from mailwarden.xray.imaging import _block_mean
from mailwarden.xray.shape_features import solidity


@pytest.mark.parametrize("shape", [(768, 1024), (37, 51), (2, 2), (5, 3)])
def test_binning_a_detector_image_by_two_is_the_exact_block_mean(shape):
    image = np.random.default_rng(shape[0]).integers(0, 65536, shape, dtype=np.uint16)
    image[0, :2] = 65535  # the largest sum of four counts
    image[1, :2] = 65535
    rows, cols = shape[0] // 2 * 2, shape[1] // 2 * 2
    plain = image[:rows, :cols].reshape(rows // 2, 2, cols // 2, 2).astype(np.float64)
    expected = plain.mean(axis=(1, 3)).astype(np.float32)
    got = _block_mean(image, 2)
    assert got.dtype == np.float32
    assert np.array_equal(got, expected)


def _solidity_from_every_outline_pixel(mask: np.ndarray) -> float:
    n = int(np.count_nonzero(mask))
    if n < 8:
        return 1.0
    edge = mask & ~ndimage.binary_erosion(mask)
    er, ec = np.nonzero(edge)
    points = np.column_stack([er, ec]).astype(float)
    corners = np.concatenate(
        [points + d for d in ((-0.5, -0.5), (-0.5, 0.5), (0.5, -0.5), (0.5, 0.5))]
    )
    try:
        hull = ConvexHull(corners)
    except QhullError:
        return 1.0
    return min(1.0, n / hull.volume)


def test_solidity_from_each_rows_ends_is_the_solidity_of_the_whole_outline():
    rng = np.random.default_rng(17)
    masks = [np.ones((1, 9), bool), np.ones((9, 1), bool), np.eye(12, dtype=bool)]
    for _ in range(400):
        shape = (int(rng.integers(3, 60)), int(rng.integers(3, 60)))
        seeds = rng.random(shape) < rng.random() * 0.1
        masks.append(ndimage.binary_dilation(seeds, iterations=int(rng.integers(0, 5))))
    for mask in masks:
        assert solidity(mask) == _solidity_from_every_outline_pixel(mask)
