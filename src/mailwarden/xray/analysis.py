"""Automatic threat detection on dual-energy images (or on a scanner's colour export).

The image is binned to material maps (2x for metal shapes, 4x for organic masses), then:

1. impenetrable areas are found first (R is meaningless there, and lead reads organic);
2. dense metal components are measured: a long thin flat blade is a knife, an L of slide and
   grip is a gun, a large compact impenetrable block is shielding that could hide a threat, a
   small compact dense block may be a power source and a short narrow rod a detonator;
3. organic masses are segmented from three families of masks (total mass thickness at several
   levels, the same with sharp steps cut, and mass thickness above a grey-opening "top-hat"),
   so that an item lying on or across others separates from them in at least one; each
   candidate's own Zeff and mass thickness come from a basis-material decomposition of its
   inside minus a ring around it, so the box and whatever lies under it are stripped off;
   explosives are uniform blocks or sheets with sharp edges and Zeff 7.0-7.5 (a weaker band
   at 6.6-6.8 for peroxides such as TATP, which sit below paper); for the explosive scorer the
   layer a mass adds is also read where clothing or paper lies across part of it: across its
   outline, side by side around it, and between its thin and thick parts (``added_layer``);
4. an organic mass with a power source and a detonator near it is an IED; for the learned
   scorer every explosive-like mass with a power source or a detonator-like rod in reach is
   an IED candidate (grouping), described by distances and counts of the metal around it;
5. a thin, heap-shaped organic layer of letter size on an otherwise light background is
   powder in an envelope.

Scores (``rules.score``) are products of trapezoid memberships of the measured features, so
each threshold is a plain number in ``AnalysisParams``. Explosive and IED candidates are then
re-scored by the shipped learned scorers (``scorer``; trained by
``benchmarks/train_xray_scorer.py`` on seeds 1000-1045, operating point on 1046-1055): organic
masses in a wider gate (Zeff 6.3-7.9, so TATP and overlapped masses stay candidates) are kept
for the model, which rejects paper and clothing from their measured features. A learned score
is mapped so that the model's operating point falls on the class's reporting threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .detectors import (
    Candidate,
    added_layer,
    detonator_context,
    metal_parts,
    metal_threats,
    organic_masses,
    organic_threats,
    powder,
    rescore,
)
from .imaging import MaterialMaps, images_from_colour, material_maps
from .projection import ScanConfig
from .rules import REGION_CLASSES, AnalysisParams, score, threshold_for
from .segmentation import bin_maps, overlap, top_hat

__all__ = [
    "REGION_CLASSES",
    "AnalysisParams",
    "Region",
    "analyze",
    "analyze_colour",
    "report",
    "score",
    "threshold_for",
]


@dataclass
class Region:
    bbox: tuple[int, int, int, int]  # row0, col0, row1, col1 (exclusive) in input pixels
    area_cm2: float
    cls: str
    score: float
    reason: str
    mask: np.ndarray = field(repr=False)  # bool, bbox-sized, input resolution
    features: dict[str, float] = field(default_factory=dict)  # the measurements behind score

    @property
    def area_px(self) -> int:
        return int(self.mask.sum())

    def full_mask(self, shape: tuple[int, int]) -> np.ndarray:
        out = np.zeros(shape, dtype=bool)
        r0, c0, r1, c1 = self.bbox
        out[r0:r1, c0:c1] = self.mask
        return out


def _placed(region: Region) -> tuple[tuple[int, int, int, int], np.ndarray]:
    return region.bbox, region.mask


def _clashes(a: tuple[tuple[int, int, int, int], np.ndarray], b: Region) -> bool:
    """Whether two regions overlap by more than a fifth of the smaller."""
    return overlap(a, _placed(b)) > 0.2 * min(int(a[1].sum()), b.area_px)


def _select(candidates: list[Candidate], shape: tuple[int, int]) -> list[Region]:
    """Regions from candidates scoring above zero: the best of each class where several of
    that class overlap."""
    kept: list[Region] = []
    for cand in sorted((c for c in candidates if c.score > 0), key=lambda c: -c.score):
        bbox, mask = cand.blob.in_input(shape)
        if mask.size == 0 or not mask.any():
            continue
        if any(r.cls == cand.cls and _clashes((bbox, mask), r) for r in kept):
            continue
        kept.append(
            Region(
                bbox=bbox,
                area_cm2=round(cand.area_cm2, 1),
                cls=cand.cls,
                score=round(min(max(cand.score, 0.0), 1.0), 3),
                reason=cand.reason,
                mask=mask,
                features={k: round(float(v), 4) for k, v in cand.features.items()},
            )
        )
    return kept


def report(regions: list[Region], params: AnalysisParams | None = None) -> list[Region]:
    """The regions an operator is shown: those at or above their class's threshold, with an
    explosive reading dropped where a reported IED already covers its charge."""
    params = params or AnalysisParams()
    shown = [r for r in regions if r.score >= threshold_for(params, r.cls)]
    ieds = [r for r in shown if r.cls == "ied"]
    shown = [
        r for r in shown if r.cls != "explosive" or not any(_clashes(_placed(r), i) for i in ieds)
    ]
    return sorted(shown, key=lambda r: -r.score)


def _propose(
    metal_maps: MaterialMaps,
    organic_maps: MaterialMaps,
    metal_scale: int,
    organic_scale: int,
    params: AnalysisParams,
    config: ScanConfig | None,
    learned: bool = True,
) -> list[Candidate]:
    metals = metal_parts(metal_maps, metal_scale)
    candidates = metal_threats(metals, params)
    tophat = top_hat(organic_maps.mass_thickness, organic_maps.pixel_cm)
    masses = organic_masses(organic_maps, params, config, organic_scale, tophat)
    added_layer(organic_maps, masses, params, config)
    organic = organic_threats(masses, metals, params, metal_maps.pixel_cm, learned)
    organic += detonator_context(metals, organic_maps, params, metal_maps.pixel_cm, learned)
    ieds = [c for c in organic if c.cls == "ied"]
    candidates += [c for c in organic if c.cls != "ied"]
    candidates += rescore(ieds, params) if learned else ieds
    candidates += powder(organic_maps, params, config, organic_scale, tophat)
    return candidates


def _detect(
    metal_maps: MaterialMaps,
    organic_maps: MaterialMaps,
    metal_scale: int,
    organic_scale: int,
    shape: tuple[int, int],
    params: AnalysisParams,
    config: ScanConfig | None,
    keep_all: bool = False,
) -> list[Region]:
    found = _propose(metal_maps, organic_maps, metal_scale, organic_scale, params, config)
    regions = _select(found, shape)
    return sorted(regions, key=lambda r: -r.score) if keep_all else report(regions, params)


def analyze(
    high: np.ndarray,
    low: np.ndarray,
    config: ScanConfig | None = None,
    params: AnalysisParams | None = None,
    keep_all: bool = False,
) -> list[Region]:
    """Threat regions in a pair of detector images (uint16, air at ``config.air_level``).

    ``keep_all`` returns every candidate region scoring above zero (for ROC curves);
    ``report`` then gives what ``analyze`` would have returned.
    """
    config = config or ScanConfig()
    params = params or AnalysisParams()
    if high.ndim != 2 or high.shape != low.shape:
        raise ValueError(
            f"high/low: need two 2-D images of one shape, got {high.shape}, {low.shape}"
        )
    maps2 = material_maps(high, low, config, downsample=2)
    maps4 = bin_maps(maps2, 2)
    return _detect(maps2, maps4, 2, 4, high.shape, params, config, keep_all)


def candidates(
    high: np.ndarray,
    low: np.ndarray,
    config: ScanConfig | None = None,
    params: AnalysisParams | None = None,
) -> list[Candidate]:
    """Every candidate the detectors propose, scored by the rules alone, with the gated
    organic masses that the rules score 0 kept: what the learned scorers are trained on."""
    config = config or ScanConfig()
    params = params or AnalysisParams()
    maps2 = material_maps(high, low, config, downsample=2)
    maps4 = bin_maps(maps2, 2)
    return _propose(maps2, maps4, 2, 4, params, config, learned=False)


def analyze_colour(
    rgb: np.ndarray,
    pixel_cm: float = 0.1,
    params: AnalysisParams | None = None,
    keep_all: bool = False,
) -> list[Region]:
    """Threat regions in a scanner's colour export (uint8 RGB, the usual colour convention)."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"rgb: need an H x W x 3 image, got shape {rgb.shape}")
    rgb = rgb[..., :3]
    params = params or AnalysisParams()
    # the export is already corrected and smoothed: no scatter model applies to it
    config = ScanConfig(pixel_cm=pixel_cm, scatter_fraction=0.0)
    high, low = images_from_colour(rgb, config)
    return analyze(high, low, config, params, keep_all)
