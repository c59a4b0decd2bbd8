from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from PIL import Image

from mailwarden.xray.analysis import REGION_CLASSES
from mailwarden.xray.evaluate import auc, evaluate, roc_curve, roc_png

from .conftest import SMALL


def test_auc_extremes_and_ties():
    assert auc([0.9, 0.8], [0.1, 0.2]) == 1.0
    assert auc([0.1], [0.9, 0.95]) == 0.0
    assert auc([0.5], [0.5]) == 0.5
    assert np.isnan(auc([], [0.3]))


def test_auc_equals_the_pairwise_probability():
    gen = np.random.default_rng(5)
    pos = list(np.round(gen.uniform(0.2, 1.0, 40), 1))
    neg = list(np.round(gen.uniform(0.0, 0.8, 50), 1))
    pairs = [1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg)]
    assert auc(pos, neg) == pytest.approx(np.mean(pairs))


def test_roc_curve_runs_from_origin_to_corner():
    fpr, tpr = roc_curve([0.9, 0.4], [0.5, 0.1])
    assert (fpr[0], tpr[0]) == (0.0, 0.0) and (fpr[-1], tpr[-1]) == (1.0, 1.0)
    assert fpr == sorted(fpr) and tpr == sorted(tpr)


@pytest.fixture(scope="module")
def small_result():
    return evaluate(6, seed=2, config=SMALL, threat_fraction=1.0)


def test_evaluate_gives_well_formed_json(small_result):
    data = json.loads(json.dumps(small_result.to_json(), allow_nan=False))
    assert set(data["classes"]) == set(REGION_CLASSES)
    assert data["n"] == 6
    for values in data["classes"].values():
        assert set(values) >= {"pd", "far", "auc"}
        for key in ("pd", "auc"):
            assert values[key] is None or 0.0 <= values[key] <= 1.0
        assert values["far"] >= 0.0
    assert sum(v["threats"] for v in data["classes"].values()) == 6


def test_evaluate_is_reproducible(small_result):
    again = evaluate(6, seed=2, config=SMALL, threat_fraction=1.0)
    assert again.to_json() == small_result.to_json()


def test_roc_png_opens(small_result, tmp_path):
    path = tmp_path / "roc.png"
    roc_png(small_result, path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] > 300 and image.size[1] > 300
        pixels = np.asarray(image.convert("RGB"))
    # curves in colour were drawn, not only black axes on white
    assert np.any((pixels[..., 0] > 150) & (pixels[..., 2] < 80))


def test_evaluate_needs_parcels():
    with pytest.raises(ValueError, match="n"):
        evaluate(0, seed=1)
