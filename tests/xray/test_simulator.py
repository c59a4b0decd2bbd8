from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from mailwarden.xray import objects, simulator
from mailwarden.xray.objects import THREAT_CLASSES, Item
from mailwarden.xray.projection import ScanConfig, projector
from mailwarden.xray.shapes import Part, rod, slab
from mailwarden.xray.simulator import Scene, simulate_letters, simulate_parcel

from .conftest import SMALL, rng


def test_same_seed_gives_identical_images():
    a = simulate_parcel(11, SMALL, threat="knife")
    b = simulate_parcel(11, SMALL, threat="knife")
    assert np.array_equal(a.high, b.high) and np.array_equal(a.low, b.low)
    assert [o.label for o in a.objects] == [o.label for o in b.objects]


def test_different_seeds_give_different_images():
    a = simulate_parcel(11, SMALL)
    b = simulate_parcel(12, SMALL)
    assert not np.array_equal(a.high, b.high)


def test_output_is_16_bit_with_air_near_the_air_level():
    scan = simulate_parcel(5, SMALL)
    assert scan.high.dtype == np.uint16 and scan.low.dtype == np.uint16
    assert scan.high.shape == SMALL.shape
    corner = scan.high[:5, :5].astype(float)  # the belt outside the box
    assert abs(corner.mean() - SMALL.air_level) < 0.02 * SMALL.air_level


@pytest.mark.parametrize("threat", THREAT_CLASSES)
def test_threat_parcel_holds_one_labelled_threat(threat):
    scan = simulate_parcel(3, SMALL, threat=threat)
    planted = scan.threats()
    assert [o.threat for o in planted] == [threat]
    assert planted[0].area_px > 50


def test_unknown_threat_is_refused():
    with pytest.raises(ValueError, match="threat"):
        simulate_parcel(1, SMALL, threat="bazooka")


def test_mask_and_paths_match_the_placed_object():
    config = ScanConfig(shape=(100, 120))
    scene = Scene(config)
    item = Item("slab", (Part("iron", slab(4.0, 2.0, 0.3), 2.5),))
    placed = scene.add(item, 6.0, 5.0, 0.0)
    assert placed is not None and placed.label == "slab" and placed.materials == ("iron",)
    full = placed.full_mask(config.shape)
    # 4 x 2 cm at 1 mm pixels
    assert 780 <= full.sum() <= 840
    assert np.array_equal(full, scene.paths["iron"] > 0)
    assert np.allclose(scene.paths["iron"][full], 0.3)
    rows, cols = np.nonzero(full)
    assert abs(rows.mean() * 0.1 + 0.05 - 5.0) < 0.1 and abs(cols.mean() * 0.1 + 0.05 - 6.0) < 0.1


def test_rotation_turns_the_mask():
    config = ScanConfig(shape=(100, 100))
    item = Item("bar", (Part("iron", slab(6.0, 1.0, 0.2), 3.1),))
    flat = Scene(config).add(item, 5.0, 5.0, 0.0)
    turned = Scene(config).add(item, 5.0, 5.0, np.pi / 2)
    assert flat is not None and turned is not None
    assert flat.mask.shape[1] > 3 * flat.mask.shape[0]
    assert turned.mask.shape[0] > 3 * turned.mask.shape[1]


def test_thin_wire_keeps_its_cross_section():
    config = ScanConfig(shape=(40, 200))
    scene = Scene(config)
    scene.add(Item("wire", (Part("copper", rod(15.0, 0.03), 7.6),)), 10.0, 2.0, 0.13)
    # copper per cm of wire = pi r^2, whatever the pixel grid
    per_cm = scene.paths["copper"].sum() * config.pixel_cm**2 / 15.0
    assert per_cm == pytest.approx(np.pi * 0.03**2, rel=0.1)


def test_items_stay_inside_the_box():
    scan = simulate_parcel(21, SMALL)
    inside = np.zeros(SMALL.shape, bool)
    for obj in scan.objects:
        inside |= obj.full_mask(SMALL.shape)
    # box walls are drawn at the rim; nothing is placed outside them
    cols = np.flatnonzero(inside.any(axis=0))
    box_cols = np.flatnonzero((scan.high < 0.95 * SMALL.air_level).any(axis=0))
    assert cols.min() >= box_cols.min() and cols.max() <= box_cols.max()


def test_builders_are_reproducible():
    a = objects.ied(rng(4))
    b = objects.ied(rng(4))
    assert [p.material for p in a.parts] == [p.material for p in b.parts]
    assert [p.du for p in a.parts] == [p.du for p in b.parts]


def test_letter_tray_holds_letters_and_the_powder_letter():
    scan = simulate_letters(4, SMALL, powder=True)
    labels = [o.label for o in scan.objects]
    assert labels.count("powder_letter") == 1
    assert {"letter", "magazine"} >= set(labels) - {"powder_letter"}
    assert [o.threat for o in scan.threats()] == ["powder"]
    benign = simulate_letters(4, SMALL)
    assert benign.threats() == []


def test_powder_threat_parcels_are_letter_trays():
    scan = simulate_parcel(6, SMALL, threat="powder")
    assert {o.label for o in scan.objects} <= {"letter", "magazine", "powder_letter"}


def test_packed_items_fit_their_box():
    # an IED is long: packed whole, its power source is never cut off by the box walls
    for seed in range(6):
        scan = simulate_parcel(seed, ScanConfig(), threat="ied")
        (ied,) = scan.threats()
        assert "alkaline_cell" in ied.materials


def _every_item(seed: int) -> list[Item]:
    g = rng(seed)
    builders = [builder for builder, _ in objects.BENIGN_BUILDERS.values()]
    return [build(g) for build in [*builders, *objects.THREAT_BUILDERS.values()] for _ in range(3)]


def _same_scenes(a: Scene, b: Scene) -> bool:
    assert a.basis is not None and b.basis is not None
    return (
        np.array_equal(a.basis, b.basis)
        and np.array_equal(a.occupied, b.occupied)
        and a.paths.keys() == b.paths.keys()
        and all(np.array_equal(a.paths[m], b.paths[m]) for m in a.paths)
        and [(o.bbox, o.materials) for o in a.objects] == [(o.bbox, o.materials) for o in b.objects]
        and all(np.array_equal(x.mask, y.mask) for x, y in zip(a.objects, b.objects, strict=True))
    )


def test_a_part_rasterised_over_its_box_gives_what_its_circle_gives():
    # parts with a ``half`` are evaluated over that rectangle's box only: nothing of them may
    # lie outside it, whatever the angle
    g = rng(9)
    tight, loose = Scene(SMALL), Scene(SMALL)
    for item in _every_item(9):
        circle = Item(item.label, tuple(replace(p, half=None) for p in item.parts), item.threat)
        x, y, angle = g.uniform(8, 48), g.uniform(8, 32), g.uniform(0, 2 * np.pi)
        tight.add(item, x, y, angle)
        loose.add(circle, x, y, angle)
    assert _same_scenes(tight, loose)


def test_sparse_and_dense_rasters_add_the_same(monkeypatch):
    def scene(share: float) -> Scene:
        monkeypatch.setattr(simulator, "SPARSE_SHARE", share)
        g = rng(10)
        out = Scene(SMALL)
        interior = out.add_box(28.0, 20.0, 50.0, 34.0, 20.0)
        for item in _every_item(10):
            out.add(item, g.uniform(10, 46), g.uniform(8, 32), g.uniform(0, 7), inside=interior)
        return out

    assert _same_scenes(scene(0), scene(float("inf")))  # every raster sparse, every one dense


def test_a_square_slab_adds_its_one_thickness_wherever_it_lies():
    scene = Scene(SMALL)
    tray = Part("polyethylene", slab(30.0, 20.0, 0.3), 18.1, half=(15.0, 10.0))
    scene.add(Item("tray", (tray,)), 28.0, 20.0, 0.0)
    path = scene.paths["polyethylene"]
    assert scene.basis is not None and np.count_nonzero(path) > 50_000
    assert np.array_equal(scene.occupied, path > 0) and set(np.unique(path)) == {0, np.float32(0.3)}
    for k, coefficient in enumerate(projector(SMALL).coefficients["polyethylene"]):
        assert np.array_equal(scene.basis[k], coefficient * path)
