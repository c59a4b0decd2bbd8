"""The assessment API's request and response shapes: templates, methods, assessments, answers
and the register's risks, bounded like their columns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from mailwarden.core.api import Input, IsoDateTime
from mailwarden.directory.schemas import SiteCode
from mailwarden.risk import questionnaire
from mailwarden.risk.models import Answer, Assessment, AssessmentState, Risk, RiskState
from mailwarden.risk.queries.assessments import progress
from mailwarden.risk.questionnaire import QuestionKind
from mailwarden.risk.scoring import Method
from mailwarden.risk.services.assessments import MAX_NOTE, MAX_TEXT_ANSWER, missing

MAX_DB_INT = 2**31 - 1
RiskId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
AssessmentId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
Slug = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[-a-z0-9_]+$")]
Factors = dict[Annotated[str, Field(max_length=40)], int]
MAX_ANSWERS = 100

# ----------------------------------------------------------------------------- templates


class RiskChoiceOut(Schema):
    key: str
    label: str


class RiskQuestionOut(Schema):
    key: str
    text: str
    kind: QuestionKind
    required: bool
    help: str
    choices: list[RiskChoiceOut]
    unit: str


class RiskSectionOut(Schema):
    key: str
    title: str
    intro: str
    questions: list[RiskQuestionOut]


class RiskThreatOut(Schema):
    key: str
    title: str
    description: str


class RiskTemplateOut(Schema):
    slug: str
    title: str
    version: int
    summary: str
    sections: list[RiskSectionOut]
    threats: list[RiskThreatOut]


def template_out(shape: questionnaire.Template) -> RiskTemplateOut:
    return RiskTemplateOut(
        slug=shape.slug,
        title=shape.title,
        version=shape.version,
        summary=shape.summary,
        sections=[
            RiskSectionOut(
                key=s.key,
                title=s.title,
                intro=s.intro,
                questions=[
                    RiskQuestionOut(
                        key=q.key,
                        text=q.text,
                        kind=q.kind,
                        required=q.required,
                        help=q.help,
                        choices=[RiskChoiceOut(key=k, label=label) for k, label in q.choices],
                        unit=q.unit,
                    )
                    for q in s.questions
                ],
            )
            for s in shape.sections
        ],
        threats=[
            RiskThreatOut(key=t.key, title=t.title, description=t.description)
            for t in shape.threats
        ],
    )


# ----------------------------------------------------------------------------- methods


class RiskFactorOut(Schema):
    key: str
    label: str
    low: int
    high: int
    help: str


class RiskAxisOut(Schema):
    title: str
    size: int


class RiskMethodOut(Schema):
    slug: str
    title: str
    factors: list[RiskFactorOut]
    axes: list[RiskAxisOut] = Field(description="The heatmap's rows, then its columns.")


class RiskMethodFilters(Input):
    size: int | None = Field(None, description="The matrix's size (3 to 10), for its factors.")


def method_out(scorer: Method) -> RiskMethodOut:
    return RiskMethodOut(
        slug=scorer.slug,
        title=scorer.title,
        factors=[
            RiskFactorOut(key=f.key, label=f.label, low=f.low, high=f.high, help=f.help)
            for f in scorer.factors
        ],
        axes=[RiskAxisOut(title=title, size=size) for title, size in scorer.axes],
    )


# ----------------------------------------------------------------------------- assessments


class RiskAssessmentIn(Input):
    site: SiteCode = Field(description="The code of the site assessed.")
    title: str = Field(min_length=1, max_length=150)
    template: Slug = "mail-centre"
    method: Slug = Field("matrix", description="matrix, fema452 or carver; fixed once final.")
    method_params: dict[Annotated[str, Field(max_length=40)], int] = Field(
        default_factory=dict, description='The method\'s parameters, e.g. {"size": 5}.'
    )
    period_start: IsoDateTime | None = Field(
        None, description="Start of the period the evidence covers (default: 90 days back)."
    )
    period_end: IsoDateTime | None = Field(None, description="Its end (default: now).")


class RiskMethodIn(Input):
    method: Slug
    method_params: dict[Annotated[str, Field(max_length=40)], int] = Field(default_factory=dict)


class RiskAssessmentFilters(Input):
    site: SiteCode | None = None
    state: AssessmentState | None = None


AnswerValue = (
    bool
    | int
    | float
    | Annotated[str, Field(max_length=MAX_TEXT_ANSWER)]
    | list[Annotated[str, Field(max_length=80)]]
)


class RiskAnswerIn(Input):
    question: Slug
    value: AnswerValue = Field(
        description="true/false, a number, a choice's key, a list of choice keys, or text, "
        "as the question's kind asks."
    )
    note: str = Field("", max_length=MAX_NOTE)


class RiskAnswersIn(Input):
    answers: list[RiskAnswerIn] = Field(min_length=1, max_length=MAX_ANSWERS)


class RiskAnswerOut(Schema):
    question: str
    value: Any
    note: str
    answered_by: str
    answered_at: datetime


class RiskOut(Schema):
    id: int
    assessment: int
    key: str
    title: str
    description: str
    threat: str
    finding: int | None
    inherent: dict[str, int]
    inherent_score: float | None
    inherent_level: str
    residual: dict[str, int]
    residual_score: float | None
    residual_level: str
    state: RiskState


class RiskAssessmentOut(Schema):
    id: int
    site: str
    title: str
    template: str
    template_version: int
    method: str
    method_params: dict[str, Any]
    state: AssessmentState
    previous: int | None
    period_start: datetime
    period_end: datetime
    created_by: str
    created_at: datetime
    finalised_by: str
    finalised_at: datetime | None


class RiskSectionProgressOut(Schema):
    key: str
    title: str
    questions: int
    answered: int
    required_unanswered: int


class RiskAssessmentDetailOut(RiskAssessmentOut):
    sections: list[RiskSectionProgressOut] = Field(description="Answers so far, per section.")
    answers: list[RiskAnswerOut]
    risks: list[RiskOut]
    missing: list[str] = Field(description="What stops it being finalised; empty when nothing.")


class RiskIn(Input):
    title: str = Field(min_length=1, max_length=200)
    key: str = Field("", max_length=80, description="Made from the title when left out.")
    description: str = Field("", max_length=4000)
    threat: str = Field("", max_length=60, description="A template threat's key.")
    finding_id: int | None = Field(None, ge=1, le=MAX_DB_INT)


class RiskScoresIn(Input):
    inherent: Factors | None = Field(None, description="Factor values before controls.")
    residual: Factors | None = Field(None, description="Factor values with the controls.")


class RiskCloseIn(Input):
    reason: str = Field(min_length=1, max_length=1000)


def risk_out(risk: Risk) -> RiskOut:
    return RiskOut(
        id=risk.pk,
        assessment=risk.assessment_id,
        key=risk.key,
        title=risk.title,
        description=risk.description,
        threat=risk.threat,
        finding=risk.finding_id,
        inherent=risk.inherent,
        inherent_score=risk.inherent_score,
        inherent_level=risk.inherent_level,
        residual=risk.residual,
        residual_score=risk.residual_score,
        residual_level=risk.residual_level,
        state=RiskState(risk.state),
    )


def _answer_out(row: Answer) -> RiskAnswerOut:
    return RiskAnswerOut(
        question=row.question,
        value=row.value,
        note=row.note,
        answered_by=row.answered_by,
        answered_at=row.answered_at,
    )


def _fields(assessment: Assessment) -> dict[str, Any]:
    return {
        "id": assessment.pk,
        "site": assessment.site.code,
        "title": assessment.title,
        "template": assessment.template,
        "template_version": assessment.template_version,
        "method": assessment.method,
        "method_params": assessment.method_params,
        "state": AssessmentState(assessment.state),
        "previous": assessment.previous_id,
        "period_start": assessment.period_start,
        "period_end": assessment.period_end,
        "created_by": assessment.created_by,
        "created_at": assessment.created_at,
        "finalised_by": assessment.finalised_by,
        "finalised_at": assessment.finalised_at,
    }


def assessment_out(assessment: Assessment) -> RiskAssessmentOut:
    return RiskAssessmentOut(**_fields(assessment))


def assessment_detail_out(assessment: Assessment) -> RiskAssessmentDetailOut:
    return RiskAssessmentDetailOut(
        **_fields(assessment),
        sections=[
            RiskSectionProgressOut(
                key=p.key,
                title=p.title,
                questions=p.questions,
                answered=p.answered,
                required_unanswered=p.required_unanswered,
            )
            for p in progress(assessment)
        ],
        answers=[_answer_out(a) for a in assessment.answers.all()],
        risks=[risk_out(r) for r in assessment.risks.all()],
        missing=[] if assessment.final else missing(assessment),
    )
