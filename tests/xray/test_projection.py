from __future__ import annotations

import numpy as np
import pytest

from mailwarden.xray.projection import (
    BASIS_SIZE,
    ScanConfig,
    _coarse_blur,
    _scatter,
    attenuation,
    descatter,
    projector,
    readout,
)

from .conftest import QUIET


@pytest.mark.parametrize(
    ("material", "cm"),
    [
        ("water", 10.0),
        ("paper", 3.0),
        ("aluminium", 2.0),
        ("iron", 0.5),
        ("lead", 0.2),
        ("pvc", 2.0),
    ],
)
def test_binned_model_matches_the_1_kev_sum(material, cm):
    proj = projector(QUIET)
    t_low, t_high = proj.transmission({material: np.full((1, 1), cm, dtype=np.float32)})
    exact_low, exact_high = proj.exact_transmission({material: cm})
    assert -np.log(t_low[0, 0]) == pytest.approx(-np.log(exact_low), rel=0.015)
    assert -np.log(t_high[0, 0]) == pytest.approx(-np.log(exact_high), rel=0.015)


def test_overlapping_layers_attenuate_like_their_sum():
    proj = projector(QUIET)
    both = proj.transmission(
        {"water": np.full((1, 1), 5.0, np.float32), "iron": np.full((1, 1), 0.2, np.float32)}
    )
    exact = proj.exact_transmission({"water": 5.0, "iron": 0.2})
    assert both[0][0, 0] == pytest.approx(exact[0], rel=0.02)
    assert both[1][0, 0] == pytest.approx(exact[1], rel=0.02)


def test_low_channel_is_attenuated_more_than_high():
    proj = projector(QUIET)
    t_low, t_high = proj.transmission({"aluminium": np.full((1, 1), 1.0, np.float32)})
    assert t_low[0, 0] < t_high[0, 0] < 1.0


def test_readout_is_uint16_with_air_at_the_air_level():
    config = ScanConfig(shape=(50, 60))
    ones = np.ones(config.shape, np.float32)
    high, low = readout(ones, ones, config, np.random.default_rng(1))
    assert high.dtype == np.uint16 and low.dtype == np.uint16
    assert abs(float(high.mean()) - config.air_level) < 30
    # quantum noise: relative spread about 1 / sqrt(quanta)
    expected = config.air_level / np.sqrt(config.quanta_high)
    assert 0.7 * expected < float(high.std()) < 1.3 * expected


def test_detector_saturates_at_full_scale():
    config = ScanConfig(shape=(20, 20), air_level=70_000)
    ones = np.ones(config.shape, np.float32)
    high, low = readout(ones, ones, config, np.random.default_rng(1))
    assert high.max() == 65535 and low.max() == 65535
    assert np.mean(high == 65535) > 0.99


def test_adc_bits_quantise_the_output():
    config = ScanConfig(shape=(20, 20), adc_bits=12)
    t = np.full(config.shape, 0.5, np.float32)
    high, _ = readout(t, t, config, np.random.default_rng(1))
    assert np.all(high % 16 == 0)


def test_noise_needs_a_generator():
    ones = np.ones((4, 4), np.float32)
    with pytest.raises(ValueError, match="rng"):
        readout(ones, ones, ScanConfig(shape=(4, 4)))


def test_behind_lead_counts_are_poisson_not_negative():
    config = ScanConfig(shape=(40, 40), scatter_fraction=0.0)
    dark = np.full(config.shape, 1e-4, np.float32)
    high, _ = readout(dark, dark, config, np.random.default_rng(3))
    assert high.min() >= 0
    assert attenuation(high, config.air_level).max() > 6.0


def _full_size_blur(t: np.ndarray, sigma_px: float) -> np.ndarray:
    small, step = _coarse_blur(t, sigma_px, 8)
    return np.repeat(np.repeat(small, step, axis=0), step, axis=1)[: t.shape[0], : t.shape[1]]


@pytest.mark.parametrize("shape", [(64, 96), (50, 61)])
def test_scatter_and_its_removal_match_the_full_size_blur(shape):
    # the blur is added block by block (a broadcast view where the blocks tile the image)
    config = ScanConfig(shape=shape)
    t = np.random.default_rng(2).uniform(0.01, 1.0, shape).astype(np.float32)
    f, sigma = config.scatter_fraction, config.scatter_sigma_cm / config.pixel_cm
    assert np.array_equal(_scatter(t, config), (1.0 - f) * t + f * _full_size_blur(t, sigma))
    expected = (t - f * _full_size_blur(t, sigma)) / (1.0 - f)
    assert np.array_equal(descatter(t, config, config.pixel_cm), expected)


def test_transmission_is_the_same_to_the_bit_in_cache_sized_blocks():
    # chunks of 2**15 pixels, each chunk's exponent taken a cache block at a time: the same
    # as one product and one exponent per chunk
    proj = projector(ScanConfig())
    g = np.random.default_rng(5)
    thickness = g.uniform(0, 0.4, (BASIS_SIZE, 300, 260)).astype(np.float32)
    occupied = g.random((300, 260)) < 0.9
    t_low, t_high = proj.transmission_from_basis(thickness, occupied)
    flat = thickness.reshape(BASIS_SIZE, -1)
    index = np.flatnonzero(occupied)
    assert index.size > 2**16  # three chunks, the last one short
    for start in range(0, index.size, 2**15):
        part = index[start : start + 2**15]
        passed = np.exp(-(proj.basis @ flat[:, part]))
        assert np.array_equal(t_low.ravel()[part], proj.bin_low @ passed)
        assert np.array_equal(t_high.ravel()[part], proj.bin_high @ passed)
    assert np.all(t_low[~occupied] == 1.0) and np.all(t_high[~occupied] == 1.0)
