"""CARVER: criticality, accessibility, recuperability, vulnerability, effect and
recognisability, each rated 1..10; the score is their sum (6..60).

Levels by the sum: up to 24 low (an average rating of 4 or less), up to 36 medium (6 or less),
up to 48 high (8 or less), above that critical.

The heatmap sets consequence (criticality + recuperability + effect) against exposure
(accessibility + vulnerability + recognisability), each sum 3..30 in ten bands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailwarden.risk.scoring import METHODS, Factor, Level, Method
from mailwarden.risk.scoring._common import bucket, check_values, no_params

SLUG = "carver"
BANDS = ((24, Level.LOW), (36, Level.MEDIUM), (48, Level.HIGH))
MAXIMUM = 60
HEATMAP_SIZE = 10
CONSEQUENCE = ("criticality", "recuperability", "effect")
EXPOSURE = ("accessibility", "vulnerability", "recognisability")

FACTORS = (
    Factor(
        "criticality",
        "Criticality",
        1,
        10,
        "1: the mailroom works on without it; 10: losing it stops the mail service",
    ),
    Factor(
        "accessibility",
        "Accessibility",
        1,
        10,
        "1: out of reach behind several barriers; 10: anyone can reach it unseen",
    ),
    Factor(
        "recuperability",
        "Recuperability",
        1,
        10,
        "1: back to normal within hours; 10: months to recover, or never",
    ),
    Factor(
        "vulnerability",
        "Vulnerability",
        1,
        10,
        "1: an attack would need rare skills or means; 10: easy with ordinary means",
    ),
    Factor(
        "effect",
        "Effect",
        1,
        10,
        "1: felt only in the mailroom; 10: harms the whole organisation or its people",
    ),
    Factor(
        "recognisability",
        "Recognisability",
        1,
        10,
        "1: hard to identify as a target; 10: obvious to anyone",
    ),
)


@dataclass
class Carver:
    slug: str = SLUG
    title: str = "CARVER target analysis"

    @property
    def factors(self) -> tuple[Factor, ...]:
        return FACTORS

    def score(self, values: Mapping[str, int]) -> float:
        return float(sum(check_values(FACTORS, values).values()))

    def level(self, score: float) -> str:
        return next((level for bound, level in BANDS if score <= bound), Level.CRITICAL)

    def normalised(self, score: float) -> float:
        return score / MAXIMUM

    @property
    def axes(self) -> tuple[tuple[str, int], tuple[str, int]]:
        return (
            ("Consequence (criticality, recuperability, effect)", HEATMAP_SIZE),
            ("Exposure (accessibility, vulnerability, recognisability)", HEATMAP_SIZE),
        )

    def cell(self, values: Mapping[str, int]) -> tuple[int, int]:
        checked = check_values(FACTORS, values)
        consequence = sum(checked[k] for k in CONSEQUENCE)
        exposure = sum(checked[k] for k in EXPOSURE)
        return (bucket(consequence, 3, 30, HEATMAP_SIZE), bucket(exposure, 3, 30, HEATMAP_SIZE))


def make(params: Mapping[str, Any]) -> Method:
    no_params(SLUG, params)
    return Carver()


METHODS[SLUG] = make
