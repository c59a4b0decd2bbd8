"""Learned region scorers: small gradient-boosted tree ensembles over measured features.

Each candidate region (an organic mass for "explosive", a charge or a detonator with a power
source for "ied") is described by the features its detector measured (``FEATURES``). A model
is a list of depth-limited regression trees fitted to the logistic loss, stored as plain
arrays in ``data/xray_scorer.json`` (a few KB, loaded once, no download). Its output is the
probability that the candidate lies on a planted threat of the class.

``benchmarks/train_xray_scorer.py`` regenerates the file from fixed training seeds; ``fit``
here is the whole of the training algorithm (numpy only).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

MODEL_PATH = Path(__file__).with_name("data") / "xray_scorer.json"
MISSING = -1000.0  # a feature that the candidate's detector does not measure

# the measured features each learned class reads, in model column order
FEATURES: dict[str, tuple[str, ...]] = {
    "explosive": (
        "zeff",
        "mass_thickness",
        "spread",
        "flatness",
        "edge_step",
        "background_mt",
        "level",
        "family",
        "area_cm2",
        "length_cm",
        "width_cm",
        "elongation",
        "rectangularity",
        "solidity",
        "rule",
        "repeats",
        # the layer the mass adds, read across its outline and against parts of its ring
        "edge_zeff",
        "edge_mt",
        "bg_low_zeff",
        "bg_high_zeff",
        "thin_zeff",
        "thick_zeff",
        "overlay_zeff",
        "overlay_mt",
        "side_zeff",
        "side_zeff_spread",
        "side_band",
        "sides",
        "side_zeff_max",
    ),
    "ied": (
        "zeff",
        "mass_thickness",
        "spread",
        "edge_step",
        "background_mt",
        "area_cm2",
        "elongation",
        "rectangularity",
        "power",
        "detonator",
        "power_cm",
        "detonator_cm",
        "organic_near",
        "context",
        "rule",
        "flatness",
        "solidity",
        "family",
        "power_count",
        "detonator_count",
        "metal_near",
        "metal_near_cm2",
        "thin_metal_cm",
    ),
}


@dataclass(frozen=True)
class Ensemble:
    """Complete binary trees of one depth: node ``k`` sends ``x[feature] > threshold`` to
    child ``2k + 2``, else ``2k + 1``; leaves hold additive log-odds."""

    features: tuple[str, ...]
    base: float
    depth: int
    feature: np.ndarray  # (trees, 2**depth - 1) int
    threshold: np.ndarray  # (trees, 2**depth - 1) float
    leaf: np.ndarray  # (trees, 2**depth) float

    def matrix(self, rows: list[dict[str, float]]) -> np.ndarray:
        return np.array(
            [[float(r.get(name, MISSING)) for name in self.features] for r in rows], dtype=float
        ).reshape(len(rows), len(self.features))

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        x = np.nan_to_num(np.asarray(x, dtype=float), nan=MISSING)
        inner = 2**self.depth - 1
        # all trees descend together, a level at a time: row t of ``node`` is where tree t
        # has taken each sample (a loop over the trees costs a hundred times the calls)
        trees = np.arange(self.feature.shape[0])[:, None]
        samples = np.arange(x.shape[0])[None, :]
        node = np.zeros((self.feature.shape[0], x.shape[0]), dtype=int)
        for _ in range(self.depth):
            go = x[samples, self.feature[trees, node]] > self.threshold[trees, node]
            node = 2 * node + 1 + go
        out = np.full(x.shape[0], self.base)
        for leaves in self.leaf[trees, node - inner]:
            out += leaves  # tree by tree in order, so that the sum is the same to the last bit
        return out

    def predict(self, rows: list[dict[str, float]]) -> np.ndarray:
        """Probabilities, one per feature dict."""
        if not rows:
            return np.zeros(0)
        return 1.0 / (1.0 + np.exp(-self.log_odds(self.matrix(rows))))

    def to_json(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "base": round(self.base, 6),
            "depth": self.depth,
            "feature": self.feature.tolist(),
            "threshold": [[_short(t) for t in row] for row in self.threshold],
            "leaf": [[round(float(v), 5) for v in row] for row in self.leaf],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Ensemble:
        depth = int(data["depth"])
        inner = 2**depth - 1
        feature = np.asarray(data["feature"], dtype=int).reshape(-1, inner)
        threshold = np.asarray(
            [[np.inf if t is None else t for t in row] for row in data["threshold"]], dtype=float
        ).reshape(-1, inner)
        leaf = np.asarray(data["leaf"], dtype=float).reshape(-1, 2**depth)
        return cls(tuple(data["features"]), float(data["base"]), depth, feature, threshold, leaf)


def _short(value: float) -> float | None:
    return None if not np.isfinite(value) else float(f"{value:.6g}")


def fit(
    x: np.ndarray,
    y: np.ndarray,
    features: tuple[str, ...],
    trees: int = 120,
    depth: int = 3,
    rate: float = 0.1,
    min_leaf: float = 5.0,
    l2: float = 1.0,
    bins: int = 32,
    weight: np.ndarray | None = None,
) -> Ensemble:
    """Gradient boosting of depth-``depth`` trees on the logistic loss (Newton leaf values,
    split candidates at feature quantiles). Deterministic: no sampling."""
    x = np.nan_to_num(np.asarray(x, dtype=float), nan=MISSING)
    y = np.asarray(y, dtype=float)
    w = np.ones_like(y) if weight is None else np.asarray(weight, dtype=float)
    n, d = x.shape
    if n == 0 or d != len(features):
        raise ValueError("x: need rows, one column per feature")
    prior = float(np.clip(np.average(y, weights=w), 1e-3, 1 - 1e-3))
    base = float(np.log(prior / (1 - prior)))
    # candidate thresholds and each sample's bin per feature
    cuts = [np.unique(np.quantile(x[:, j], np.linspace(0, 1, bins + 1)[1:-1])) for j in range(d)]
    binned = np.stack([np.searchsorted(cuts[j], x[:, j], side="left") for j in range(d)], 1)
    inner = 2**depth - 1
    feature = np.zeros((trees, inner), dtype=int)
    threshold = np.full((trees, inner), np.inf)
    leaf = np.zeros((trees, 2**depth))
    score = np.full(n, base)
    for t in range(trees):
        p = 1.0 / (1.0 + np.exp(-score))
        g, h = w * (p - y), w * np.maximum(p * (1 - p), 1e-6)
        node = np.zeros(n, dtype=int)
        for level in range(depth):
            for k in range(2**level - 1, 2 ** (level + 1) - 1):
                here = node == k
                best = _best_split(binned[here], g[here], h[here], cuts, min_leaf, l2)
                if best is not None:
                    feature[t, k], threshold[t, k] = best
            go = x[np.arange(n), feature[t, node]] > threshold[t, node]
            node = 2 * node + 1 + go
        index = node - inner
        for j in range(2**depth):
            at = index == j
            leaf[t, j] = -rate * g[at].sum() / (h[at].sum() + l2) if at.any() else 0.0
        score += leaf[t, index]
    return Ensemble(features, base, depth, feature, threshold, leaf)


def _best_split(
    binned: np.ndarray,
    g: np.ndarray,
    h: np.ndarray,
    cuts: list[np.ndarray],
    min_leaf: float,
    l2: float,
) -> tuple[int, float] | None:
    if g.size < 2:
        return None
    total_g, total_h = g.sum(), h.sum()
    parent = total_g**2 / (total_h + l2)
    best_gain, best = 1e-9, None
    for j, cut in enumerate(cuts):
        if cut.size == 0:
            continue
        size = cut.size + 1
        gl = np.cumsum(np.bincount(binned[:, j], g, size))[:-1]
        hl = np.cumsum(np.bincount(binned[:, j], h, size))[:-1]
        count = np.cumsum(np.bincount(binned[:, j], None, size))[:-1]
        ok = (count >= min_leaf) & (g.size - count >= min_leaf)
        if not ok.any():
            continue
        gr, hr = total_g - gl, total_h - hl
        gain = gl**2 / (hl + l2) + gr**2 / (hr + l2) - parent
        gain[~ok] = -np.inf
        i = int(np.argmax(gain))
        if gain[i] > best_gain:
            best_gain, best = float(gain[i]), (j, float(cut[i]))
    return best


@dataclass(frozen=True)
class Scorers:
    models: dict[str, Ensemble]
    thresholds: dict[str, float]
    meta: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "thresholds": self.thresholds,
            "models": {k: m.to_json() for k, m in self.models.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Scorers:
        return cls(
            {k: Ensemble.from_json(v) for k, v in data["models"].items()},
            {k: float(v) for k, v in data.get("thresholds", {}).items()},
            dict(data.get("meta", {})),
        )


@cache
def load(path: Path | None = None) -> Scorers | None:
    """The shipped scorers (None where the file is absent: the rules alone then score)."""
    path = path or MODEL_PATH
    if not path.exists():
        return None
    return Scorers.from_json(json.loads(path.read_text()))
