"""The decision rules: each threat class's score from measured features, and its thresholds.

Scores are products of trapezoid memberships (``band``) of the features, so every threshold is
a plain number in ``AnalysisParams``, and a score of 1 means every feature lies in its band.
"""

from __future__ import annotations

from dataclasses import dataclass

from .shape_features import Shape, band

REGION_CLASSES: tuple[str, ...] = ("explosive", "ied", "knife", "gun", "shielded", "powder")


@dataclass(frozen=True)
class AnalysisParams:
    report_threshold: float = 0.3  # regions scoring below this are not reported...
    # ...unless a class has its own; tuned on simulated seeds 1-3 for <= 0.1 false alarms a scan
    class_thresholds: tuple[tuple[str, float], ...] = (
        ("explosive", 0.5),
        ("ied", 0.3),
        ("knife", 0.3),
        ("gun", 0.4),
        ("shielded", 0.3),
        ("powder", 0.4),
    )
    # explosives: Zeff band and own mass thickness (g/cm2) of the mass
    explosive_z: tuple[float, float, float, float] = (6.96, 7.01, 7.5, 7.65)
    peroxide_z: tuple[float, float, float, float] = (6.55, 6.6, 6.77, 6.82)
    peroxide_weight: float = 0.75
    explosive_edge_step: tuple[float, float, float, float] = (0.55, 0.7, 10.0, 11.0)
    explosive_mt: tuple[float, float, float, float] = (0.55, 0.75, 14.0, 20.0)
    explosive_area: tuple[float, float, float, float] = (20.0, 35.0, 450.0, 650.0)
    explosive_elongation: tuple[float, float, float, float] = (0.0, 0.0, 3.2, 4.5)
    explosive_max_spread: float = 0.2  # (p90 - p10) / median of mass thickness inside
    explosive_rectangularity: tuple[float, float, float, float] = (0.5, 0.6, 1.01, 1.02)
    explosive_flatness: tuple[float, float, float, float] = (0.88, 0.93, 1.15, 1.3)
    # IED main charge: any dense organic; context makes the case
    ied_z: tuple[float, float, float, float] = (6.4, 6.55, 7.8, 8.3)
    ied_mt: tuple[float, float, float, float] = (1.5, 2.2, 14.0, 20.0)
    ied_reach_cm: float = 12.0  # power source within this distance of the charge
    ied_detonator_floor: float = 0.3  # the IED score without any detonator-like rod
    ied_context_weight: float = 0.8  # an IED read from detonator and power source alone
    ied_context_mt: tuple[float, float, float, float] = (1.5, 2.5, 30.0, 40.0)
    # metal shapes
    knife_width: tuple[float, float, float, float] = (0.6, 0.9, 4.5, 5.5)
    knife_length: tuple[float, float, float, float] = (10.0, 14.0, 40.0, 48.0)
    knife_max_a_high: float = 1.7  # own high-energy attenuation of a flat blade
    gun_area: tuple[float, float, float, float] = (35.0, 55.0, 220.0, 300.0)
    gun_solidity: tuple[float, float, float, float] = (0.4, 0.5, 0.78, 0.88)
    shielded_area: tuple[float, float, float, float] = (12.0, 30.0, 1e4, 2e4)
    # powder
    powder_mt: tuple[float, float, float, float] = (0.1, 0.16, 0.75, 0.9)
    powder_area: tuple[float, float, float, float] = (15.0, 25.0, 100.0, 140.0)
    powder_max_background: float = 1.0  # g/cm2 around the heap: letter on a light background


def threshold_for(params: AnalysisParams, cls: str) -> float:
    """The reporting threshold of region class ``cls``."""
    return dict(params.class_thresholds).get(cls, params.report_threshold)


def score(cls: str, f: dict[str, float], p: AnalysisParams) -> float:
    """The score of a candidate of class ``cls`` from its measured features ``f``."""
    if cls == "knife":
        return (
            band(f["elongation"], 3.0, 4.5, 40, 60)
            * band(f["width_cm"], *p.knife_width)
            * band(f["length_cm"], *p.knife_length)
            * band(f["own_a_high"], 0.15, 0.3, p.knife_max_a_high, p.knife_max_a_high + 0.5)
            * band(f["solidity"], 0.5, 0.6, 1.01, 1.02)
            * band(f["impenetrable_share"], -1, 0, 0.1, 0.3)
        )
    if cls == "gun":
        return (
            band(f["area_cm2"], *p.gun_area)
            * band(f["solidity"], *p.gun_solidity)
            * band(f["rectangularity"], 0.25, 0.35, 0.65, 0.75)
            * band(f["elongation"], 0.8, 1.1, 3.0, 4.0)
            * band(f["own_a_high"], 0.8, 1.3, 20, 21)
        )
    if cls == "shielded":
        return (
            band(f["impenetrable_cm2"], *p.shielded_area)
            * band(f["solidity"], 0.7, 0.85, 1.01, 1.02)
            * band(f["impenetrable_share"], 0.4, 0.7, 1.01, 1.02)
        )
    if cls == "explosive":
        # TATP and other peroxides sit below paper in Zeff: a second, weaker band
        z = max(band(f["zeff"], *p.explosive_z), p.peroxide_weight * band(f["zeff"], *p.peroxide_z))
        # a small round item of even thickness is a jar or a tin, not a block
        disc = band(f["elongation"], 0, 0, 1.2, 1.4) * band(f["rectangularity"], 0, 0, 0.84, 0.88)
        return (
            z
            * (1.0 - disc)
            * band(f["edge_step"], *p.explosive_edge_step)
            * band(f["mass_thickness"], *p.explosive_mt)
            * band(f["area_cm2"], *p.explosive_area)
            * band(f["spread"], -1, 0, p.explosive_max_spread, p.explosive_max_spread * 1.6)
            * band(f["rectangularity"], *p.explosive_rectangularity)
            * band(f["flatness"], *p.explosive_flatness)
            * band(f["elongation"], *p.explosive_elongation)
        )
    if cls == "ied" and "organic_near" in f:
        # found from the detonator outward: a detonator-like rod lying in organic material,
        # with a power source within reach, even where the charge itself could not be outlined
        return (
            p.ied_context_weight
            * f["detonator"]
            * f["power"]
            * band(f["organic_near"], *p.ied_context_mt)
        )
    if cls == "ied":
        return (
            band(f["zeff"], *p.ied_z)
            * band(f["mass_thickness"], *p.ied_mt)
            * band(f["area_cm2"], 10, 20, 500, 700)
            * band(f["spread"], -1, 0, 0.5, 0.7)
            * band(f["rectangularity"], 0.6, 0.75, 1.01, 1.02)
            * f["power"]
            # a detonator hidden in clutter is often not seen: its absence weakens the case
            * (p.ied_detonator_floor + (1.0 - p.ied_detonator_floor) * f["detonator"])
        )
    if cls == "powder":
        return (
            band(f["mass_thickness"], *p.powder_mt)
            * band(f["area_cm2"], *p.powder_area)
            * band(
                f["background_mt"], -1, 0, p.powder_max_background, p.powder_max_background * 1.4
            )
            * band(f["zeff"], 5.0, 6.0, 8.5, 9.5)
            * band(f["rectangularity"], 0.6, 0.68, 0.88, 0.95)
            * band(f["mound"], 1.1, 1.3, 5, 8)
            * band(f["elongation"], 0, 0, 2.0, 2.6)
            * band(f["solidity"], 0.8, 0.88, 1.01, 1.02)
            * band(f["width_cm"], 3.0, 3.8, 20, 30)
        )
    raise ValueError(f"cls: {cls!r} is not one of {REGION_CLASSES}")


def shape_features(s: Shape) -> dict[str, float]:
    return {
        "area_cm2": s.area,
        "length_cm": s.length,
        "width_cm": s.area / s.length,
        "elongation": s.elongation,
        "rectangularity": s.rectangularity,
        "solidity": s.solidity,
    }
