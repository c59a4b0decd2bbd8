"""Test helpers for assessments: valid answers to every question, scores for every risk."""

from __future__ import annotations

from typing import Any

from mailwarden.core.actor import Actor
from mailwarden.risk import questionnaire
from mailwarden.risk.models import Assessment
from mailwarden.risk.questionnaire import Question
from mailwarden.risk.services import assessments, register


def a_valid_value(question: Question) -> Any:
    if question.kind == "yesno":
        return True
    if question.kind == "number":
        return 3
    if question.kind == "choice":
        return question.choices[0][0]
    if question.kind == "multi":
        return [question.choices[0][0]]
    return "Noted during the walk-through."


def answer_all(actor: Actor, assessment: Assessment, *, required_only: bool = True) -> None:
    shape = questionnaire.template(assessment.template)
    for section in shape.sections:
        for q in section.questions:
            if q.required or not required_only:
                assessments.answer(actor, assessment.pk, q.key, a_valid_value(q))


def score_all(actor: Actor, assessment: Assessment, value: int = 2) -> None:
    scorer = assessments.method_of(assessment)
    for risk in assessment.risks.all():
        register.score_risk(
            actor, risk.pk, inherent={f.key: min(value, f.high) for f in scorer.factors}
        )


def complete(actor: Actor, assessment: Assessment) -> Assessment:
    answer_all(actor, assessment)
    score_all(actor, assessment)
    return assessments.finalise(actor, assessment.pk)
