"""Pluggable scoring methods (docs/risk.md#scoring). An assessment names one by slug, with its
parameters, and keeps it for life.

A method names its factors (each an integer on a scale), turns their values into a score, and the
score into a level. ``normalised`` puts any method's score on 0..1, so assessments scored by
different methods can still be compared, and ``cell`` places a risk on the heatmap.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Protocol


class Level:
    """The levels every method maps its scores onto, lowest first."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"
    ORDER = (LOW, MEDIUM, HIGH, CRITICAL)


@dataclass(frozen=True)
class Factor:
    key: str
    label: str
    low: int
    high: int
    help: str  # what the ends of the scale mean, in plain words


class MethodError(ValueError):
    """Bad parameters or factor values; ``field`` names the one at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Method(Protocol):
    slug: str
    title: str

    @property
    def factors(self) -> tuple[Factor, ...]: ...

    def score(self, values: Mapping[str, int]) -> float:
        """The score of complete factor values (MethodError naming a missing or
        out-of-range factor)."""
        ...

    def level(self, score: float) -> str: ...

    def normalised(self, score: float) -> float: ...

    # The heatmap's axes: titles and sizes, and which cell (row, column from 0) a risk's
    # values fall in.
    @property
    def axes(self) -> tuple[tuple[str, int], tuple[str, int]]: ...

    def cell(self, values: Mapping[str, int]) -> tuple[int, int]: ...


_MODULES = ("matrix", "fema452", "carver")
# slug -> a factory taking the assessment's parameters (MethodError for bad ones).
METHODS: dict[str, Callable[[Mapping[str, Any]], Method]] = {}


def method(slug: str, params: Mapping[str, Any] | None = None) -> Method:
    """The method ``slug`` made with ``params`` (MethodError naming ``method`` or the
    parameter)."""
    for module in _MODULES:
        import_module(f"{__name__}.{module}")  # each registers its method
    factory = METHODS.get(slug)
    if factory is None:
        known = ", ".join(sorted(METHODS))
        raise MethodError(f"unknown scoring method {slug!r}; the methods are {known}", "method")
    return factory(params or {})
