"""The risk API: assessment templates and scoring methods, assessments (create, list, read,
answer, change method, finalise) and the register's risks (add, score, close). Security managers
change them; auditors read them."""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from mailwarden.core.api import ERRORS, ErrorOut, FieldErrorOut, actor_of, allow
from mailwarden.core.errors import ServiceError
from mailwarden.risk import questionnaire
from mailwarden.risk.permissions import MANAGE_RISK, VIEW_RISK
from mailwarden.risk.queries import assessments as queries
from mailwarden.risk.schemas_assessments import (
    AssessmentId,
    RiskAnswersIn,
    RiskAssessmentDetailOut,
    RiskAssessmentFilters,
    RiskAssessmentIn,
    RiskAssessmentOut,
    RiskCloseIn,
    RiskId,
    RiskIn,
    RiskMethodFilters,
    RiskMethodIn,
    RiskMethodOut,
    RiskOut,
    RiskScoresIn,
    RiskTemplateOut,
    Slug,
    assessment_detail_out,
    assessment_out,
    method_out,
    risk_out,
    template_out,
)
from mailwarden.risk.scoring import METHODS
from mailwarden.risk.scoring import method as scoring_method
from mailwarden.risk.services import assessments as services
from mailwarden.risk.services import register
from mailwarden.risk.services.assessments import IncompleteAssessment, checked_method

router = Router()
MAX_LIST = 500


@router.get(
    "/risk/templates",
    response={200: list[RiskTemplateOut], **ERRORS},
    summary="The shipped assessment templates: sections, questions and threats",
)
@allow(VIEW_RISK, "reading assessment templates")
def list_templates(request: HttpRequest) -> list[RiskTemplateOut]:
    return [template_out(t) for t in questionnaire.templates()]


@router.get(
    "/risk/templates/{template}",
    response={200: RiskTemplateOut, **ERRORS},
    summary="One assessment template",
)
@allow(VIEW_RISK, "reading an assessment template")
def get_template(request: HttpRequest, template: Path[Slug]) -> RiskTemplateOut:
    try:
        return template_out(questionnaire.template(template))
    except LookupError as exc:
        raise ServiceError(str(exc.args[0]), "template") from None


@router.get(
    "/risk/methods",
    response={200: list[RiskMethodOut], **ERRORS},
    summary="The scoring methods, their factors and heatmap axes",
)
@allow(VIEW_RISK, "reading the scoring methods")
def list_methods(request: HttpRequest, filters: Query[RiskMethodFilters]) -> list[RiskMethodOut]:
    scoring_method("matrix")  # loads every method into METHODS
    found = []
    for slug in sorted(METHODS):
        params = {"size": filters.size} if slug == "matrix" and filters.size is not None else {}
        found.append(method_out(checked_method(slug, params)))
    return found


@router.get(
    "/risk/assessments",
    response={200: list[RiskAssessmentOut], **ERRORS},
    summary="Assessments, newest first",
)
@allow(VIEW_RISK, "listing risk assessments")
def list_assessments(
    request: HttpRequest, filters: Query[RiskAssessmentFilters]
) -> list[RiskAssessmentOut]:
    state = filters.state.value if filters.state else None
    return [assessment_out(a) for a in queries.assessments(filters.site, state)[:MAX_LIST]]


@router.post(
    "/risk/assessments",
    response={201: RiskAssessmentDetailOut, **ERRORS},
    summary="Start an assessment of a site (a re-assessment when the site has a final one)",
)
@allow(MANAGE_RISK, "starting a risk assessment")
def create_assessment(
    request: HttpRequest, payload: RiskAssessmentIn
) -> Status[RiskAssessmentDetailOut]:
    created = services.create_assessment(
        actor_of(request),
        site=payload.site,
        title=payload.title,
        template=payload.template,
        method=payload.method,
        method_params=dict(payload.method_params),
        period_start=payload.period_start,
        period_end=payload.period_end,
    )
    return Status(201, assessment_detail_out(queries.assessment(created.pk)))


@router.get(
    "/risk/assessments/{assessment_id}",
    response={200: RiskAssessmentDetailOut, **ERRORS},
    summary="An assessment with its answers, its risks and what it still misses",
)
@allow(VIEW_RISK, "viewing a risk assessment")
def get_assessment(
    request: HttpRequest, assessment_id: Path[AssessmentId]
) -> RiskAssessmentDetailOut:
    return assessment_detail_out(queries.assessment(assessment_id))


@router.put(
    "/risk/assessments/{assessment_id}/answers",
    response={200: RiskAssessmentDetailOut, **ERRORS},
    summary="Record answers: all of them, or none when one is refused",
)
@allow(MANAGE_RISK, "answering an assessment")
def put_answers(
    request: HttpRequest, assessment_id: Path[AssessmentId], payload: RiskAnswersIn
) -> RiskAssessmentDetailOut:
    actor = actor_of(request)
    with transaction.atomic():
        for index, given in enumerate(payload.answers):
            try:
                services.answer(actor, assessment_id, given.question, given.value, given.note)
            except ServiceError as exc:
                # Which answer of the list, so the client can point at it.
                if exc.field in ("value", "question", "note"):
                    exc.field = f"answers.{index}.{exc.field}"
                raise
    return assessment_detail_out(queries.assessment(assessment_id))


@router.put(
    "/risk/assessments/{assessment_id}/method",
    response={200: RiskAssessmentDetailOut, **ERRORS},
    summary="Change a draft's scoring method (clears every score; refused once final)",
)
@allow(MANAGE_RISK, "changing an assessment's scoring method")
def put_method(
    request: HttpRequest, assessment_id: Path[AssessmentId], payload: RiskMethodIn
) -> RiskAssessmentDetailOut:
    services.set_method(
        actor_of(request), assessment_id, payload.method, dict(payload.method_params)
    )
    return assessment_detail_out(queries.assessment(assessment_id))


@router.post(
    "/risk/assessments/{assessment_id}/finalise",
    response={200: RiskAssessmentDetailOut, **ERRORS},
    summary="Finalise a complete assessment (400 listing everything missing otherwise)",
)
@allow(MANAGE_RISK, "finalising an assessment")
def finalise(
    request: HttpRequest, assessment_id: Path[AssessmentId]
) -> RiskAssessmentDetailOut | Status[ErrorOut]:
    try:
        services.finalise(actor_of(request), assessment_id)
    except IncompleteAssessment as exc:
        return Status(
            400,
            ErrorOut(
                message=exc.message,
                field=exc.field,
                errors=[FieldErrorOut(field="assessment", message=line) for line in exc.missing],
            ),
        )
    return assessment_detail_out(queries.assessment(assessment_id))


@router.post(
    "/risk/assessments/{assessment_id}/risks",
    response={201: RiskOut, **ERRORS},
    summary="Add a risk to a draft's register",
)
@allow(MANAGE_RISK, "adding a risk")
def add_risk(
    request: HttpRequest, assessment_id: Path[AssessmentId], payload: RiskIn
) -> Status[RiskOut]:
    risk = register.add_risk(
        actor_of(request),
        assessment_id,
        title=payload.title,
        key=payload.key,
        description=payload.description,
        threat=payload.threat,
        finding_id=payload.finding_id,
    )
    return Status(201, risk_out(queries.risk(risk.pk)))


@router.get(
    "/risk/risks/{risk_id}",
    response={200: RiskOut, **ERRORS},
    summary="One risk of a register with its factors, scores and levels",
)
@allow(VIEW_RISK, "viewing a risk")
def get_risk(request: HttpRequest, risk_id: Path[RiskId]) -> RiskOut:
    return risk_out(queries.risk(risk_id))


@router.put(
    "/risk/risks/{risk_id}/scores",
    response={200: RiskOut, **ERRORS},
    summary="Set a risk's inherent and/or residual factor values; scores follow",
)
@allow(MANAGE_RISK, "scoring a risk")
def score_risk(request: HttpRequest, risk_id: Path[RiskId], payload: RiskScoresIn) -> RiskOut:
    register.score_risk(
        actor_of(request),
        risk_id,
        inherent=dict(payload.inherent) if payload.inherent is not None else None,
        residual=dict(payload.residual) if payload.residual is not None else None,
    )
    return risk_out(queries.risk(risk_id))


@router.post(
    "/risk/risks/{risk_id}/close",
    response={200: RiskOut, **ERRORS},
    summary="Close a risk on a draft's register, with the reason",
)
@allow(MANAGE_RISK, "closing a risk")
def close_risk(request: HttpRequest, risk_id: Path[RiskId], payload: RiskCloseIn) -> RiskOut:
    register.close_risk(actor_of(request), risk_id, payload.reason)
    return risk_out(queries.risk(risk_id))
