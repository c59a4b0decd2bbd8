"""The learned region scorers: the shipped file, the fitting algorithm, and their use."""

from __future__ import annotations

import json

import numpy as np

from mailwarden.xray import objects
from mailwarden.xray.analysis import analyze, candidates
from mailwarden.xray.scorer import FEATURES, MISSING, MODEL_PATH, Ensemble, Scorers, fit, load
from mailwarden.xray.simulator import Scan

from .conftest import SMALL, boxed_scene, rng


def _toy(seed: int) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    x = g.normal(size=(400, 3))
    y = ((x[:, 0] > 0.3) & (x[:, 1] < 0.5)).astype(float)
    return x, y


def test_shipped_scorer_loads_with_both_classes_and_its_training_seeds() -> None:
    assert MODEL_PATH.exists()
    assert MODEL_PATH.stat().st_size < 64_000
    scorers = load()
    assert scorers is not None
    assert set(scorers.models) == {"explosive", "ied"}
    for cls, model in scorers.models.items():
        assert model.features == FEATURES[cls]
        assert 0.0 < scorers.thresholds[cls] < 1.0
    seeds = set(scorers.meta["training_seeds"]) | set(scorers.meta["validation_seeds"])
    assert not seeds & {1, 2, 3, 101, 102, 103}  # never the tuning or held-out seeds


def test_fit_separates_and_is_deterministic() -> None:
    x, y = _toy(0)
    a = fit(x, y, ("a", "b", "c"), trees=30, depth=2)
    b = fit(x, y, ("a", "b", "c"), trees=30, depth=2)
    assert np.array_equal(a.leaf, b.leaf) and np.array_equal(a.threshold, b.threshold)
    xt, yt = _toy(1)
    prob = a.predict([dict(zip("abc", row, strict=True)) for row in xt])
    assert ((prob > 0.5) == (yt > 0)).mean() > 0.9


def test_ensemble_round_trips_through_json() -> None:
    x, y = _toy(2)
    model = fit(x, y, ("a", "b", "c"), trees=10, depth=3)
    back = Scorers.from_json(
        json.loads(json.dumps(Scorers({"explosive": model}, {"explosive": 0.4}, {}).to_json()))
    ).models["explosive"]
    rows = [dict(zip("abc", row, strict=True)) for row in x[:50]]
    assert np.allclose(model.predict(rows), back.predict(rows), atol=1e-4)


def test_trees_descending_together_sum_as_one_at_a_time() -> None:
    model = load().models["explosive"]  # type: ignore[union-attr]
    x = np.random.default_rng(6).normal(5.0, 3.0, (40, len(model.features)))
    x[::7, 3] = np.nan  # a missing reading
    expected = np.full(len(x), model.base)
    rows = np.arange(len(x))
    clean = np.nan_to_num(x, nan=MISSING)
    for feature, threshold, leaf in zip(model.feature, model.threshold, model.leaf, strict=True):
        node = np.zeros(len(x), dtype=int)
        for _ in range(model.depth):
            node = 2 * node + 1 + (clean[rows, feature[node]] > threshold[node])
        expected += leaf[node - (2**model.depth - 1)]
    assert np.array_equal(model.log_odds(x), expected)


def test_missing_features_are_scored() -> None:
    model = Ensemble.from_json(json.loads(json.dumps(load().models["ied"].to_json())))  # type: ignore[union-attr]
    prob = model.predict([{}, {"power": 1.0, "detonator": 1.0}])
    assert prob.shape == (2,) and np.all((prob >= 0) & (prob <= 1))


def _scan(item: objects.Item) -> Scan:
    scene, interior = boxed_scene()
    scene.add(item, 28.0, 20.0, 0.4, inside=interior)
    return scene.scan(rng(5))


def _best(scan: Scan, label: str) -> float:
    """The learned probability of the best explosive candidate on the item labelled ``label``."""
    model = load().models["explosive"]  # type: ignore[union-attr]
    obj = next(o for o in scan.objects if o.label == label)
    truth = obj.full_mask(SMALL.shape)
    rows = []
    for cand in candidates(scan.high, scan.low, SMALL):
        if cand.cls != "explosive":
            continue
        bbox, mask = cand.blob.in_input(SMALL.shape)
        r0, c0, r1, c1 = bbox
        if np.any(truth[r0:r1, c0:c1] & mask):
            rows.append(cand.features)
    return float(model.predict(rows).max()) if rows else 0.0


def test_scorer_ranks_an_explosive_above_a_paper_stack() -> None:
    block = objects.explosive_block(rng(1), "c4")
    paper = objects.paper_stack(rng(1))
    assert _best(_scan(block), block.label) > _best(_scan(paper), paper.label)


def test_analysis_with_the_scorer_is_deterministic_and_finds_the_block() -> None:
    block = objects.explosive_block(rng(1), "c4")
    scan = _scan(block)
    first = analyze(scan.high, scan.low, SMALL)
    second = analyze(scan.high, scan.low, SMALL)
    assert [(r.cls, r.score, r.bbox) for r in first] == [(r.cls, r.score, r.bbox) for r in second]
    assert any(r.cls == "explosive" for r in first)


def test_an_ied_gives_a_grouping_candidate_with_its_metal_context() -> None:
    item = objects.ied(rng(3), "c4")
    scan = _scan(item)
    obj = next(o for o in scan.objects if o.threat == "ied")
    truth = obj.full_mask(SMALL.shape)
    grouped = []
    for cand in candidates(scan.high, scan.low, SMALL):
        if cand.cls != "ied" or cand.features.get("context", 1.0) != 0.0:
            continue
        bbox, mask = cand.blob.in_input(SMALL.shape)
        r0, c0, r1, c1 = bbox
        if np.any(truth[r0:r1, c0:c1] & mask):
            grouped.append(cand.features)
    assert grouped
    best = max(grouped, key=lambda f: f["power"] + f["detonator"])
    assert best["power_count"] + best["detonator_count"] >= 1
    assert best["metal_near"] >= best["power_count"]
    assert set(FEATURES["ied"]) - {"organic_near"} <= set(best)
