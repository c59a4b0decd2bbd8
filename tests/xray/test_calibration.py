from __future__ import annotations

import numpy as np
import pytest

from mailwarden.xray.calibration import (
    calibration,
    decompose,
    decompose_many,
    own_material,
    own_materials,
)
from mailwarden.xray.imaging import images_from_colour, material_maps, pseudo_colour
from mailwarden.xray.materials import effective_z, get
from mailwarden.xray.projection import projector, readout

from .conftest import QUIET


def measured(layers: dict[str, float]) -> tuple[float, float]:
    """(a_high, a_low) through uniform layers (cm), from the scanner's own model."""
    t_low, t_high = projector(QUIET).transmission(
        {name: np.full((1, 1), cm, np.float32) for name, cm in layers.items()}
    )
    return float(-np.log(t_high[0, 0])), float(-np.log(t_low[0, 0]))


def test_reference_wedges_read_back_their_own_z():
    table = calibration(QUIET)
    for name, (_, a_high, ratio) in table.wedges.items():
        middle = (a_high > 0.2) & (a_high < 4.0)
        z, _ = table.lookup(a_high[middle], ratio[middle])
        # nearest-cell lookup: R moves fast with Z among metals, so allow 2.5 % there
        tolerance = max(0.15, 0.025 * effective_z(name))
        assert np.allclose(z, effective_z(name), atol=tolerance), name


def test_ratio_for_inverts_the_lookup():
    table = calibration(QUIET)
    a_high = np.array([0.3, 1.0, 2.5])
    for z in (6.0, 7.4, 13.0, 26.0):
        ratio = table.ratio_for(a_high, np.full(3, z))
        back, _ = table.lookup(a_high, ratio)
        assert np.allclose(back, z, atol=0.15)


def test_decomposition_reproduces_a_measurement():
    a_high, a_low = measured({"water": 6.0, "aluminium": 0.8})
    assert decompose(QUIET, a_high, a_low) == pytest.approx([6.0, 0.8], abs=0.05)


@pytest.mark.parametrize(
    ("item", "cm", "under", "under_cm"),
    [("tnt", 3.0, "cardboard", 0.8), ("semtex", 0.7, "cotton", 8.0), ("water", 5.0, "paper", 2.0)],
)
def test_own_material_strips_what_lies_under_an_item(item, cm, under, under_cm):
    inside = measured({item: cm, under: under_cm})
    around = measured({under: under_cm})
    _, z, mass = own_material(QUIET, inside, around)
    # the composite reading would be pulled towards the material underneath
    assert z == pytest.approx(effective_z(item), abs=0.1)
    assert mass == pytest.approx(cm * get(item).density, rel=0.08)


def test_batched_decomposition_matches_one_at_a_time() -> None:
    cases = [
        ({"tnt": 3.0, "cardboard": 0.8}, {"cardboard": 0.8}),
        ({"semtex": 0.7, "cotton": 8.0}, {"cotton": 8.0}),
        ({"water": 5.0, "paper": 2.0}, {"paper": 2.0}),
        ({"iron": 0.3, "water": 4.0}, {"water": 4.0}),
    ]
    inside = np.array([measured(a) for a, _ in cases])
    around = np.array([measured(b) for _, b in cases])
    basis = decompose_many(QUIET, inside[:, 0], inside[:, 1])
    for row, (a_high, a_low) in zip(basis, inside, strict=True):
        assert row == pytest.approx(decompose(QUIET, a_high, a_low), abs=1e-5)
    own_h, z, mass = own_materials(QUIET, inside, around)
    for k, (i, o) in enumerate(zip(inside, around, strict=True)):
        one = own_material(QUIET, tuple(i), tuple(o))
        assert (own_h[k], z[k], mass[k]) == pytest.approx(one, abs=1e-4)
    assert all(v.size == 0 for v in own_materials(QUIET, np.zeros((0, 2)), np.zeros((0, 2))))


def test_colour_export_gives_back_material_maps():
    cols = QUIET.shape[1]
    water = np.zeros(QUIET.shape, np.float32)
    iron = np.zeros(QUIET.shape, np.float32)
    water[:, : cols // 2] = 5.0
    iron[:, cols // 2 :] = 0.3
    t_low, t_high = projector(QUIET).transmission({"water": water, "iron": iron})
    high, low = readout(t_low, t_high, QUIET)
    rgb = pseudo_colour(high, low, QUIET)
    maps = material_maps(*images_from_colour(rgb, QUIET), QUIET)
    assert float(np.median(maps.zeff[:, 5:30])) == pytest.approx(7.4, abs=0.4)
    assert float(np.median(maps.zeff[:, 50:75])) == pytest.approx(26.0, abs=3.0)
    direct = material_maps(high, low, QUIET)
    assert float(np.median(maps.a_high[:, 5:30])) == pytest.approx(
        float(np.median(direct.a_high[:, 5:30])), rel=0.1
    )
