from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from mailwarden.xray import objects
from mailwarden.xray.analysis import (
    AnalysisParams,
    Region,
    analyze,
    analyze_colour,
    report,
    score,
)
from mailwarden.xray.imaging import pseudo_colour, to_png
from mailwarden.xray.simulator import PlacedObject, Scan, Scene

from .conftest import SMALL, boxed_scene, rng


def scan_with(threat: objects.Item, *benign: objects.Item, seed: int = 3) -> Scan:
    """The threat near the middle of a small box, benign items along the top and bottom."""
    scene, interior = boxed_scene()
    scene.add(threat, 28.0, 20.0, 0.4, inside=interior)
    spots = [(12.0, 8.0), (44.0, 31.0), (44.0, 8.0), (12.0, 31.0)]
    for item, (x, y) in zip(benign, spots, strict=False):
        scene.add(item, x, y, 0.2, inside=interior)
    return scene.scan(rng(seed))


def overlaps(region: Region, obj: PlacedObject) -> bool:
    return bool(np.any(region.full_mask(SMALL.shape) & obj.full_mask(SMALL.shape)))


def found(scan: Scan, cls: str, regions: list[Region] | None = None) -> list[Region]:
    regions = analyze(scan.high, scan.low, SMALL) if regions is None else regions
    (threat,) = scan.threats()
    return [r for r in regions if r.cls == cls and overlaps(r, threat)]


def test_finds_an_ied():
    scan = scan_with(objects.ied(rng(1), "c4"), objects.clothing(rng(2)))
    hits = found(scan, "ied")
    assert hits and hits[0].score >= 0.5
    assert "power source" in hits[0].reason


def test_finds_a_block_of_explosive():
    scan = scan_with(objects.explosive_block(rng(5), "tnt"), objects.paper_stack(rng(6)))
    hits = found(scan, "explosive")
    assert hits
    assert "Zeff 7." in hits[0].reason and "g/cm²" in hits[0].reason


def test_finds_an_explosive_sheet():
    scan = scan_with(objects.explosive_sheet(rng(7), "semtex"), objects.keys(rng(8)))
    assert found(scan, "explosive")


def test_finds_a_knife():
    scan = scan_with(objects.knife(rng(9)), objects.paper_stack(rng(10)))
    hits = found(scan, "knife")
    assert hits and "blade" in hits[0].reason


def test_finds_a_gun():
    scan = scan_with(objects.gun(rng(11)), objects.clothing(rng(12)))
    hits = found(scan, "gun")
    assert hits and hits[0].score >= 0.5


def test_finds_a_shielded_box():
    scan = scan_with(objects.shielded_box(rng(13)), objects.book(rng(14)))
    hits = found(scan, "shielded")
    assert hits and "impenetrable" in hits[0].reason


def test_finds_powder_in_an_envelope():
    scene = Scene(SMALL)
    scene.add(objects.powder_letter(rng(16)), 28.0, 20.0, 0.3)
    scan = scene.scan(rng(16))
    hits = found(scan, "powder")
    assert hits and "powder" in hits[0].reason


def test_benign_scene_raises_nothing():
    scene, interior = boxed_scene()
    items = [
        (objects.paper_stack(rng(20)), 15.0, 12.0),
        (objects.clothing(rng(21)), 38.0, 25.0),
        (objects.book(rng(22)), 40.0, 10.0),
        (objects.magazine(rng(23)), 16.0, 27.0),
    ]
    for item, x, y in items:
        scene.add(item, x, y, 0.5, inside=interior)
    scan = scene.scan(rng(24))
    assert analyze(scan.high, scan.low, SMALL) == []


def test_plain_letter_raises_nothing():
    scene = Scene(SMALL)
    scene.add(objects.letter(rng(30)), 28.0, 20.0, 0.3)
    scan = scene.scan(rng(31))
    assert analyze(scan.high, scan.low, SMALL) == []


def test_region_fields_are_well_formed():
    scan = scan_with(objects.explosive_block(rng(5), "tnt"))
    (region, *_) = found(scan, "explosive")
    r0, c0, r1, c1 = region.bbox
    assert 0 <= r0 < r1 <= SMALL.shape[0] and 0 <= c0 < c1 <= SMALL.shape[1]
    assert region.mask.shape == (r1 - r0, c1 - c0)
    assert 0.0 < region.score <= 1.0 and region.area_cm2 > 10
    assert not math.isnan(region.features["zeff"])


def test_explosive_found_in_a_png_colour_export():
    scan = scan_with(objects.explosive_block(rng(5), "c4"), objects.paper_stack(rng(6)))
    png = to_png(pseudo_colour(scan.high, scan.low, SMALL))
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    regions = analyze_colour(rgb, SMALL.pixel_cm)
    assert found(scan, "explosive", regions)


def test_shapes_are_checked():
    with pytest.raises(ValueError, match="shape"):
        analyze(np.zeros((10, 10), np.uint16), np.zeros((10, 12), np.uint16))
    with pytest.raises(ValueError, match="rgb"):
        analyze_colour(np.zeros((10, 10), np.uint8))


def test_report_applies_class_thresholds_and_prefers_the_ied():
    scan = scan_with(objects.ied(rng(1), "c4"), objects.clothing(rng(2)))
    everything = analyze(scan.high, scan.low, SMALL, keep_all=True)
    shown = report(everything)
    key = lambda regions: [(r.cls, r.bbox, r.score) for r in regions]  # noqa: E731
    assert key(shown) == key(analyze(scan.high, scan.low, SMALL))
    assert all(r.score >= AnalysisParams().report_threshold for r in shown)
    strict = AnalysisParams(class_thresholds=(("ied", 1.01),))
    assert not [r for r in report(everything, strict) if r.cls == "ied"]
    # where an IED is reported, its charge is not reported again as an explosive
    ied = [r for r in shown if r.cls == "ied"]
    assert ied
    assert not [r for r in shown if r.cls == "explosive" and overlaps(r, scan.threats()[0])]


def test_ied_context_rule_needs_organic_material_around_the_detonator():
    params = AnalysisParams()
    rod = {"power": 1.0, "detonator": 1.0}
    in_charge = score("ied", rod | {"organic_near": 5.0}, params)
    in_air = score("ied", rod | {"organic_near": 0.3}, params)
    assert in_charge == pytest.approx(params.ied_context_weight)
    assert in_air == 0.0
    assert score("ied", rod | {"organic_near": 5.0, "power": 0.0}, params) == 0.0
