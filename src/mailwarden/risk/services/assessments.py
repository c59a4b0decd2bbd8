"""Assessments: created per site from a template with a fixed scoring method, answered question by
question, finalised once complete, and re-assessed later (docs/risk.md)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from mailwarden.contracts import events
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.validation import check_text
from mailwarden.directory.queries import site_by_code
from mailwarden.risk import questionnaire
from mailwarden.risk.models import (
    Answer,
    Assessment,
    AssessmentState,
    Risk,
    RiskState,
    TreatmentStatus,
)
from mailwarden.risk.permissions import MANAGE_RISK
from mailwarden.risk.questionnaire import Question
from mailwarden.risk.scoring import Level, Method, MethodError
from mailwarden.risk.scoring import method as scoring_method

SUBJECT = "risk_assessment"
DEFAULT_PERIOD = timedelta(days=90)
MAX_TEXT_ANSWER = 4000
MAX_NOTE = 2000
# Largest number an answer may hold: well past any mailroom's daily volume.
MAX_NUMBER = 10**9
# The choice that says "none of these" in a multiple-choice question.
NONE_CHOICE = "none"


def checked_method(slug: str, params: dict[str, Any] | None) -> Method:
    """The scoring method, or a ServiceError naming ``method`` or ``method_params.<name>``."""
    if params is not None and not isinstance(params, dict):
        raise ServiceError("the method's parameters must be an object", "method_params")
    try:
        return scoring_method(slug, params or {})
    except MethodError as exc:
        field = "method" if exc.field == "method" else f"method_params.{exc.field}"
        raise ServiceError(exc.message, field) from None


def locked_draft(assessment_id: int, what: str) -> Assessment:
    """The assessment, locked for the change, refused (Conflict) once it is finalised."""
    found = (
        Assessment.objects.select_for_update().select_related("site").filter(pk=assessment_id)
    ).first()
    if found is None:
        raise NotFound(f"no assessment {assessment_id}", "assessment")
    if found.final:
        raise Conflict(
            f"assessment {assessment_id} is finalised: {what} is no longer possible; "
            "start a re-assessment instead",
            "assessment",
        )
    return found


def method_of(assessment: Assessment) -> Method:
    return scoring_method(assessment.method, assessment.method_params)


def _period(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    end = end or clock.now()
    if start is None:
        try:
            start = end - DEFAULT_PERIOD
        except OverflowError:
            raise ServiceError(
                "the 90 days before this end fall before year 1", "period_end"
            ) from None
    if start >= end:
        raise ServiceError("the period must start before it ends", "period_start")
    return start, end


def _carried_factors(factors: dict[str, int], to: Method) -> tuple[dict[str, int], float | None]:
    """Factor values kept for a re-assessment by ``to``, and their score when complete."""
    keys = {f.key for f in to.factors}
    kept = {k: v for k, v in factors.items() if k in keys}
    try:
        return kept, to.score(kept)
    except MethodError:
        # Another method, or a different matrix size: the assessor scores it afresh.
        return {}, None


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
    require(actor, MANAGE_RISK, "starting a risk assessment")
    at = site_by_code(site)
    title = check_text(title, "title", max_length=150, required=True)
    try:
        shape = questionnaire.template(template)
    except LookupError as exc:
        raise ServiceError(str(exc.args[0]), "template") from None
    scorer = checked_method(method, method_params)
    start, end = _period(period_start, period_end)
    now = clock.now()
    with transaction.atomic():
        previous = (
            Assessment.objects.filter(site=at, state=AssessmentState.FINAL)
            .order_by("-finalised_at", "-id")
            .first()
        )
        assessment = Assessment.objects.create(
            site=at,
            title=title,
            template=shape.slug,
            template_version=shape.version,
            method=scorer.slug,
            method_params=dict(method_params or {}),
            previous=previous,
            period_start=start,
            period_end=end,
            created_by=actor.label,
            created_at=now,
        )
        risks = _starting_risks(assessment, shape, previous, scorer, now)
        Risk.objects.bulk_create(risks)
        ledger.append(
            actor,
            "risk.assessment.created",
            SUBJECT,
            str(assessment.pk),
            {
                "site": at.code,
                "title": title,
                "template": shape.slug,
                "method": scorer.slug,
                "method_params": assessment.method_params,
                "previous": previous.pk if previous else None,
                "risks": [r.key for r in risks],
            },
            at=now,
        )
    return assessment


def _starting_risks(
    assessment: Assessment,
    shape: questionnaire.Template,
    previous: Assessment | None,
    scorer: Method,
    now: datetime,
) -> list[Risk]:
    if previous is None:
        return [
            Risk(
                assessment=assessment,
                key=t.key,
                title=t.title,
                description=t.description,
                threat=t.key,
                created_at=now,
                updated_at=now,
            )
            for t in shape.threats
        ]
    carried = []
    for old in previous.risks.exclude(state=RiskState.CLOSED).order_by("key"):
        inherent, inherent_score = _carried_factors(old.inherent, scorer)
        residual, residual_score = _carried_factors(old.residual, scorer)
        carried.append(
            Risk(
                assessment=assessment,
                key=old.key,
                title=old.title,
                description=old.description,
                threat=old.threat,
                inherent=inherent,
                inherent_score=inherent_score,
                inherent_level=scorer.level(inherent_score) if inherent_score is not None else "",
                residual=residual,
                residual_score=residual_score,
                residual_level=scorer.level(residual_score) if residual_score is not None else "",
                created_at=now,
                updated_at=now,
            )
        )
    return carried


def _checked_value(question: Question, value: Any) -> Any:
    """``value`` as the question's kind wants it, or a ServiceError naming ``value``."""
    kind = question.kind
    keys = [key for key, _ in question.choices]
    if kind == "yesno":
        if not isinstance(value, bool):
            raise ServiceError("answer yes or no (true or false)", "value")
        return value
    if kind == "number":
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ServiceError("answer with a number", "value")
        top = question.maximum if question.maximum is not None else MAX_NUMBER
        if not 0 <= value <= top:
            raise ServiceError(f"answer with a number from 0 to {top:g}", "value")
        return value
    if kind == "choice":
        if value not in keys:
            raise ServiceError(f"choose one of {', '.join(keys)}", "value")
        return value
    if kind == "multi":
        if not isinstance(value, list) or not value:
            raise ServiceError(f"choose at least one of {', '.join(keys)}", "value")
        unknown = [v for v in value if v not in keys]
        if unknown:
            raise ServiceError(
                f"unknown choice {unknown[0]!r}; choose from {', '.join(keys)}", "value"
            )
        chosen = [key for key in keys if key in value]  # in the template's order, each once
        if NONE_CHOICE in chosen and len(chosen) > 1:
            raise ServiceError(f"{NONE_CHOICE!r} cannot be chosen with anything else", "value")
        return chosen
    if not isinstance(value, str):
        raise ServiceError("answer with text", "value")
    return check_text(value, "value", max_length=MAX_TEXT_ANSWER, required=True)


def answer(actor: Actor, assessment_id: int, question: str, value: Any, note: str = "") -> Answer:
    """Record (or change) one answer; refused on a finalised assessment, for an unknown question,
    or for a value of the wrong kind (the error names ``value``)."""
    require(actor, MANAGE_RISK, "answering an assessment")
    note = check_text(note, "note", max_length=MAX_NOTE)
    now = clock.now()
    with transaction.atomic():
        assessment = locked_draft(assessment_id, "answering it")
        shape = questionnaire.template(assessment.template)
        asked = shape.question(question)
        if asked is None:
            raise ServiceError(
                f"the {shape.title!r} template has no question {question!r}", "question"
            )
        value = _checked_value(asked, value)
        row, created = Answer.objects.update_or_create(
            assessment=assessment,
            question=asked.key,
            defaults={"value": value, "note": note, "answered_by": actor.label, "answered_at": now},
        )
        ledger.append(
            actor,
            "risk.assessment.answered",
            SUBJECT,
            str(assessment.pk),
            {"question": asked.key, "value": value, "note": note, "changed": not created},
            at=now,
        )
    return row


def set_method(
    actor: Actor, assessment_id: int, method: str, method_params: dict[str, Any] | None = None
) -> Assessment:
    """Change a draft's scoring method; every risk's factor values and scores are cleared.
    Refused (Conflict, field ``method``) once the assessment is finalised."""
    require(actor, MANAGE_RISK, "changing an assessment's scoring method")
    scorer = checked_method(method, method_params)
    now = clock.now()
    with transaction.atomic():
        assessment = Assessment.objects.select_for_update().filter(pk=assessment_id).first()
        if assessment is None:
            raise NotFound(f"no assessment {assessment_id}", "assessment")
        if assessment.final:
            raise Conflict(
                "the assessment is finalised: its scoring method can no longer change; "
                "start a re-assessment to score it another way",
                "method",
            )
        before = {"method": assessment.method, "method_params": assessment.method_params}
        assessment.method = scorer.slug
        assessment.method_params = dict(method_params or {})
        assessment.save(update_fields=["method", "method_params"])
        cleared = assessment.risks.update(
            inherent={},
            residual={},
            inherent_score=None,
            inherent_level="",
            residual_score=None,
            residual_level="",
            updated_at=now,
        )
        ledger.append(
            actor,
            "risk.assessment.method_changed",
            SUBJECT,
            str(assessment.pk),
            {
                "before": before,
                "method": scorer.slug,
                "method_params": assessment.method_params,
                "risks_cleared": cleared,
            },
            at=now,
        )
    return assessment


def missing(assessment: Assessment) -> list[str]:
    """What stops ``assessment`` being finalised, one sentence each: unanswered required
    questions (by their text), risks without inherent scores, risks with a treatment but no
    residual score."""
    shape = questionnaire.template(assessment.template)
    answered = set(assessment.answers.values_list("question", flat=True))
    lines = [
        f"Unanswered ({section.title}): {q.text}"
        for section in shape.sections
        for q in section.questions
        if q.required and q.key not in answered
    ]
    risks = list(assessment.risks.exclude(state=RiskState.CLOSED).order_by("key"))
    if not risks:
        lines.append("The register has no open risk: add or keep at least one.")
    treated = set(
        Risk.objects.filter(assessment=assessment)
        .filter(treatments__isnull=False)
        .exclude(treatments__status=TreatmentStatus.CANCELLED)
        .values_list("pk", flat=True)
    )
    for risk in risks:
        if risk.inherent_score is None:
            lines.append(f"Risk {risk.title!r} has no inherent score.")
        if risk.pk in treated and risk.residual_score is None:
            lines.append(f"Risk {risk.title!r} has a treatment but no residual score.")
    return lines


def _level_after_controls(risk: Risk) -> str:
    # A risk without a residual score has no treatment yet: its residual risk is its inherent.
    return risk.residual_level or risk.inherent_level


def finalise(actor: Actor, assessment_id: int) -> Assessment:
    """Finalise: refused (ServiceError, field ``assessment``) with every line of ``missing``."""
    require(actor, MANAGE_RISK, "finalising an assessment")
    now = clock.now()
    with transaction.atomic():
        assessment = locked_draft(assessment_id, "finalising it again")
        gaps = missing(assessment)
        if gaps:
            raise IncompleteAssessment(gaps)
        risks = list(assessment.risks.exclude(state=RiskState.CLOSED))
        severe = sum(1 for r in risks if _level_after_controls(r) in (Level.HIGH, Level.CRITICAL))
        assessment.state = AssessmentState.FINAL
        assessment.finalised_by = actor.label
        assessment.finalised_at = now
        assessment.save(update_fields=["state", "finalised_by", "finalised_at"])
        ledger.append(
            actor,
            "risk.assessment.finalised",
            SUBJECT,
            str(assessment.pk),
            {
                "site": assessment.site.code,
                "method": assessment.method,
                "method_params": assessment.method_params,
                "risks": {
                    r.key: {
                        "inherent": r.inherent_score,
                        "inherent_level": r.inherent_level,
                        "residual": r.residual_score,
                        "residual_level": r.residual_level,
                    }
                    for r in risks
                },
            },
            at=now,
        )
        outbox.emit(
            events.RiskAssessmentFinalised(
                assessment=assessment.pk,
                site=assessment.site.code,
                method=assessment.method,
                risks=len(risks),
                high_or_critical=severe,
            )
        )
    return assessment


class IncompleteAssessment(ServiceError):
    """Finalising refused: ``missing`` holds every line of what is missing."""

    def __init__(self, missing: list[str]) -> None:
        count = len(missing)
        super().__init__(
            f"the assessment cannot be finalised: {count} thing{'s' if count != 1 else ''} "
            f"missing: " + "; ".join(missing),
            "assessment",
        )
        self.missing = missing
