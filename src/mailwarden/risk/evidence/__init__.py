"""Live evidence for controls (docs/risk.md#live-evidence): measures read from the running system
over a period, each compared with a control's expectation.

Adding a measure is one function with ``@measure(...)`` in a module listed in ``MODULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from mailwarden.directory.models import Site


@dataclass(frozen=True)
class Measurement:
    value: float | None  # None: nothing to measure in the period
    unit: str  # "share", "count", "d′", "hours", ...
    summary: str  # one sentence for a person, e.g. "97.1% of 412 items screened before delivery"
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Measure:
    slug: str
    title: str
    unit: str
    # The expectation a control gets by default, e.g. {"min": 0.99}.
    default_expectation: Mapping[str, float]
    # Takes the site, the period, and the control's link reference ("" when none).
    read: Callable[[Site, datetime, datetime, str], Measurement]


MEASURES: dict[str, Measure] = {}
MODULES: tuple[str, ...] = ()


def measure(
    slug: str, title: str, unit: str, default_expectation: Mapping[str, float]
) -> Callable[[Callable[[Site, datetime, datetime, str], Measurement]], Measure]:
    def register(read: Callable[[Site, datetime, datetime, str], Measurement]) -> Measure:
        found = Measure(slug, title, unit, dict(default_expectation), read)
        MEASURES[slug] = found
        return found

    return register


def meets(measurement: Measurement, expectation: Mapping[str, float]) -> bool | None:
    """Whether the measured value meets ``{"min": x}`` and/or ``{"max": y}``; None when there
    was nothing to measure."""
    if measurement.value is None:
        return None
    low, high = expectation.get("min"), expectation.get("max")
    return (low is None or measurement.value >= low) and (high is None or measurement.value <= high)
