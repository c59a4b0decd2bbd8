"""Treatments of risks: accept, avoid, mitigate or transfer, with owner, due date and status.
An acceptance waits for an approver who is not its proposer; an overdue treatment alerts its
owner once (periodic job)."""

from __future__ import annotations

from datetime import date, datetime

from mailwarden.core.actor import Actor
from mailwarden.risk.models import Treatment


def plan_treatment(
    actor: Actor,
    risk_id: int,
    *,
    kind: str,
    description: str,
    owner: str,
    due: date,
    control_id: int | None = None,
) -> Treatment:
    """A new treatment (owner: a username). An acceptance starts ``proposed``; the others
    ``planned``. A mitigation may name the control that implements it."""
    raise NotImplementedError


def approve_acceptance(actor: Actor, treatment_id: int) -> Treatment:
    """Approve a proposed acceptance: refused (Forbidden) when the approver proposed it."""
    raise NotImplementedError


def set_status(actor: Actor, treatment_id: int, status: str) -> Treatment:
    raise NotImplementedError


def alert_overdue(now: datetime) -> int:
    """Tell each owner of an overdue, unfinished treatment, once per due date (email through the
    outbox, and ``risk.treatment.lapsed``). Returns how many were alerted."""
    raise NotImplementedError
