from __future__ import annotations

import numpy as np
import pytest

from mailwarden.xray.detector import DualLayerDetector
from mailwarden.xray.spectrum import kramers, tube_spectrum


def test_kramers_spectrum_ends_at_tube_voltage_and_is_normalised():
    spectrum = kramers(100.0, characteristic=False)
    assert spectrum.fluence.sum() == pytest.approx(1.0)
    assert np.all(spectrum.fluence[spectrum.energies >= 100.0] == 0)
    # photon fluence per keV falls with energy (Kramers: (E0 - E) / E)
    assert np.all(np.diff(spectrum.fluence[spectrum.energies < 100.0]) < 0)


def test_tungsten_k_lines_appear_above_the_k_edge_only():
    at_160 = kramers(160.0)
    at_60 = kramers(60.0)
    i_ka1 = int(np.flatnonzero(at_160.energies == 59.0)[0])
    assert at_160.fluence[i_ka1] > 1.5 * at_160.fluence[i_ka1 + 2]
    assert at_60.fluence[i_ka1 - 1] < at_60.fluence[i_ka1 - 2]


def test_filtration_hardens_the_beam():
    bare = tube_spectrum(160.0, inherent_al_mm=0.0)
    aluminium = tube_spectrum(160.0, inherent_al_mm=2.5)
    copper = tube_spectrum(160.0, inherent_al_mm=2.5, added_cu_mm=0.5)
    assert bare.mean_energy() < aluminium.mean_energy() < copper.mean_energy()


@pytest.mark.parametrize("kvp", [10.0, 200.0])
def test_tube_voltage_outside_the_grid_is_refused(kvp):
    with pytest.raises(ValueError, match="kvp"):
        kramers(kvp)


def test_dual_layer_detector_separates_low_and_high_energies():
    weights = DualLayerDetector().weights(tube_spectrum())
    energies = tube_spectrum().energies
    assert weights.low.sum() == pytest.approx(1.0)
    assert weights.high.sum() == pytest.approx(1.0)
    low_mean = float(weights.low @ energies)
    high_mean = float(weights.high @ energies)
    assert high_mean > low_mean + 20.0
    assert 0 < weights.high_absorbed < weights.low_absorbed < 1


def test_thicker_back_layer_absorbs_more():
    thin = DualLayerDetector(back_mm=1.0).weights(tube_spectrum())
    thick = DualLayerDetector(back_mm=6.0).weights(tube_spectrum())
    assert thick.high_absorbed > thin.high_absorbed
