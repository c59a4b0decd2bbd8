"""The readings of the layer an organic mass adds (``detectors.added_layer``)."""

from __future__ import annotations

import numpy as np
import pytest

from mailwarden.xray.calibration import calibration
from mailwarden.xray.detectors import (
    EXPLOSIVE_BAND_Z,
    LAYER_READINGS,
    SIDE_FEATURES,
    Organic,
    _group_quantiles,
    added_layer,
)
from mailwarden.xray.imaging import MaterialMaps, classify
from mailwarden.xray.materials import effective_z
from mailwarden.xray.projection import ScanConfig, projector
from mailwarden.xray.rules import AnalysisParams
from mailwarden.xray.scorer import MISSING
from mailwarden.xray.segmentation import Blob, Rings, own_reading, own_readings, read
from mailwarden.xray.shape_features import measure

# noise-free maps of 0.4 cm pixels, as the organic detectors see them
MAPS = ScanConfig(shape=(60, 80), pixel_cm=0.4, noise=False, scatter_fraction=0.0)
FLOOR = ("cardboard", 0.8)  # the box floor under everything, cm


def maps_of(layers: dict[str, np.ndarray]) -> MaterialMaps:
    """Material maps of path lengths (cm per pixel) through the scanner's own model."""
    paths = {FLOOR[0]: np.full(MAPS.shape, FLOOR[1], np.float32)}
    for name, cm in layers.items():
        paths[name] = paths.get(name, 0) + cm.astype(np.float32)
    t_low, t_high = projector(MAPS).transmission(paths)
    a_high, a_low = -np.log(t_high), -np.log(t_low)
    zeff, mass = calibration(MAPS).lookup(a_high, a_low / np.maximum(a_high, 1e-3))
    return MaterialMaps(a_high, zeff, mass, classify(a_high, zeff), MAPS.pixel_cm, a_low, MAPS)


def mass_at(maps: MaterialMaps, rows: slice, cols: slice) -> Organic:
    """An organic mass outlined by a rectangle, in a window 4 pixels wider (as ``components``
    gives), with the features that admit it to the explosive scorer."""
    pad = 4
    r0, c0 = rows.start - pad, cols.start - pad
    mask = np.zeros((rows.stop - rows.start + 2 * pad, cols.stop - cols.start + 2 * pad), bool)
    mask[pad:-pad, pad:-pad] = True
    blob = Blob(r0, c0, mask, 4)
    rings = Rings.of(mask)
    window = (slice(r0, r0 + mask.shape[0]), slice(c0, c0 + mask.shape[1]))
    _, z, mt, bg = own_reading(maps, rings, window, MAPS)
    shape = measure(mask, maps.pixel_cm, (r0, c0), hull=False)
    features = {"zeff": z, "mass_thickness": mt, "background_mt": bg, "area_cm2": shape.area}
    return Organic(blob, shape, features, rings)


def sheet_under_clothing() -> tuple[MaterialMaps, Organic]:
    """A 0.7 cm semtex sheet whose right half lies under a thick layer of cotton clothing that
    reaches well beyond it."""
    semtex = np.zeros(MAPS.shape, np.float32)
    semtex[20:40, 16:48] = 0.7
    cotton = np.zeros(MAPS.shape, np.float32)
    cotton[8:52, 32:76] = 8.0
    maps = maps_of({"semtex": semtex, "cotton": cotton})
    return maps, mass_at(maps, slice(20, 40), slice(16, 48))


def test_edge_readings_give_the_sheets_own_material_under_clothing() -> None:
    maps, sheet = sheet_under_clothing()
    added_layer(maps, [sheet], AnalysisParams(), MAPS)
    f = sheet.features
    lo, hi = EXPLOSIVE_BAND_Z
    # one background for the whole sheet mixes in the clothing over half of it...
    assert f["zeff"] < lo
    # ...while the step at its outline, all round it, is the sheet alone
    assert f["edge_zeff"] == pytest.approx(effective_z("semtex"), abs=0.1)
    assert lo < f["side_zeff"] < hi
    assert f["side_band"] == 1.0 and f["sides"] >= 6
    assert f["side_zeff_spread"] < 0.1
    assert f["edge_mt"] == pytest.approx(0.7 * 1.55, rel=0.15)
    # the thin (bare) part against the ring reads the sheet; thick less thin, the clothing
    assert f["thin_zeff"] == pytest.approx(effective_z("semtex"), abs=0.1)
    assert f["overlay_zeff"] == pytest.approx(effective_z("cotton"), abs=0.1)


def test_bare_clothing_reads_outside_the_explosive_band() -> None:
    cols = np.mgrid[0 : MAPS.shape[0], 0 : MAPS.shape[1]][1]
    cotton = np.zeros(MAPS.shape, np.float32)
    cotton[18:42, 18:62] = 6.0 + 2.0 * np.sin(cols[18:42, 18:62] / 3.0)  # folds
    maps = maps_of({"cotton": cotton})
    heap = mass_at(maps, slice(18, 42), slice(18, 62))
    heap.features["zeff"] = 7.0  # admitted whatever its reading, to be read further
    added_layer(maps, [heap], AnalysisParams(), MAPS)
    f = heap.features
    assert f["edge_zeff"] < EXPLOSIVE_BAND_Z[0]
    assert f["edge_zeff"] == pytest.approx(effective_z("cotton"), abs=0.1)
    assert f["side_band"] == 0.0


def test_masses_outside_the_gate_and_colour_maps_are_left_unread() -> None:
    maps, sheet = sheet_under_clothing()
    sheet.features["zeff"] = 12.0  # inorganic: neither the gate nor the rules take it
    sheet.features |= {"spread": 0.0, "flatness": 1.0, "edge_step": 1.0, "length_cm": 12.8}
    sheet.features |= {"width_cm": 8.0, "elongation": 1.6, "rectangularity": 1.0}
    added_layer(maps, [sheet], AnalysisParams(), MAPS)
    assert "edge_zeff" not in sheet.features
    maps, sheet = sheet_under_clothing()
    colour = MaterialMaps(maps.a_high, maps.zeff, maps.mass_thickness, maps.classes, 0.4)
    added_layer(colour, [sheet], AnalysisParams(), None)
    assert "edge_zeff" not in sheet.features


def test_a_mass_too_small_for_its_rings_gets_missing_readings() -> None:
    maps, _ = sheet_under_clothing()
    tiny = mass_at(maps, slice(25, 27), slice(20, 22))
    tiny.features |= {"zeff": 7.0, "mass_thickness": 1.0}
    added_layer(maps, [tiny], AnalysisParams(), MAPS)
    assert all(tiny.features[name] == MISSING for name in SIDE_FEATURES)
    assert all(f"{name}_zeff" in tiny.features for name in LAYER_READINGS)


def test_group_quantiles_match_numpy() -> None:
    g = np.random.default_rng(0)
    values = g.normal(size=(2, 300))
    groups = g.integers(0, 5, 300)
    q = np.array([0.5, 0.1, 0.3, 0.9, 0.5])
    out = _group_quantiles(values, groups, 6, np.append(q, 0.5))
    for k in range(5):
        assert np.allclose(out[:, k], np.quantile(values[:, groups == k], q[k], axis=1))
    assert np.isnan(out[:, 5]).all()  # an empty group


def test_own_readings_of_many_masses_match_one_at_a_time() -> None:
    maps, _ = sheet_under_clothing()
    boxes = [
        (slice(20, 40), slice(16, 48)),
        (slice(10, 30), slice(40, 70)),
        (slice(30, 50), slice(8, 30)),
    ]
    entries = []
    for rows, cols in boxes:
        mass = mass_at(maps, rows, cols)
        assert mass.rings is not None
        window = (
            slice(mass.blob.row, mass.blob.bounds[2]),
            slice(mass.blob.col, mass.blob.bounds[3]),
        )
        entries.append((read(maps, mass.rings, window), mass.rings, window))
    together = own_readings(maps, entries, MAPS)
    for (_, rings, window), reading in zip(entries, together, strict=True):
        assert reading == pytest.approx(own_reading(maps, rings, window, MAPS), abs=1e-4)
