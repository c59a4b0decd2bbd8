"""Automatic vulnerability findings (docs/risk.md#automatic-findings): small rules that read the
live configuration and history through the other apps' queries and propose findings.

Adding a rule is one function with ``@rule(...)`` in a module listed in ``MODULES``. A rule that
raises is reported as failed and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
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


@dataclass
class RunReport:
    proposed: dict[str, list[Proposed]] = field(default_factory=dict)  # by rule slug
    failed: dict[str, str] = field(default_factory=dict)  # rule slug -> what went wrong


# Threshold defaults; a site overrides any of them (RiskSitePolicy.thresholds).
DEFAULTS: dict[str, Any] = {}
RULES: dict[str, Rule] = {}
MODULES: tuple[str, ...] = ()


def rule(slug: str, title: str) -> Callable[[Callable[[Context], Iterable[Proposed]]], Rule]:
    def register(check: Callable[[Context], Iterable[Proposed]]) -> Rule:
        found = Rule(slug, title, check)
        RULES[slug] = found
        return found

    return register
