"""Controls: what the site relies on, linked to the part of mailwarden that implements it, and
checked against live evidence; a claimed control the evidence contradicts is flagged."""

from __future__ import annotations

from datetime import datetime

from mailwarden.core.actor import Actor
from mailwarden.risk.models import Control


def record_control(
    actor: Actor,
    *,
    site: str,
    title: str,
    claimed: str = "implemented",
    description: str = "",
    link_kind: str = "",
    link_ref: str = "",
    measure: str = "",
    expectation: dict[str, float] | None = None,
) -> Control:
    """A new control; the link and the measure are checked (unknown kinds, references and
    measures are refused by field). The expectation defaults to the measure's."""
    raise NotImplementedError


def update_control(actor: Actor, control_id: int, **changes: object) -> Control:
    raise NotImplementedError


def evaluate(actor: Actor, control_id: int, start: datetime, end: datetime) -> Control:
    """Measure the control's evidence over the period, store it, and flag it when an
    implemented (or partly implemented) control's evidence falls short; a newly contradicted
    control sends ``risk.control.contradicted``."""
    raise NotImplementedError


def evaluate_site(actor: Actor, site: str, start: datetime, end: datetime) -> list[Control]:
    raise NotImplementedError


def evaluate_due(now: datetime) -> int:
    """Re-measure the controls not measured in the last hour (the periodic job: at most a few per
    call, so a tick stays quick); returns how many were measured."""
    raise NotImplementedError
