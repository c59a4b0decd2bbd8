"""FEMA 452 threat x vulnerability x consequence, each rated 1..10, score their product (1..1000).

Levels as FEMA 452 rates the product: up to 60 low, up to 175 medium, above that high. We add a
top band, critical, from 512 up: every factor rated 8 or more on average (8³ = 512), a scenario
that is likely, easy and grave at once and should be treated before any other high one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailwarden.risk.scoring import METHODS, Factor, Level, Method
from mailwarden.risk.scoring._common import bucket, check_values, no_params

SLUG = "fema452"
LOW_MAX = 60
MEDIUM_MAX = 175
CRITICAL_FROM = 512
MAXIMUM = 1000
HEATMAP_SIZE = 10

FACTORS = (
    Factor("threat", "Threat", 1, 10, "1: no credible threat; 10: an attack is expected soon"),
    Factor(
        "vulnerability",
        "Vulnerability",
        1,
        10,
        "1: strong layered protection; 10: open, nothing would stop or detect it",
    ),
    Factor(
        "consequence",
        "Consequence",
        1,
        10,
        "1: little or no loss; 10: loss of life or of the mail service for a long time",
    ),
)


@dataclass
class Fema452:
    slug: str = SLUG
    title: str = "FEMA 452 threat x vulnerability x consequence"

    @property
    def factors(self) -> tuple[Factor, ...]:
        return FACTORS

    def score(self, values: Mapping[str, int]) -> float:
        checked = check_values(FACTORS, values)
        return float(checked["threat"] * checked["vulnerability"] * checked["consequence"])

    def level(self, score: float) -> str:
        if score <= LOW_MAX:
            return Level.LOW
        if score <= MEDIUM_MAX:
            return Level.MEDIUM
        if score < CRITICAL_FROM:
            return Level.HIGH
        return Level.CRITICAL

    def normalised(self, score: float) -> float:
        return score / MAXIMUM

    @property
    def axes(self) -> tuple[tuple[str, int], tuple[str, int]]:
        return (("Threat", HEATMAP_SIZE), ("Vulnerability x consequence", HEATMAP_SIZE))

    def cell(self, values: Mapping[str, int]) -> tuple[int, int]:
        checked = check_values(FACTORS, values)
        # The product 1..100 in ten bands of ten.
        exposure = checked["vulnerability"] * checked["consequence"]
        return (checked["threat"] - 1, bucket(exposure, 1, 100, HEATMAP_SIZE))


def make(params: Mapping[str, Any]) -> Method:
    no_params(SLUG, params)
    return Fema452()


METHODS[SLUG] = make
