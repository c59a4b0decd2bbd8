"""Reading assessments and their risks for the API and the console."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from mailwarden.core.errors import NotFound
from mailwarden.risk.models import Answer, Assessment, Risk


def assessments(site: str | None = None, state: str | None = None) -> QuerySet[Assessment]:
    """Assessments newest first, of one site and in one state when given."""
    found = Assessment.objects.select_related("site")
    if site:
        found = found.filter(site__code=site)
    if state:
        found = found.filter(state=state)
    return found


def assessment(assessment_id: int) -> Assessment:
    """One assessment with its answers and risks (NotFound naming ``assessment``)."""
    found = (
        Assessment.objects.select_related("site")
        .prefetch_related(
            Prefetch("answers", queryset=Answer.objects.order_by("question")),
            Prefetch("risks", queryset=Risk.objects.order_by("-inherent_score", "key")),
        )
        .filter(pk=assessment_id)
        .first()
    )
    if found is None:
        raise NotFound(f"no assessment {assessment_id}", "assessment")
    return found


def risk(risk_id: int) -> Risk:
    found = Risk.objects.filter(pk=risk_id).first()
    if found is None:
        raise NotFound(f"no risk {risk_id}", "risk")
    return found
