"""ISO 31000-style likelihood x impact matrix of a configurable size (3..10, default 5).

The score is likelihood x impact; the level follows its share of the largest possible score
(size²), so a 3x3 and a 10x10 matrix rate alike: up to 20 % low, up to 40 % medium, up to 64 %
high, above that critical. On a 5x5 matrix that is 1-5 low, 6-10 medium, 12-16 high, 20-25
critical.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mailwarden.risk.scoring import METHODS, Factor, Level, Method, MethodError
from mailwarden.risk.scoring._common import check_values

SLUG = "matrix"
MIN_SIZE = 3
MAX_SIZE = 10
DEFAULT_SIZE = 5
# Upper bounds (inclusive) of a score's share of the largest score, per level.
BANDS = ((0.20, Level.LOW), (0.40, Level.MEDIUM), (0.64, Level.HIGH))


@dataclass
class Matrix:
    size: int = DEFAULT_SIZE
    slug: str = SLUG
    title: str = "Likelihood x impact matrix (ISO 31000 style)"

    @property
    def factors(self) -> tuple[Factor, ...]:
        return (
            Factor(
                "likelihood",
                "Likelihood",
                1,
                self.size,
                f"1: rare, hardly ever expected; {self.size}: almost certain to happen",
            ),
            Factor(
                "impact",
                "Impact",
                1,
                self.size,
                f"1: negligible harm; {self.size}: severe harm to people or the service",
            ),
        )

    @property
    def maximum(self) -> int:
        return self.size * self.size

    def score(self, values: Mapping[str, int]) -> float:
        checked = check_values(self.factors, values)
        return float(checked["likelihood"] * checked["impact"])

    def level(self, score: float) -> str:
        share = score / self.maximum
        return next((level for bound, level in BANDS if share <= bound), Level.CRITICAL)

    def normalised(self, score: float) -> float:
        return score / self.maximum

    @property
    def axes(self) -> tuple[tuple[str, int], tuple[str, int]]:
        return (("Likelihood", self.size), ("Impact", self.size))

    def cell(self, values: Mapping[str, int]) -> tuple[int, int]:
        checked = check_values(self.factors, values)
        return (checked["likelihood"] - 1, checked["impact"] - 1)


def make(params: Mapping[str, Any]) -> Method:
    for key in params:
        if key != "size":
            raise MethodError(f"the matrix method takes only 'size' (got {key!r})", key)
    size = params.get("size", DEFAULT_SIZE)
    if isinstance(size, bool) or not isinstance(size, int):
        raise MethodError("the matrix size must be a whole number", "size")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise MethodError(
            f"the matrix size must be from {MIN_SIZE} to {MAX_SIZE}, not {size}", "size"
        )
    return Matrix(size=size)


METHODS[SLUG] = make
