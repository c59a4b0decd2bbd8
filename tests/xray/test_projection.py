from __future__ import annotations

import numpy as np
import pytest

from mailwarden.xray.projection import ScanConfig, attenuation, projector, readout

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
