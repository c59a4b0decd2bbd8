"""The risk register: risks scored inherent and residual by their assessment's method."""

from __future__ import annotations

from mailwarden.core.actor import Actor
from mailwarden.risk.models import Risk


def add_risk(
    actor: Actor,
    assessment_id: int,
    *,
    title: str,
    key: str = "",
    description: str = "",
    threat: str = "",
    finding_id: int | None = None,
) -> Risk:
    """A new risk on a draft assessment (the key is made from the title when not given)."""
    raise NotImplementedError


def score_risk(
    actor: Actor,
    risk_id: int,
    *,
    inherent: dict[str, int] | None = None,
    residual: dict[str, int] | None = None,
) -> Risk:
    """Set factor values (MethodError fields become ``inherent.<factor>``); the scores and levels
    are recomputed by the assessment's method. Refused on a finalised assessment."""
    raise NotImplementedError


def close_risk(actor: Actor, risk_id: int, reason: str) -> Risk:
    raise NotImplementedError
