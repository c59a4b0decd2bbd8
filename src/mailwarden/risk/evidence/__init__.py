"""Live evidence for controls (docs/risk.md#live-evidence): measures read from the running system
over a period, each compared with a control's expectation.

Adding a measure is one function with ``@measure(...)`` in a module listed in ``MODULES``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
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
    # The link kind (risk.links) whose reference narrows the measure, e.g. "access.door" for
    # the alarms of one door; a control linked to anything else is measured site-wide.
    ref_kind: str = ""


MEASURES: dict[str, Measure] = {}
MODULES: tuple[str, ...] = ("screening", "access", "surveillance", "training", "drills", "ledger")


def measure(
    slug: str,
    title: str,
    unit: str,
    default_expectation: Mapping[str, float],
    *,
    ref_kind: str = "",
) -> Callable[[Callable[[Site, datetime, datetime, str], Measurement]], Measure]:
    def register(read: Callable[[Site, datetime, datetime, str], Measurement]) -> Measure:
        found = Measure(slug, title, unit, dict(default_expectation), read, ref_kind)
        MEASURES[slug] = found
        return found

    return register


def measures() -> dict[str, Measure]:
    """Every measure, by slug (importing the modules registers them)."""
    for module in MODULES:
        import_module(f"{__name__}.{module}")
    return MEASURES


def percent(share: float) -> str:
    return f"{100 * share:.1f}%"


def meets(measurement: Measurement, expectation: Mapping[str, float]) -> bool | None:
    """Whether the measured value meets ``{"min": x}`` and/or ``{"max": y}``; None when there
    was nothing to measure."""
    if measurement.value is None:
        return None
    low, high = expectation.get("min"), expectation.get("max")
    return (low is None or measurement.value >= low) and (high is None or measurement.value <= high)
