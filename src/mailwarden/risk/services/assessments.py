"""Assessments: created per site from a template with a fixed scoring method, answered question by
question, finalised once complete, and re-assessed later (docs/risk.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailwarden.core.actor import Actor
from mailwarden.risk.models import Answer, Assessment


def create_assessment(
    actor: Actor,
    *,
    site: str,
    title: str,
    template: str = "mail-centre",
    method: str = "matrix",
    method_params: dict[str, Any] | None = None,
    period_start: datetime | None = None,
    period_end: datetime | None = None,
) -> Assessment:
    """A new draft assessment of ``site`` (a site code). Its register starts with one risk per
    template threat, unscored. When the site has a finalised assessment, the new one is its
    re-assessment (``previous``) and starts with the previous risks' keys, titles and factors.
    The period defaults to the last 90 days to now."""
    raise NotImplementedError


def answer(actor: Actor, assessment_id: int, question: str, value: Any, note: str = "") -> Answer:
    """Record (or change) one answer; refused on a finalised assessment, for an unknown question,
    or for a value of the wrong kind (the error names ``value``)."""
    raise NotImplementedError


def set_method(
    actor: Actor, assessment_id: int, method: str, method_params: dict[str, Any] | None = None
) -> Assessment:
    """Change a draft's scoring method; every risk's factor values and scores are cleared.
    Refused (Conflict, field ``method``) once the assessment is finalised."""
    raise NotImplementedError


def missing(assessment: Assessment) -> list[str]:
    """What stops ``assessment`` being finalised, one sentence each: unanswered required
    questions (by their text), risks without inherent scores, risks with a treatment but no
    residual score."""
    raise NotImplementedError


def finalise(actor: Actor, assessment_id: int) -> Assessment:
    """Finalise: refused (ServiceError, field ``assessment``) with every line of ``missing``."""
    raise NotImplementedError
