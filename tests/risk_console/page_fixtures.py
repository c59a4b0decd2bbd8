"""Test data for the risk console pages, made through the ORM.

The pages only read these tables; the tests that post forms go through the services.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import User

from mailwarden.core import clock
from mailwarden.directory.models import Site
from mailwarden.risk import questionnaire
from mailwarden.risk.models import (
    Answer,
    Assessment,
    AssessmentState,
    Control,
    Finding,
    FindingSource,
    Risk,
    Treatment,
    TreatmentKind,
    TreatmentStatus,
)
from mailwarden.risk.questionnaire import Question, Template


def template_of(assessment: Assessment) -> Template:
    return questionnaire.template(assessment.template)


def value_for(question: Question) -> Any:
    """A valid answer of the question's kind, as the form posts it."""
    if question.kind == "yesno":
        return "yes"
    if question.kind == "choice":
        return question.choices[0][0]
    if question.kind == "multi":
        return [question.choices[0][0]]
    if question.kind == "number":
        return "12"
    return "Checked on the walk-round."


def stored_value(question: Question) -> Any:
    """The same answer as the service stores it."""
    posted = value_for(question)
    if question.kind == "yesno":
        return True
    if question.kind == "number":
        return 12
    return posted


def make_assessment(
    site: Site,
    *,
    title: str = "Spring assessment",
    state: str = AssessmentState.DRAFT,
    method: str = "matrix",
    created_by: str = "user:mona",
    days_ago: int = 0,
) -> Assessment:
    now = clock.now() - timedelta(days=days_ago)
    final = state == AssessmentState.FINAL
    return Assessment.objects.create(
        site=site,
        title=title,
        template="mail-centre",
        method=method,
        method_params={"size": 5} if method == "matrix" else {},
        state=state,
        period_start=now - timedelta(days=90),
        period_end=now,
        created_by=created_by,
        created_at=now,
        finalised_by=created_by if final else "",
        finalised_at=now if final else None,
    )


def answer_all(assessment: Assessment, sections: int | None = None) -> None:
    """Answers to every question of the first ``sections`` sections (all by default)."""
    template = template_of(assessment)
    for section in template.sections[:sections]:
        for question in section.questions:
            Answer.objects.update_or_create(
                assessment=assessment,
                question=question.key,
                defaults={
                    "value": stored_value(question),
                    "answered_by": "user:mona",
                    "answered_at": clock.now(),
                },
            )


def make_risk(assessment: Assessment, key: str, *, inherent: str = "", residual: str = "") -> Risk:
    now = clock.now()
    return Risk.objects.create(
        assessment=assessment,
        key=key,
        title=key.replace("-", " ").capitalize(),
        inherent_level=inherent,
        inherent_score=1.0 if inherent else None,
        residual_level=residual,
        residual_score=1.0 if residual else None,
        created_at=now,
        updated_at=now,
    )


def make_finding(
    assessment: Assessment,
    *,
    title: str = "Quarantine door propped open",
    source: str = FindingSource.MANUAL,
    rule: str = "",
    subject: str = "",
    evidence: dict[str, Any] | None = None,
    suggested: str = "",
    notes: str = "",
) -> Finding:
    now = clock.now()
    return Finding.objects.create(
        assessment=assessment,
        source=source,
        rule=rule,
        subject=subject,
        title=title,
        notes=notes,
        evidence=evidence or {},
        suggested_treatment=suggested,
        created_by="user:mona" if source == FindingSource.MANUAL else "job:risk-rules",
        created_at=now,
        updated_at=now,
    )


def make_control(site: Site, title: str, *, contradicted: bool) -> Control:
    now = clock.now()
    return Control.objects.create(
        site=site,
        title=title,
        contradicted=contradicted,
        last_evaluated_at=now,
        created_by="user:mona",
        created_at=now,
        updated_at=now,
    )


def make_treatment(risk: Risk, owner: User, *, due: date, status: str) -> Treatment:
    now = clock.now()
    return Treatment.objects.create(
        risk=risk,
        kind=TreatmentKind.MITIGATE,
        description="Fit a door closer to the quarantine room",
        owner=owner,
        due=due,
        status=status or TreatmentStatus.PLANNED,
        proposed_by=owner,
        created_at=now,
        updated_at=now,
    )
