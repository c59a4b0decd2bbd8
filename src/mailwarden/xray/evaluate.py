"""Detection performance of ``analyze`` on simulated, labelled parcels.

For each threat class:

- ``pd``: share of planted threats of the class that a reported region of the class overlaps;
- ``far``: reported regions of the class overlapping no true object of the class, per parcel;
- ``auc``: area under the parcel-level ROC. A parcel holding a threat of the class scores the
  best region of the class that overlaps the threat; any other parcel scores its best region
  of the class anywhere (0 if none). AUC is the Mann-Whitney rank statistic, ties counted half.

An IED contains an explosive charge, so an "explosive" region on an IED is not a false alarm
(it is also no detection of an explosive, as no explosive was planted alone there).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from .analysis import REGION_CLASSES, AnalysisParams, Region, analyze, report, threshold_for
from .objects import THREAT_CLASSES
from .projection import ScanConfig
from .simulator import PlacedObject, simulate_letters, simulate_parcel

# planted threat classes on which a region of the class is not a false alarm
ALLOWED_ON: dict[str, tuple[str, ...]] = {"explosive": ("explosive", "ied")}


@dataclass
class ClassResult:
    threats: int
    detected: int
    false_alarms: int
    pd: float
    far: float
    auc: float
    roc: tuple[list[float], list[float]] = field(repr=False)  # (false positive rate, true)
    false_alarm_sources: dict[str, int] = field(default_factory=dict)
    # the parcel-level scores behind the ROC, so that results of several seeds can be pooled
    positive_scores: list[float] = field(default_factory=list, repr=False)
    negative_scores: list[float] = field(default_factory=list, repr=False)


@dataclass
class EvalResult:
    n: int
    seed: int
    thresholds: dict[str, float]
    classes: dict[str, ClassResult]

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "seed": self.seed,
            "thresholds": self.thresholds,
            "classes": {
                name: {
                    "pd": _number(c.pd),
                    "far": _number(c.far),
                    "auc": _number(c.auc),
                    "threats": c.threats,
                    "false_alarms": c.false_alarms,
                }
                for name, c in self.classes.items()
            },
        }


def _number(value: float) -> float | None:
    """Rounded for JSON; None where a class had nothing to measure (JSON has no NaN)."""
    return None if value != value else round(value, 4)


def auc(positives: list[float], negatives: list[float]) -> float:
    """Area under the ROC curve by the rank formula (ties count half); nan without both sets."""
    if not positives or not negatives:
        return float("nan")
    scores = np.concatenate([positives, negatives])
    ranks = _average_ranks(scores)
    n_pos, n_neg = len(positives), len(negatives)
    rank_sum = ranks[:n_pos].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    ranks = np.empty(len(values), dtype=float)
    start = 0
    while start < len(values):
        stop = start
        while stop + 1 < len(values) and sorted_values[stop + 1] == sorted_values[start]:
            stop += 1
        ranks[order[start : stop + 1]] = (start + stop) / 2 + 1
        start = stop + 1
    return ranks


def roc_curve(positives: list[float], negatives: list[float]) -> tuple[list[float], list[float]]:
    """(false positive rates, true positive rates) at every distinct score, from (0,0) to (1,1)."""
    thresholds = sorted(set(positives) | set(negatives), reverse=True)
    pos, neg = np.asarray(positives), np.asarray(negatives)
    fpr, tpr = [0.0], [0.0]
    for t in thresholds:
        tpr.append(float((pos >= t).mean()) if pos.size else 0.0)
        fpr.append(float((neg >= t).mean()) if neg.size else 0.0)
    fpr.append(1.0)
    tpr.append(1.0)
    return fpr, tpr


def _overlaps(region: Region, obj: PlacedObject) -> bool:
    r0, c0, r1, c1 = region.bbox
    o0, p0, o1, p1 = obj.bbox
    top, left, bottom, right = max(r0, o0), max(c0, p0), min(r1, o1), min(c1, p1)
    if top >= bottom or left >= right:
        return False
    a = region.mask[top - r0 : bottom - r0, left - c0 : right - c0]
    b = obj.mask[top - o0 : bottom - o0, left - p0 : right - p0]
    return bool(np.any(a & b))


def evaluate(
    n: int,
    seed: int,
    config: ScanConfig | None = None,
    params: AnalysisParams | None = None,
    threat_fraction: float = 0.6,
    letters_fraction: float = 0.2,
) -> EvalResult:
    """Simulate ``n`` scans from ``seed`` (a share ``threat_fraction`` holding one threat of a
    class drawn uniformly), analyse them, and score detection per class.

    Powder threats come in trays of letters; a share ``letters_fraction`` of the benign scans
    are letter trays too, so that false alarms on letters are measured.
    """
    if n < 1:
        raise ValueError("n: at least one parcel is needed")
    config = config or ScanConfig()
    params = params or AnalysisParams()
    thresholds = {cls: threshold_for(params, cls) for cls in REGION_CLASSES}
    threats = dict.fromkeys(THREAT_CLASSES, 0)
    detected = dict.fromkeys(THREAT_CLASSES, 0)
    false_alarms = dict.fromkeys(REGION_CLASSES, 0)
    sources: dict[str, Counter[str]] = {c: Counter() for c in REGION_CLASSES}
    positives: dict[str, list[float]] = {c: [] for c in REGION_CLASSES}
    negatives: dict[str, list[float]] = {c: [] for c in REGION_CLASSES}
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        threat = None
        if rng.random() < threat_fraction:
            threat = THREAT_CLASSES[int(rng.integers(len(THREAT_CLASSES)))]
        if threat is None and rng.random() < letters_fraction:
            scan = simulate_letters(rng, config)
        else:
            scan = simulate_parcel(rng, config, threat=threat)
        candidates = analyze(scan.high, scan.low, config, params, keep_all=True)
        shown = report(candidates, params)
        for cls in REGION_CLASSES:
            own = [r for r in candidates if r.cls == cls]
            own_shown = [r for r in shown if r.cls == cls]
            truth = [o for o in scan.objects if o.threat == cls]
            allowed = [o for o in scan.objects if o.threat in ALLOWED_ON.get(cls, (cls,))]
            for obj in truth:
                threats[cls] += 1
                positives[cls].append(max((r.score for r in own if _overlaps(r, obj)), default=0.0))
                if any(_overlaps(r, obj) for r in own_shown):
                    detected[cls] += 1
            if not truth and not allowed:
                negatives[cls].append(max((r.score for r in own), default=0.0))
            for region in own_shown:
                if any(_overlaps(region, o) for o in allowed):
                    continue
                false_alarms[cls] += 1
                hit = [o.label for o in scan.objects if _overlaps(region, o)]
                sources[cls][hit[0] if hit else "background"] += 1
    classes = {}
    for cls in REGION_CLASSES:
        classes[cls] = ClassResult(
            threats=threats[cls],
            detected=detected[cls],
            false_alarms=false_alarms[cls],
            pd=detected[cls] / threats[cls] if threats[cls] else float("nan"),
            far=false_alarms[cls] / n,
            auc=auc(positives[cls], negatives[cls]),
            roc=roc_curve(positives[cls], negatives[cls]),
            false_alarm_sources=dict(sources[cls]),
            positive_scores=positives[cls],
            negative_scores=negatives[cls],
        )
    return EvalResult(n=n, seed=seed, thresholds=thresholds, classes=classes)


COLOURS: dict[str, tuple[int, int, int]] = {
    "explosive": (230, 120, 0),
    "ied": (200, 0, 0),
    "knife": (0, 120, 200),
    "gun": (40, 40, 40),
    "shielded": (120, 0, 160),
    "powder": (0, 150, 60),
}


def roc_png(result: EvalResult, path: str | Path, size: int = 480) -> None:
    """Draw each class's ROC curve, with its AUC in the legend, as a PNG at ``path``."""
    margin = 50
    image = Image.new("RGB", (size + 2 * margin, size + 2 * margin), "white")
    draw = ImageDraw.Draw(image)

    def xy(fpr: float, tpr: float) -> tuple[float, float]:
        return margin + fpr * size, margin + (1 - tpr) * size

    draw.rectangle([margin, margin, margin + size, margin + size], outline="black")
    draw.line([xy(0, 0), xy(1, 1)], fill=(190, 190, 190))
    for k in range(0, 11, 2):
        draw.text((margin + k / 10 * size - 8, margin + size + 6), f"{k / 10:.1f}", fill="black")
        draw.text((margin - 30, margin + (1 - k / 10) * size - 6), f"{k / 10:.1f}", fill="black")
    draw.text((margin + size / 2 - 60, margin + size + 24), "false positive rate", fill="black")
    draw.text((6, margin - 18), "true positive rate", fill="black")
    legend_y = margin + size - 16 * len(result.classes) - 6
    for index, (name, cls) in enumerate(result.classes.items()):
        colour = COLOURS.get(name, (0, 0, 0))
        fpr, tpr = cls.roc
        points = [xy(f, t) for f, t in zip(fpr, tpr, strict=True)]
        if len(points) >= 2:
            draw.line(points, fill=colour, width=2)
        label = f"{name}  AUC {cls.auc:.3f}" if cls.auc == cls.auc else f"{name}  AUC n/a"
        draw.text((margin + size * 0.45, legend_y + 16 * index), label, fill=colour)
    draw.text((margin + size / 3, 4), f"ROC, n={result.n} scans, seed {result.seed}", fill="black")
    image.save(path, format="PNG")
