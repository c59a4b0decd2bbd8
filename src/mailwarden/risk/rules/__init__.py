"""Automatic vulnerability findings (docs/risk-rules.md): small rules that read the
live configuration and history through the other apps' queries and propose findings.

Adding a rule is one function with ``@rule(...)`` in a module listed in ``MODULES``. A rule that
raises is reported as failed and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module
from typing import Any

from mailwarden.directory.models import Site


@dataclass(frozen=True)
class Context:
    site: Site
    now: datetime
    period_start: datetime
    period_end: datetime
    # The site's thresholds over DEFAULTS (RiskSitePolicy).
    thresholds: Mapping[str, Any]


@dataclass(frozen=True)
class Proposed:
    """What a rule found about one subject."""

    subject: str  # e.g. "credential:41", "door:3"; unique per rule
    title: str
    evidence: Mapping[str, Any]
    suggested_treatment: str
    threat: str = ""  # the template threat it bears on


@dataclass(frozen=True)
class Rule:
    slug: str
    title: str
    check: Callable[[Context], Iterable[Proposed]]
    # The thresholds (THRESHOLDS) it reads, to show beside it.
    uses: tuple[str, ...] = ()


@dataclass
class RunReport:
    proposed: dict[str, list[Proposed]] = field(default_factory=dict)  # by rule slug
    failed: dict[str, str] = field(default_factory=dict)  # rule slug -> what went wrong


@dataclass(frozen=True)
class Threshold:
    """A number a rule compares with, that a site may set (RiskSitePolicy.thresholds)."""

    name: str
    label: str
    default: float | None
    kind: type[int] | type[float]
    low: float
    high: float
    # A default of None means "ask the app that owns the bar" (e.g. training's course d′).
    nullable: bool = False


THRESHOLDS: dict[str, Threshold] = {}
# Threshold defaults; a site overrides any of them (RiskSitePolicy.thresholds).
DEFAULTS: dict[str, Any] = {}
RULES: dict[str, Rule] = {}
MODULES: tuple[str, ...] = (
    "access",
    "screening",
    "training",
    "surveillance",
    "incidents",
    "ledger",
)


def threshold(
    name: str,
    label: str,
    default: float | None,
    *,
    kind: type[int] | type[float] = int,
    low: float = 0,
    high: float = 1_000_000,
    nullable: bool = False,
) -> Threshold:
    found = Threshold(name, label, default, kind, low, high, nullable)
    THRESHOLDS[name] = found
    DEFAULTS[name] = default
    return found


# Declared here rather than in the rule modules, so DEFAULTS is whole before any rule loads.
threshold(
    "stale_credential_days", "Days without use before a credential is stale", 90, low=1, high=3650
)
threshold(
    "door_alarm_repeats",
    "Forced or held-open alarms at one door that make a pattern",
    3,
    low=1,
    high=10_000,
)
threshold(
    "quarantine_min_hours",
    "Fewest hours an item should stay in quarantine",
    4.0,
    kind=float,
    low=0,
    high=24 * 90,
)
threshold(
    "unscreened_share_max",
    "Largest share of handed-over items allowed unscreened",
    0.01,
    kind=float,
    low=0,
    high=1,
)
threshold(
    "dprime_bar",
    "Lowest acceptable screener d′ (empty: the screening course's bar)",
    None,
    kind=float,
    low=0,
    high=10,
    nullable=True,
)
threshold(
    "dprime_fallback",
    "Screener d′ bar when no screening course sets one",
    1.0,
    kind=float,
    low=0,
    high=10,
)
threshold(
    "dprime_min_trials",
    "TIP trials a screener needs before their d′ is judged",
    20,
    low=1,
    high=100_000,
)
threshold(
    "drill_months", "Months within which the site should have held a drill", 6, low=1, high=120
)
threshold(
    "checkpoint_max_age_hours",
    "Hours the newest ledger checkpoint may lag behind new entries",
    24.0,
    kind=float,
    low=1,
    high=24 * 365,
)


def load() -> dict[str, Rule]:
    """Every rule, each module of ``MODULES`` imported (a module registers its rules)."""
    for module in MODULES:
        import_module(f"{__name__}.{module}")
    return RULES


def rule(
    slug: str, title: str, uses: tuple[str, ...] = ()
) -> Callable[[Callable[[Context], Iterable[Proposed]]], Rule]:
    def register(check: Callable[[Context], Iterable[Proposed]]) -> Rule:
        unknown = [name for name in uses if name not in THRESHOLDS]
        if unknown:
            raise ValueError(f"rule {slug} uses unknown thresholds {unknown}")
        found = Rule(slug, title, check, tuple(uses))
        RULES[slug] = found
        return found

    return register
