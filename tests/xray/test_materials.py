from __future__ import annotations

import numpy as np
import pytest

from mailwarden.xray import materials


def test_water_at_60_kev_matches_reference():
    # NIST XCOM / Hubbell & Seltzer: 0.2059 cm2/g
    assert materials.mass_attenuation_at("water", 60.0) == pytest.approx(0.2059, rel=0.02)


def test_grid_covers_10_to_160_kev_in_1_kev_steps():
    grid = materials.ENERGIES_KEV
    assert grid[0] == 10 and grid[-1] == 160
    assert np.allclose(np.diff(grid), 1.0)
    assert materials.mass_attenuation("iron").shape == grid.shape


def test_lead_k_edge_jump_at_88_kev():
    below = materials.mass_attenuation_at("lead", 87.0)
    above = materials.mass_attenuation_at("lead", 89.0)
    assert above / below > 3.0
    mu = materials.mass_attenuation("lead")
    jump = int(np.argmax(mu[1:] / mu[:-1])) + 1
    assert materials.ENERGIES_KEV[jump] == 89.0


def test_attenuation_is_cached_and_read_only():
    first = materials.mass_attenuation("tnt")
    assert materials.mass_attenuation("tnt") is first
    with pytest.raises(ValueError):
        first[0] = 0.0


def test_linear_attenuation_scales_with_density():
    mu = materials.linear_attenuation("aluminium")
    assert np.allclose(mu, materials.mass_attenuation("aluminium") * 2.70)


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("water", 7.4, 7.5),
        ("tnt", 7.0, 7.2),
        ("rdx", 7.1, 7.3),
        ("petn", 7.3, 7.5),
        ("ammonium_nitrate", 7.3, 7.5),
        ("tatp", 6.6, 6.8),
        ("paper", 6.8, 7.0),
        ("sugar", 6.8, 7.0),
        ("polyethylene", 5.3, 5.6),
        ("aluminium", 12.99, 13.01),
        ("iron", 25.99, 26.01),
    ],
)
def test_effective_z_matches_field_notes(name, low, high):
    assert low <= materials.effective_z(name) <= high


def test_mixture_lies_between_its_parts():
    # a plastic explosive is mostly RDX in a hydrocarbon binder
    z = materials.effective_z("c4")
    assert materials.effective_z("polyethylene") < z < materials.effective_z("rdx")
    mu = materials.mass_attenuation("c4")
    lo = np.minimum(materials.mass_attenuation("rdx"), materials.mass_attenuation("polyethylene"))
    hi = np.maximum(materials.mass_attenuation("rdx"), materials.mass_attenuation("polyethylene"))
    assert np.all((mu >= lo * 0.999) & (mu <= hi * 1.001))


def test_unknown_material_names_the_known_ones():
    with pytest.raises(KeyError, match="water"):
        materials.get("kryptonite")
