"""Threat image projection: threats rendered alone, placed and projected in log space."""

from __future__ import annotations

import numpy as np
import pytest

from mailwarden.xray import tip
from mailwarden.xray.tip import Difficulty, ThreatImage

from .conftest import rng

AIR = tip.TIP_CONFIG.air_level


def flat_bag(value: int = 40_000, shape: tuple[int, int] = (300, 400)) -> np.ndarray:
    return np.full(shape, value, dtype=np.uint16)


@pytest.mark.parametrize("category", tip.CATEGORIES)
def test_a_threat_of_every_category_is_drawn_with_an_outline(category: str) -> None:
    threat = tip.threat_image(category, rng(3))
    assert threat.category == category
    assert threat.label
    assert threat.a_high.shape == threat.a_low.shape == threat.mask.shape
    assert threat.mask.any()
    assert (threat.a_high >= 0).all() and (threat.a_low >= 0).all()
    # The box is cropped to the outline: every edge row and column holds part of the threat.
    assert threat.mask[0].any() and threat.mask[-1].any()
    assert threat.mask[:, 0].any() and threat.mask[:, -1].any()


def test_projection_darkens_exactly_the_threats_pixels_by_its_transmission() -> None:
    threat = tip.threat_image("gun", rng(5))
    high, low = flat_bag(), flat_bag(30_000)
    out = tip.project(high, low, threat, (20, 30))
    r0, c0, r1, c1 = out.bbox
    assert (r1 - r0, c1 - c0) == threat.shape
    outside = np.ones(high.shape, dtype=bool)
    outside[r0:r1, c0:c1] = False
    assert (out.high[outside] == high[outside]).all()
    assert (out.low[outside] == low[outside]).all()
    expected_high = np.rint(40_000 * np.exp(-threat.a_high.astype(np.float64)))
    expected_low = np.rint(30_000 * np.exp(-threat.a_low.astype(np.float64)))
    assert np.abs(out.high[r0:r1, c0:c1] - expected_high).max() <= 1
    assert np.abs(out.low[r0:r1, c0:c1] - expected_low).max() <= 1
    # The mask is the threat's outline where it went, and the low channel is darkened more.
    assert (out.mask[r0:r1, c0:c1] == threat.mask).all() and not out.mask[outside].any()
    inside = threat.mask
    assert (out.high[r0:r1, c0:c1][inside] < 40_000).all()
    assert float(threat.a_low[inside].mean()) > float(threat.a_high[inside].mean())


def test_projection_adds_attenuation_in_log_space() -> None:
    threat = tip.threat_image("knife", rng(11))
    dark, light = flat_bag(8_000), flat_bag(50_000)
    at = (10, 10)
    r0, c0 = at
    h, w = threat.shape
    # The same threat takes the same share of the beam whatever lies under it...
    for bag in (dark, light):
        out = tip.project(bag, bag, threat, at)
        added = np.log(
            bag[r0 : r0 + h, c0 : c0 + w] / np.maximum(out.high[r0 : r0 + h, c0 : c0 + w], 1)
        )
        strong = threat.a_high < 3.0  # where rounding to whole counts is still small
        assert np.allclose(added[strong], threat.a_high[strong], atol=0.01)
    # ...and two projected threats attenuate as the sum of both.
    twice = tip.project(*[tip.project(light, light, threat, at).high] * 2, threat, at)
    total = np.log(50_000 / np.maximum(twice.high[r0 : r0 + h, c0 : c0 + w], 1))
    moderate = 2 * threat.a_high < 3.0
    assert np.allclose(total[moderate], 2 * threat.a_high[moderate], atol=0.02)


def test_a_tilted_threat_is_thinner_and_darker() -> None:
    flat = tip.threat_image("knife", rng(21), viewpoint=0.0)
    tilted = tip.threat_image("knife", rng(21), viewpoint=1.0)
    assert tilted.label == flat.label
    assert tilted.mask.sum() < 0.5 * flat.mask.sum()
    assert tilted.a_high[tilted.mask].mean() > 1.5 * flat.a_high[flat.mask].mean()


def test_size_scales_the_threats_area() -> None:
    small = tip.threat_image("gun", rng(8), scale=0.6)
    large = tip.threat_image("gun", rng(8), scale=1.4)
    assert large.mask.sum() > 3 * small.mask.sum()


def _clutter_under(high: np.ndarray, threat: ThreatImage, at: tuple[int, int]) -> float:
    r, c = at
    h, w = threat.shape
    window = high[r : r + h, c : c + w].astype(np.float64)
    return float(np.log(AIR / np.maximum(window, 1)).mean())


def test_superposition_chooses_empty_space_or_dense_clutter() -> None:
    bag = tip.benign_bag(rng(2), complexity=1.0)
    threat = tip.threat_image("explosive", rng(4), scale=0.6)
    under_empty, under_dense = [], []
    for seed in range(4):
        easy = tip.place(bag.high, threat, rng(seed), superposition=0.0, air_level=AIR)
        hard = tip.place(bag.high, threat, rng(seed), superposition=1.0, air_level=AIR)
        under_empty.append(_clutter_under(bag.high, threat, easy))
        under_dense.append(_clutter_under(bag.high, threat, hard))
    assert all(d > e for d, e in zip(under_dense, under_empty, strict=True))
    assert np.mean(under_dense) > 1.5 * np.mean(under_empty)


def test_placement_keeps_the_threat_inside_the_image() -> None:
    bag = tip.benign_bag(rng(9), complexity=0.5)
    threat = tip.threat_image("gun", rng(1))
    for seed in range(5):
        row, col = tip.place(bag.high, threat, rng(seed), superposition=0.5, air_level=AIR)
        h, w = threat.shape
        assert row >= 0 and row + h <= bag.high.shape[0]
        assert col >= 0 and col + w <= bag.high.shape[1]


def test_bag_complexity_fills_the_bag() -> None:
    sparse = tip.benign_bag(rng(6), complexity=0.0)
    crowded = tip.benign_bag(rng(6), complexity=1.0)
    assert len(crowded.objects) > len(sparse.objects)
    assert not sparse.threats() and not crowded.threats()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: tip.threat_image("spoon", rng()), "category"),
        (lambda: tip.threat_image("knife", rng(), viewpoint=1.5), "viewpoint"),
        (lambda: tip.threat_image("knife", rng(), viewpoint=-0.1), "viewpoint"),
        (lambda: tip.threat_image("knife", rng(), scale=3.0), "scale"),
        (lambda: Difficulty(superposition=2.0), "superposition"),
        (lambda: Difficulty(complexity=-1.0), "complexity"),
        (lambda: Difficulty(viewpoint=float("nan")), "viewpoint"),
    ],
)
def test_bad_arguments_are_refused_naming_the_argument(call: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        call()  # type: ignore[operator]


def test_a_threat_that_does_not_fit_is_refused() -> None:
    threat = tip.threat_image("gun", rng(1))
    with pytest.raises(ValueError, match="at"):
        tip.project(flat_bag(), flat_bag(), threat, (299, 0))
    with pytest.raises(ValueError, match="at"):
        tip.project(flat_bag(), flat_bag(), threat, (-1, 0))
    tiny = flat_bag(shape=(10, 10))
    with pytest.raises(ValueError, match="threat"):
        tip.place(tiny, threat, rng(), superposition=0.5, air_level=AIR)


def test_a_threat_is_placed_inside_the_bag_not_hanging_out_of_it() -> None:
    bag = tip.benign_bag(rng(12), complexity=0.2)
    attenuation = np.log(AIR / np.maximum(bag.high.astype(np.float64), 1))
    parcel = attenuation > 0.03
    rows, cols = (
        np.flatnonzero(parcel.mean(axis=1) > 0.2),
        np.flatnonzero(parcel.mean(axis=0) > 0.2),
    )
    threat = tip.threat_image("explosive", rng(2), scale=0.6)
    h, w = threat.shape
    for seed in range(4):
        for superposition in (0.0, 1.0):
            r, c = tip.place(
                bag.high, threat, rng(seed), superposition=superposition, air_level=AIR
            )
            assert rows[0] - 2 <= r and r + h <= rows[-1] + 3
            assert cols[0] - 2 <= c and c + w <= cols[-1] + 3


def test_a_bag_with_no_room_refuses_a_threat_inside_it() -> None:
    high = np.full((300, 400), AIR, dtype=np.uint16)
    high[100:140, 100:140] = AIR // 2  # a small parcel
    threat = tip.threat_image("gun", rng(1))
    with pytest.raises(ValueError, match="no room"):
        tip.place(high, threat, rng(), superposition=0.0, air_level=AIR)
    row, col = tip.place(high, threat, rng(), superposition=0.0, air_level=AIR, within_bag=False)
    assert row >= 0 and col >= 0
