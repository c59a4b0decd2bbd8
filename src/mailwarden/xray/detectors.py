"""The detectors: metal parts and their shapes, organic masses, powder heaps, IED context.

Each returns ``Candidate`` objects carrying a blob, a score from ``rules.score`` and the
features behind it; ``analysis`` picks among them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from scipy import ndimage

from .calibration import own_materials
from .imaging import BACKGROUND_A_HIGH, IMPENETRABLE, INORGANIC_MAX_Z, MaterialMaps
from .projection import ScanConfig
from .rules import AnalysisParams, score, shape_features, threshold_for
from .scorer import MISSING, load
from .segmentation import (
    Blob,
    Reading,
    Rings,
    components,
    distance_cm,
    edge_step,
    flatnesses,
    open2,
    open3,
    own_reading,
    own_readings,
    read,
    sorted_quantile,
    spread,
    window_of,
)
from .shape_features import Shape, band, measure_many, solidity

# segmentation cuts (g/cm2) of total mass thickness, and of mass thickness above the top-hat
ORGANIC_LEVELS: tuple[float, ...] = (0.9, 1.3, 1.8, 2.5, 3.4, 4.6, 6.2, 8.0)
TOPHAT_LEVELS: tuple[float, ...] = (0.6, 1.0, 1.6, 2.5, 4.0, 6.0)
POWDER_LEVELS: tuple[float, ...] = (0.12, 0.2, 0.3, 0.45, 0.6, 0.8)
POWDER_TOPHAT_LEVELS: tuple[float, ...] = (0.1, 0.16, 0.25, 0.4)
METAL_MIN_Z = 15.0
ORGANIC_MIN_RECTANGULARITY = 0.5
EDGE_GRADIENT = 0.3  # g/cm2 per 4 mm: the cut edge of a block or sheet, not a lumpy pile
# organic masses the explosive scorer sees: Zeff from below TATP to above C-4, g/cm2
EXPLOSIVE_GATE_Z: tuple[float, float] = (6.3, 7.9)
EXPLOSIVE_GATE_MT: tuple[float, float] = (0.3, 25.0)
LEARNED_FLOOR = 0.02  # learned scores below this are not kept as candidates
SIDES = 8  # angular sectors of an outline, each read across on its own (``added_layer``)
SIDE_MIN_MT = 0.2  # g/cm2: a sector stepping down by less than this has no edge to read
EXPLOSIVE_BAND_Z: tuple[float, float] = (6.97, 7.7)  # Zeff of the common explosives' own layer


@dataclass
class Candidate:
    cls: str
    score: float
    reason: str
    blob: Blob
    area_cm2: float
    features: dict[str, float] = field(default_factory=dict)


@dataclass
class Metal:
    blob: Blob
    shape: Shape
    own_a_high: float
    impenetrable_share: float


def metal_parts(maps: MaterialMaps, scale: int) -> list[Metal]:
    # Z from 15: a thin blade over clothing reads lower than steel, as the pixel averages both
    dense = ((maps.zeff >= METAL_MIN_Z) & (maps.a_high >= 0.3)) | (maps.classes == IMPENETRABLE)
    dense = open2(dense)
    parts = []
    min_px = max(3, int(0.6 / maps.pixel_cm**2))
    blobs = components(dense, min_px, None, scale)
    for blob, shape in zip(blobs, _shapes(blobs, maps.pixel_cm), strict=True):
        window = window_of(blob)
        # ``own_reading``'s a_high without a calibration (its Zeff and mass go unused here)
        reading = read(maps, Rings.of(blob.mask), window)
        own_h = max(reading.inside[0] - reading.around[0], 1e-3)
        imp = float((maps.classes[window][blob.mask] == IMPENETRABLE).mean())
        parts.append(Metal(blob, shape, own_h, imp))
    return parts


def _shapes(blobs: list[Blob], pixel_cm: float, hull: bool = True) -> list[Shape]:
    """The shape of each blob, in its window's coordinates offset to the map's."""
    return measure_many([b.mask for b in blobs], pixel_cm, [(b.row, b.col) for b in blobs], hull)


def metal_threats(parts: list[Metal], p: AnalysisParams) -> list[Candidate]:
    found = []
    for part in parts:
        s = part.shape
        f = shape_features(s) | {
            "own_a_high": part.own_a_high,
            "impenetrable_share": part.impenetrable_share,
            "impenetrable_cm2": s.area * part.impenetrable_share,
        }
        reasons = {
            "knife": f"blade-like metal, {s.length:.0f} cm long, {s.area / s.length:.1f} cm wide, "
            f"elongation {s.elongation:.1f}, solidity {s.solidity:.2f}",
            "gun": f"L-shaped dense metal, {s.area:.0f} cm², {s.length:.0f} x {s.width:.0f} cm, "
            f"solidity {s.solidity:.2f}",
            "shielded": f"impenetrable region, {f['impenetrable_cm2']:.0f} cm², "
            f"{s.length:.0f} x {s.width:.0f} cm: could hide a threat",
        }
        for cls, reason in reasons.items():
            value = score(cls, f, p)
            if value > 0:
                found.append(Candidate(cls, value, reason, part.blob, s.area, f))
    return found


@dataclass
class Organic:
    blob: Blob
    shape: Shape
    features: dict[str, float]
    rings: Rings | None = None


def organic_masses(
    maps: MaterialMaps,
    p: AnalysisParams,
    config: ScanConfig | None,
    scale: int,
    tophat: np.ndarray,
) -> list[Organic]:
    """Candidate organic items, from three families of thresholded masks:

    - total mass thickness at each level: an item on the box floor stands out whole;
    - the same with sharp steps removed: an item on clothing parts from the clothing;
    - mass thickness above a grey opening (the "top-hat"): the broad layers under and around
      an item are taken away, so an item lying across others keeps its own outline.
    """
    organic_like = (maps.zeff < INORGANIC_MAX_Z - 6) & (maps.classes != IMPENETRABLE)
    organic_like &= maps.a_high >= BACKGROUND_A_HIGH
    mt = maps.mass_thickness
    gradient = np.hypot(ndimage.sobel(mt, axis=0), ndimage.sobel(mt, axis=1)) / 8.0
    smooth = gradient * (0.4 / maps.pixel_cm) < EDGE_GRADIENT
    # a grey opening of the masked map, thresholded, equals the binary opening of each
    # threshold's mask: one filter per family instead of one per level
    opened = {
        "plain": open3(np.where(organic_like, mt, 0.0)),
        "cut": open3(np.where(organic_like & smooth, mt, 0.0)),
        "tophat": open3(np.where(organic_like, tophat, 0.0)),
    }
    families = (
        [(level, "plain", mt) for level in ORGANIC_LEVELS]
        + [(level, "cut", mt) for level in ORGANIC_LEVELS]
        + [(level, "tophat", tophat) for level in TOPHAT_LEVELS]
    )
    found: list[Organic] = []
    min_px = max(4, int(min(p.explosive_area[0], 10.0) / maps.pixel_cm**2))
    max_px = int(max(p.explosive_area[3], 700.0) / maps.pixel_cm**2)
    # the components kept so far, by their box's corner: one that gives the same answer has
    # its corner within a pixel, so only the nine corners around are looked at (a busy
    # parcel gives hundreds of components, and comparing each with all is quadratic)
    seen: dict[tuple[int, int], list[tuple[tuple[int, int, int, int], int]]] = {}
    every: list[tuple[int, int, int, int, int]] = []  # each component's box and size
    pending: list[tuple[Blob, Shape, Rings, tuple[slice, slice], float, str, np.ndarray]] = []
    readings: list[tuple[Reading, Rings, tuple[slice, slice]]] = []
    fresh: list[tuple[Blob, float, str, np.ndarray]] = []
    for level, family, values_map in families:
        mask = opened[family] >= level
        for blob in components(mask, min_px, max_px, scale):
            # a component that another cut already gave (about the same box and size) would
            # give the same answer again
            count = int(blob.mask.sum())
            every.append((*blob.bounds, count))
            row, col = blob.bounds[:2]
            if not any(
                abs(n - count) <= 0.05 * count
                and max(abs(a - b) for a, b in zip(box, blob.bounds, strict=True)) <= 1
                for near in ((row + dr, col + dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1))
                for box, n in seen.get(near, ())
            ):
                seen.setdefault((row, col), []).append((blob.bounds, count))
                fresh.append((blob, level, family, values_map))
    # the shapes of every level's components at once (one eigen-decomposition)
    shapes = _shapes([entry[0] for entry in fresh], maps.pixel_cm, hull=False)
    for (blob, level, family, values_map), shape in zip(fresh, shapes, strict=True):
        # shapes that no organic rule accepts are not worth measuring further
        if shape.rectangularity < ORGANIC_MIN_RECTANGULARITY or shape.elongation > 5.0:
            continue
        window = window_of(blob)
        rings = Rings.of(blob.mask)
        pending.append((blob, shape, rings, window, level, family, values_map))
        readings.append((read(maps, rings, window), rings, window))
    # the own material of every mass at once (one basis-material decomposition), then the
    # flatness of every mass at once (each across its own short axis)
    owns = own_readings(maps, readings, config)
    own_layers = [
        values_map[window] - (bg if family != "tophat" else 0.0)
        for (*_, window, _, family, values_map), (*_, bg) in zip(pending, owns, strict=True)
    ]
    flat = flatnesses([entry[0].mask for entry in pending], own_layers)
    for entry, (_, z, own_mt, bg), flatness in zip(pending, owns, flat, strict=True):
        blob, shape, rings, window, level, family, values_map = entry
        f = shape_features(shape) | {
            "zeff": z,
            "mass_thickness": own_mt,
            "spread": spread(values_map[window][rings.inner]),
            "flatness": flatness,
            "edge_step": edge_step(rings, mt[window], own_mt),
            "background_mt": bg,
            "level": level,
            "family": float(("plain", "cut", "tophat").index(family)),
        }
        found.append(Organic(blob, shape, f, rings))
    # a uniform block with cut edges gives about the same outline at many cuts
    if found and every:
        # every mass against every component at once (masses x components), a side at a time
        table = np.asarray(every, dtype=float)
        boxes = np.array([mass.blob.bounds for mass in found], dtype=float)
        pixels = np.array([float(mass.blob.mask.sum()) for mass in found])[:, None]
        same = np.abs(table[:, 4] - pixels) <= 0.15 * pixels
        for side in range(4):
            same &= np.abs(table[:, side] - boxes[:, side, None]) <= 2
        for mass, repeats in zip(found, same.sum(axis=1), strict=True):
            mass.features["repeats"] = float(repeats)
    return found


def powder(
    maps: MaterialMaps,
    p: AnalysisParams,
    config: ScanConfig | None,
    scale: int,
    tophat: np.ndarray,
) -> list[Candidate]:
    organic_like = (maps.zeff < 10) & (maps.a_high >= 0.01) & (maps.classes != IMPENETRABLE)
    found = []
    min_px = max(4, int(p.powder_area[0] / maps.pixel_cm**2))
    max_px = int(p.powder_area[3] / maps.pixel_cm**2)
    total = maps.mass_thickness
    # as for organic masses: the top-hat keeps a heap's outline where it lies across things
    opened_total = open3(np.where(organic_like, total, 0.0))
    opened_tophat = open3(np.where(organic_like, tophat, 0.0))
    families = [(level, total, opened_total) for level in POWDER_LEVELS] + [
        (level, tophat, opened_tophat) for level in POWDER_TOPHAT_LEVELS
    ]
    blobs: list[tuple[Blob, np.ndarray]] = []
    for level, values_map, opened in families:
        mask = (opened >= level) & (values_map <= level + 1.2)
        blobs += [(blob, values_map) for blob in components(mask, min_px, max_px, scale)]
    # the shapes of every level's components at once (one eigen-decomposition)
    shapes = _shapes([blob for blob, _ in blobs], maps.pixel_cm, hull=False)
    for (blob, values_map), shape in zip(blobs, shapes, strict=True):
        if shape.elongation > 3.5 or shape.rectangularity < 0.6:
            continue
        window = window_of(blob)
        shape = replace(shape, solidity=solidity(blob.mask))
        _, z, mt, bg = own_reading(maps, Rings.of(blob.mask), window, config)
        values = values_map[window][blob.mask] - (bg if values_map is total else 0.0)
        peak = float(sorted_quantile(np.sort(values), 0.95))
        mean = float(values.mean())
        f = shape_features(shape) | {
            "zeff": z,
            "mass_thickness": mt,
            "background_mt": bg,
            "mound": peak / max(mean, 1e-3),  # a heap is thicker in the middle than at its rim
        }
        value = score("powder", f, p)
        if value > 0:
            found.append(
                Candidate(
                    "powder",
                    value,
                    f"thin heap of organic powder, Zeff {z:.1f}, mass thickness {mt:.2f} "
                    f"g/cm², {shape.area:.0f} cm², on {bg:.2f} g/cm² of background",
                    blob,
                    shape.area,
                    f,
                )
            )
    return found


def power_source(metal: Metal) -> float:
    s = metal.shape
    return (
        band(s.area, 4, 5.5, 45, 70)
        * band(s.elongation, 0.5, 0.8, 3.6, 4.5)
        * band(s.solidity, 0.7, 0.78, 1.01, 1.02)
        * band(s.rectangularity, 0.68, 0.76, 1.01, 1.02)
        * band(metal.own_a_high, 0.8, 1.1, 4.5, 6.0)
    )


def detonator(metal: Metal) -> float:
    s = metal.shape
    return (
        band(s.length, 2.5, 3.2, 7.5, 9.0)
        * band(s.area / s.length, 0.35, 0.45, 1.1, 1.4)
        * band(s.elongation, 3.0, 4.0, 20, 30)
    )


def _learned(cls: str, rows: list[dict[str, float]], p: AnalysisParams) -> np.ndarray | None:
    """The learned scores of candidates of ``cls`` on the rules' scale: the shipped model's
    probability, mapped piecewise-linearly so that its operating point lands on the class's
    reporting threshold. None where no model of the class is shipped."""
    scorers = load()
    if scorers is None or cls not in scorers.models or not rows:
        return None
    prob = scorers.models[cls].predict(rows)
    point = scorers.thresholds.get(cls, 0.5)
    target = threshold_for(p, cls)
    return np.where(
        prob < point,
        target * prob / point,
        target + (1.0 - target) * (prob - point) / max(1.0 - point, 1e-9),
    )


def explosive_gate(f: dict[str, float]) -> bool:
    """Whether an organic mass is worth the explosive scorer at all: wider than the rules'
    bands (TATP below paper, thin sheets, overlapped masses), paper is left to the scorer."""
    return (
        EXPLOSIVE_GATE_Z[0] <= f["zeff"] <= EXPLOSIVE_GATE_Z[1]
        and EXPLOSIVE_GATE_MT[0] <= f["mass_thickness"] <= EXPLOSIVE_GATE_MT[1]
        and f["area_cm2"] <= 800.0
    )


# what ``added_layer`` measures, each the own Zeff (``_zeff``) or mass thickness (``_mt``) of a
# difference of two readings; MISSING where a reading has too few pixels
LAYER_READINGS: tuple[str, ...] = (
    "edge",  # just inside the outline less just outside it: the layer that ends at the edge
    "bg_low",  # inside less the lightest tenth of the ring around: all that lies on the floor
    "bg_high",  # inside less the ring's 60th percentile: less of what lies across the ring
    "thin",  # the lightest quarter inside less the ring: where least lies over the item
    "thick",  # the heaviest quarter inside less the ring
    "overlay",  # heaviest quarter less lightest: the material that varies across the item
)
SIDE_FEATURES: tuple[str, ...] = (
    "side_zeff",
    "side_zeff_spread",
    "side_band",
    "sides",
    "side_zeff_max",
)


def _group_quantiles(
    values: np.ndarray,
    groups: np.ndarray,
    count: int,
    q: np.ndarray,
    source: np.ndarray | None = None,
) -> np.ndarray:
    """Quantile ``q[g]`` of ``values`` (channels x n) within each group g in 0..count-1, as
    ``np.quantile`` interpolates it (nan where a group is empty): one sort for all groups.

    Group g reads the values labelled ``source[g]`` (by default g itself), so a pixel set that
    several groups read (at several quantiles) is labelled, and sorted, once.
    """
    source = np.arange(count) if source is None else source
    counted = np.bincount(groups, minlength=count)
    sizes = counted[source]
    starts = np.concatenate([[0], np.cumsum(counted)[:-1]])[source]
    present = sizes > 0
    position = q[present] * (sizes[present] - 1)
    lo = np.floor(position).astype(np.intp)
    frac = position - lo
    hi = np.minimum(lo + 1, sizes[present] - 1)
    out = np.full((values.shape[0], count), np.nan)
    if not present.any():
        return out
    # each group's values are read as an earlier form of this function left them: sorted by
    # (group * span + value - low), then shifted back; the offset's rounding is applied to
    # the few values read, with each group's own number, so the readings stay the same to
    # the last bit whichever groups share a sort
    offset = np.flatnonzero(present).astype(float)
    for c in range(values.shape[0]):
        low = float(values[c].min())
        span = float(values[c].max()) - low + 1.0
        ordered = _sorted_within(values[c] - low, groups)
        shift = offset * span
        a = ordered[starts[present] + lo] + shift - shift + low
        b = ordered[starts[present] + hi] + shift - shift + low
        out[c, present] = a + (b - a) * frac
    return out


def _sorted_within(values: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """``values`` (non-negative) in order of group, then of value, exactly as they are."""
    if values.dtype == np.float32:
        # the bits of a non-negative float32 sort as the float does: with the group above
        # them, one plain sort of 64-bit keys (faster than a lexsort)
        keys = groups.astype(np.uint64) << np.uint64(32)
        keys |= values.view(np.uint32)
        # the callers pass pixels set by set: the keys come in long ascending runs of groups,
        # which a merge sort (numpy's stable sort) uses, at about half a quicksort's cost
        keys.sort(kind="stable")
        return (keys & np.uint64(0xFFFFFFFF)).astype(np.uint32).view(np.float32)
    return values[np.lexsort((values, groups))]


# the pixel sets of one mass that ``added_layer`` reads, in group order, and their quantile
EDGE_IN, EDGE_OUT, INNER, RING_LOW, RING, RING_HIGH, THIN, THICK = range(8)
SIDE_IN, SIDE_OUT = 8, 8 + SIDES
GROUPS = 8 + 2 * SIDES
GROUP_Q = np.array([0.5, 0.5, 0.5, 0.1, 0.3, 0.6, 0.5, 0.5] + [0.5] * (2 * SIDES))
GROUP_SOURCE = np.array([RING if k in (RING_LOW, RING_HIGH) else k for k in range(GROUPS)])


def _layer_sets(
    mask: np.ndarray, rings: Rings, a_high: np.ndarray, quartiles: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """(flat pixel indices in the window, group of each) of one mass: see ``GROUPS``."""
    edge_in, edge_out = np.flatnonzero(rings.inside2), np.flatnonzero(rings.outside2)
    nothing = edge_in[:0]
    sets = [
        edge_in,
        edge_out,
        np.flatnonzero(rings.inner),
        nothing,  # RING_LOW and RING_HIGH read RING's pixels (``GROUP_SOURCE``)
        np.flatnonzero(rings.background),
        nothing,
        np.flatnonzero(rings.inner & (a_high <= quartiles[0])),
        np.flatnonzero(rings.inner & (a_high >= quartiles[1])),
    ]
    labels = [np.repeat(np.arange(len(sets)), [where.size for where in sets])]
    rows, cols = np.nonzero(mask)
    centre = rows.mean(), cols.mean()
    width = mask.shape[1]
    for first, where in ((SIDE_IN, edge_in), (SIDE_OUT, edge_out)):
        angle = np.arctan2(where // width - centre[0], where % width - centre[1])
        sets.append(where)
        labels.append(first + ((angle + np.pi) / (2 * np.pi) * SIDES).astype(np.intp) % SIDES)
    return np.concatenate(sets), np.concatenate(labels)


def _layer_pairs(
    readings: np.ndarray, sizes: np.ndarray
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, inside (a_high, a_low), around (a_high, a_low)) of one mass, from its groups'
    readings (2 x GROUPS) and pixel counts; readings on too few pixels are left out."""
    pairs: list[tuple[str, np.ndarray, np.ndarray]] = []
    if sizes[EDGE_IN] >= 4 and sizes[EDGE_OUT] >= 4:
        pairs.append(("edge", readings[:, EDGE_IN], readings[:, EDGE_OUT]))
        for k in range(SIDES):
            if sizes[SIDE_IN + k] >= 3 and sizes[SIDE_OUT + k] >= 3:
                pairs.append(("side", readings[:, SIDE_IN + k], readings[:, SIDE_OUT + k]))
    if sizes[RING] >= 4:
        pairs.append(("bg_low", readings[:, INNER], readings[:, RING_LOW]))
        pairs.append(("bg_high", readings[:, INNER], readings[:, RING_HIGH]))
        if sizes[THIN] >= 3 and sizes[THICK] >= 3:
            pairs.append(("thin", readings[:, THIN], readings[:, RING]))
            pairs.append(("thick", readings[:, THICK], readings[:, RING]))
            pairs.append(("overlay", readings[:, THICK], readings[:, THIN]))
    return pairs


def added_layer(
    maps: MaterialMaps, masses: list[Organic], p: AnalysisParams, config: ScanConfig | None
) -> None:
    """Readings of the layer an organic mass adds, for the explosive scorer, into each mass's
    features (gated masses only; the others, and maps without a low channel, keep them missing).

    A single background for the whole mass (``own_reading``) strips the box floor but not
    clothing or paper lying across part of the item. Here the dual-energy readings are compared
    across the outline (an item's own material is what steps down at its edge, whatever lies
    across it), side by side around it (a block steps down by the same material on every side;
    a heap of clothing does not), against lighter and heavier parts of the ring, and between the
    thinnest and thickest parts inside (the overlay's own material). Each difference is reduced
    to Zeff and mass thickness by basis-material decomposition, all masses of an image at once.
    """
    if config is None or maps.a_low is None:
        return
    chosen = [
        m
        for m in masses
        if m.rings is not None
        and (explosive_gate(m.features) or score("explosive", m.features, p) > 0)
    ]
    if not chosen:
        return
    windows = [window_of(m.blob) for m in chosen]
    highs = [maps.a_high[w].ravel() for w in windows]
    lows = [maps.a_low[w].ravel() for w in windows]
    # quartiles of attenuation inside each mass (which pixels are its thin and thick parts)
    inner = [np.flatnonzero(m.rings.inner) for m in chosen if m.rings is not None]
    quartiles = _group_quantiles(
        np.concatenate([h[i] for h, i in zip(highs, inner, strict=True)])[None],
        np.repeat(np.arange(len(chosen)), [i.size for i in inner]),
        2 * len(chosen),
        np.repeat([0.25, 0.75], len(chosen)),
        np.tile(np.arange(len(chosen)), 2),
    )[0]
    offsets = np.concatenate([[0], np.cumsum([h.size for h in highs])])
    taken, groups = [], []
    for index, (mass, high) in enumerate(zip(chosen, highs, strict=True)):
        assert mass.rings is not None
        pair = (float(quartiles[index]), float(quartiles[len(chosen) + index]))
        where, group = _layer_sets(
            mass.blob.mask, mass.rings, high.reshape(mass.blob.mask.shape), pair
        )
        taken.append(where + offsets[index])
        groups.append(group + index * GROUPS)
    at = np.concatenate(taken)
    label = np.concatenate(groups)
    total = GROUPS * len(chosen)
    both = np.stack([np.concatenate(highs)[at], np.concatenate(lows)[at]])
    source = (GROUP_SOURCE + GROUPS * np.arange(len(chosen))[:, None]).ravel()
    quantiles = _group_quantiles(both, label, total, np.tile(GROUP_Q, len(chosen)), source)
    sizes = np.bincount(label, minlength=total)[source]
    owners: list[tuple[int, str]] = []
    inside: list[np.ndarray] = []
    around: list[np.ndarray] = []
    for index in range(len(chosen)):
        span = slice(index * GROUPS, (index + 1) * GROUPS)
        for name, i, o in _layer_pairs(quantiles[:, span], sizes[span]):
            owners.append((index, name))
            inside.append(i)
            around.append(o)
    if not owners:
        return
    _, zeff, mt = own_materials(config, np.array(inside), np.array(around))
    readings: list[dict[str, tuple[float, float]]] = [{} for _ in chosen]
    sides = np.full((len(chosen), SIDES), np.nan)
    placed = np.zeros(len(chosen), dtype=np.intp)
    for (index, name), z, m in zip(owners, zeff, mt, strict=True):
        if name != "side":
            readings[index][name] = (float(z), float(m))
        elif m > SIDE_MIN_MT:
            sides[index, placed[index]] = z
            placed[index] += 1
    lo, hi = EXPLOSIVE_BAND_Z
    # side statistics of the masses read on at least three sides (nan pads the rest)
    read_round = placed >= 3
    stats = np.full((5, len(chosen)), np.nan)
    if read_round.any():
        ring_z = sides[read_round]
        # each mass's side readings are its first ``placed`` entries (nan pads the rest);
        # float64 quantiles, as np.nanquantile gives them
        ordered = [np.sort(sides[i, : placed[i]]) for i in np.flatnonzero(read_round)]
        q25, q50, q75 = np.array(
            [[sorted_quantile(o, np.float64(q)) for q in (0.25, 0.5, 0.75)] for o in ordered]
        ).T
        inside = ((ring_z > lo) & (ring_z < hi)).sum(axis=1) / placed[read_round]
        stats[:, read_round] = [q50, q75 - q25, inside, placed[read_round], np.nanmax(ring_z, 1)]
    for index, (mass, reading) in enumerate(zip(chosen, readings, strict=True)):
        f = mass.features
        for name in LAYER_READINGS:
            f[f"{name}_zeff"], f[f"{name}_mt"] = reading.get(name, (MISSING, MISSING))
        if read_round[index]:
            f.update(zip(SIDE_FEATURES, (float(v) for v in stats[:, index]), strict=True))
        else:
            f.update(dict.fromkeys(SIDE_FEATURES, MISSING))


def organic_threats(
    masses: list[Organic],
    metals: list[Metal],
    p: AnalysisParams,
    metal_pixel_cm: float,
    learned: bool = True,
) -> list[Candidate]:
    """Explosive and IED candidates from organic masses. With ``learned`` (and a shipped
    model) each gated candidate is scored by the model; without, by the rules alone, and
    gated candidates that the rules score 0 are kept too (to label them for training).

    An IED candidate is any mass that the IED rules or the explosive gate admit with a power
    source or a detonator-like rod in reach (``_group``); the model weighs the grouping."""
    explosives: list[Candidate] = []
    ieds: list[Candidate] = []
    powers = [(m, power_source(m)) for m in metals]
    detonators = [(m, detonator(m)) for m in metals]
    powers = [(m, v) for m, v in powers if v > 0]
    detonators = [(m, v) for m, v in detonators if v > 0]
    fields = {
        id(m): DistanceField.of(m.blob, metal_pixel_cm, p.ied_reach_cm * 1.5)
        for m, _ in powers + detonators
    }
    for mass in masses:
        f = mass.features
        explosive = score("explosive", f, p)
        if explosive > 0 or explosive_gate(f):
            explosives.append(
                Candidate(
                    "explosive",
                    explosive,
                    f"organic mass, Zeff {f['zeff']:.1f}, mass thickness "
                    f"{f['mass_thickness']:.1f} g/cm², {mass.shape.area:.0f} cm², uniform "
                    f"(spread {f['spread']:.2f})",
                    mass.blob,
                    mass.shape.area,
                    f | {"rule": explosive},
                )
            )
        rule_gate = score("ied", f | {"power": 1.0, "detonator": 1.0}, p) > 0
        if not (powers or detonators) or not (rule_gate or explosive_gate(f)):
            continue
        charge = mass.blob.rescaled(metals[0].blob.scale)
        group = _group(charge, metals, powers, detonators, metal_pixel_cm, p, fields)
        if group is None:
            continue
        g = f | {"power": group["power"], "detonator": group["detonator"]}
        value = score("ied", g, p) if rule_gate else 0.0
        # a charge without a power source in reach is left to the model (grouping candidate)
        if value <= 0 and learned and group["power"] <= 0 and group["detonator"] <= 0:
            continue
        union = charge
        for blob in group.pop("blobs"):
            union = union.union(blob)
        ieds.append(
            Candidate(
                "ied",
                value,
                f"organic mass (Zeff {f['zeff']:.1f}, {f['mass_thickness']:.1f} g/cm², "
                f"{mass.shape.area:.0f} cm²) with "
                + ("a power source" if group["power"] > 0 else "detonator-like metal")
                + (" and a detonator-like rod" if group["detonator"] > 0.3 else "")
                + " beside it",
                union,
                mass.shape.area,
                g | group | {"context": 0.0, "rule": value},
            )
        )
    if learned:
        explosives = rescore(explosives, p)
    return explosives + ieds


@dataclass(frozen=True)
class DistanceField:
    """Distances (cm) from one blob, over a window padded by the reach: built once per metal
    part, read for each organic mass near it."""

    row: int
    col: int
    cm: np.ndarray

    @classmethod
    def of(cls, blob: Blob, pixel_cm: float, reach_cm: float) -> DistanceField:
        pad = int(np.ceil(reach_cm / pixel_cm)) + 1
        h, w = blob.mask.shape
        outside = np.ones((h + 2 * pad, w + 2 * pad), dtype=bool)
        outside[pad : pad + h, pad : pad + w] = ~blob.mask
        cm = ndimage.distance_transform_edt(outside) * pixel_cm
        return cls(blob.row - pad, blob.col - pad, cm)

    def to(self, other: Blob) -> float:
        """Shortest distance (cm) to ``other`` (same scale); inf where it lies outside."""
        r0, c0 = max(other.row, self.row), max(other.col, self.col)
        r1 = min(other.row + other.mask.shape[0], self.row + self.cm.shape[0])
        c1 = min(other.col + other.mask.shape[1], self.col + self.cm.shape[1])
        if r1 <= r0 or c1 <= c0:
            return float("inf")
        inside = other.mask[r0 - other.row : r1 - other.row, c0 - other.col : c1 - other.col]
        if not inside.any():
            return float("inf")
        values = self.cm[r0 - self.row : r1 - self.row, c0 - self.col : c1 - self.col]
        return float(values[inside].min())


def _gap_cm(a: Blob, b: Blob, pixel_cm: float) -> float:
    """A lower bound (cm) on the distance between two blobs of one scale: their boxes' gap."""
    ra0, ca0, ra1, ca1 = a.bounds
    rb0, cb0, rb1, cb1 = b.bounds
    dr = max(rb0 - ra1, ra0 - rb1, 0)
    dc = max(cb0 - ca1, ca0 - cb1, 0)
    return float(np.hypot(dr, dc)) * pixel_cm


def _group(
    charge: Blob,
    metals: list[Metal],
    powers: list[tuple[Metal, float]],
    detonators: list[tuple[Metal, float]],
    pixel_cm: float,
    p: AnalysisParams,
    fields: dict[int, DistanceField],
) -> dict[str, Any] | None:
    """The IED parts around an organic mass: the best power source and detonator-like rod in
    reach (memberships weighed by distance), their distances, and how much metal lies near
    (counts, thin wire-like length). None where neither a power source nor a rod is in reach."""
    reach = p.ied_reach_cm * 1.5
    # every metal part with its box in reach; exact distances only for the IED parts
    near = [(m, gap) for m in metals if (gap := _gap_cm(charge, m.blob, pixel_cm)) <= reach]
    at = {id(m): gap for m, gap in near}
    for m, _ in near:
        if id(m) in fields:
            at[id(m)] = fields[id(m)].to(charge)
    power_best, power_blob, power_cm = 0.0, None, MISSING
    power_count = 0
    for metal, value in powers:
        if id(metal) not in at:
            continue
        power_count += 1
        distance = at[id(metal)]
        value *= band(distance, -1, 0, p.ied_reach_cm, reach)
        if value > power_best:
            power_best, power_blob, power_cm = value, metal.blob, distance
    detonator_best, detonator_blob, detonator_cm = 0.0, None, MISSING
    detonator_count = 0
    for metal, value in detonators:
        if id(metal) not in at:
            continue
        detonator_count += 1
        distance = at[id(metal)]
        value *= band(distance, -1, 0, 1.5, 3.0)
        if value > detonator_best:
            detonator_best, detonator_blob, detonator_cm = value, metal.blob, distance
    if power_blob is None and detonator_blob is None:
        return None
    thin = [m for m, _ in near if m.shape.width < 1.0 and m.shape.elongation > 3.0]
    return {
        "power": power_best,
        "detonator": detonator_best,
        "power_cm": power_cm,
        "detonator_cm": detonator_cm,
        "power_count": float(power_count),
        "detonator_count": float(detonator_count),
        "metal_near": float(len(near)),
        "metal_near_cm2": float(sum(m.shape.area for m, _ in near)),
        "thin_metal_cm": float(sum(m.shape.length for m in thin)),
        "blobs": [b for b in (power_blob, detonator_blob) if b is not None],
    }


def rescore(found: list[Candidate], p: AnalysisParams) -> list[Candidate]:
    """Candidates scored by the shipped model of their class (where there is one), those the
    model all but rules out dropped; left to the rules (score > 0) otherwise."""
    if not found:
        return found
    values = _learned(found[0].cls, [c.features for c in found], p)
    if values is None:
        return [c for c in found if c.score > 0]
    kept = []
    for cand, value in zip(found, values, strict=True):
        if value >= LEARNED_FLOOR:
            cand.score = float(value)
            kept.append(cand)
    return kept


def detonator_context(
    metals: list[Metal],
    organic_maps: MaterialMaps,
    p: AnalysisParams,
    metal_pixel_cm: float,
    learned: bool = True,
) -> list[Candidate]:
    """IEDs read from a detonator-like rod in organic material with a power source in reach.

    The charge of a packed IED is often overlapped by other things and cannot be outlined;
    the detonator and the battery, being metal, still stand out.
    """
    found: list[Candidate] = []
    powers = [(m, v) for m in metals if (v := power_source(m)) > 0]
    if not powers:
        return found
    ratio = organic_maps.pixel_cm / metal_pixel_cm
    for rod in metals:
        det = detonator(rod)
        if det < 0.5:
            continue
        power_best, power_blob, power_cm = 0.0, None, MISSING
        for metal, value in powers:
            if metal is rod:
                continue
            distance = distance_cm(rod.blob, metal.blob, metal_pixel_cm)
            value *= band(distance, -1, 0, p.ied_reach_cm, p.ied_reach_cm * 1.5)
            if value > power_best:
                power_best, power_blob, power_cm = value, metal.blob, distance
        if power_blob is None:
            continue
        # organic mass thickness around the rod, metal pixels left out
        r0, c0, r1, c1 = rod.blob.bounds
        pad = 4
        window = (
            slice(max(int(r0 / ratio) - pad, 0), int(r1 / ratio) + pad),
            slice(max(int(c0 / ratio) - pad, 0), int(c1 / ratio) + pad),
        )
        organic = organic_maps.zeff[window] < INORGANIC_MAX_Z - 8
        if organic.sum() < 4:
            continue
        near = float(np.median(organic_maps.mass_thickness[window][organic]))
        f = shape_features(rod.shape) | {
            "power": power_best,
            "detonator": det,
            "organic_near": near,
        }
        value = score("ied", f, p)
        f |= {"power_cm": power_cm, "detonator_cm": 0.0, "context": 1.0, "rule": value}
        if value > 0 or not learned:
            found.append(
                Candidate(
                    "ied",
                    value,
                    f"detonator-like rod ({rod.shape.length:.1f} cm) in organic material "
                    f"({near:.1f} g/cm²) with a power source beside it",
                    rod.blob.union(power_blob),
                    rod.shape.area,
                    f,
                )
            )
    return found
