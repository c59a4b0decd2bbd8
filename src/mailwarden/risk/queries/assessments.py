"""Reading assessments and their risks for the API and the console."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from mailwarden.core.errors import NotFound
from mailwarden.risk import questionnaire
from mailwarden.risk.models import Answer, Assessment, Risk


@dataclass(frozen=True)
class SectionProgress:
    key: str
    title: str
    questions: int
    answered: int
    required_unanswered: int

    @property
    def complete(self) -> bool:
        return self.required_unanswered == 0


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


def progress(assessment: Assessment) -> list[SectionProgress]:
    """How far each section of the questionnaire is answered, in the template's order."""
    shape = questionnaire.template(assessment.template)
    answered = {a.question for a in assessment.answers.all()}
    return [
        SectionProgress(
            key=section.key,
            title=section.title,
            questions=len(section.questions),
            answered=sum(1 for q in section.questions if q.key in answered),
            required_unanswered=sum(
                1 for q in section.questions if q.required and q.key not in answered
            ),
        )
        for section in shape.sections
    ]
