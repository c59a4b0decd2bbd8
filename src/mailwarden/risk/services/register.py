"""The risk register: risks scored inherent and residual by their assessment's method."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.validation import check_text
from mailwarden.risk import questionnaire
from mailwarden.risk.models import Assessment, Finding, Risk, RiskState
from mailwarden.risk.permissions import MANAGE_RISK
from mailwarden.risk.scoring import Method, MethodError
from mailwarden.risk.scoring._common import check_value
from mailwarden.risk.services.assessments import locked_draft, method_of

SUBJECT = "risk"
KEY_LENGTH = 80


def _key(raw: str, title: str) -> str:
    if raw:
        key = raw.strip()
        if not key or len(key) > KEY_LENGTH or slugify(key) != key:
            raise ServiceError(
                f"a risk key is at most {KEY_LENGTH} lower-case letters, digits and '-'", "key"
            )
        return key
    key = slugify(title)[:KEY_LENGTH].strip("-")
    if not key:
        raise ServiceError("give the risk a key: its title has no letters or digits", "key")
    return key


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
    require(actor, MANAGE_RISK, "adding a risk")
    title = check_text(title, "title", max_length=200, required=True)
    key = _key(check_text(key, "key", max_length=KEY_LENGTH), title)
    description = check_text(description, "description", max_length=4000)
    threat = check_text(threat, "threat", max_length=60)
    now = clock.now()
    with transaction.atomic():
        assessment = locked_draft(assessment_id, "adding risks")
        threat = questionnaire.template(assessment.template).check_threat(threat)
        finding = None
        if finding_id is not None:
            finding = Finding.objects.filter(pk=finding_id, assessment=assessment).first()
            if finding is None:
                raise ServiceError(f"this assessment has no finding {finding_id}", "finding_id")
        if assessment.risks.filter(key=key).exists():
            raise Conflict(
                f"the register already has a risk with key {key!r}; give this one another key",
                "key",
            )
        risk = Risk.objects.create(
            assessment=assessment,
            key=key,
            title=title,
            description=description,
            threat=threat or (finding.threat if finding else ""),
            finding=finding,
            created_at=now,
            updated_at=now,
        )
        ledger.append(
            actor,
            "risk.risk.added",
            SUBJECT,
            str(risk.pk),
            {
                "assessment": assessment.pk,
                "key": key,
                "title": title,
                "threat": risk.threat,
                "finding": finding.pk if finding else None,
            },
            at=now,
        )
    return risk


def _checked_factors(scorer: Method, values: object, field: str) -> dict[str, int]:
    """Known factors with values on their scales; some may be left out until known."""
    if not isinstance(values, dict):
        raise ServiceError("give the factor values as an object", field)
    factors = {f.key: f for f in scorer.factors}
    checked: dict[str, int] = {}
    for key, value in values.items():
        factor = factors.get(key)
        if factor is None:
            raise ServiceError(
                f"the {scorer.title} has no factor {key!r}; its factors are {', '.join(factors)}",
                f"{field}.{key}",
            )
        try:
            checked[key] = check_value(factor, value)
        except MethodError as exc:
            raise ServiceError(exc.message, f"{field}.{exc.field}") from None
    return checked


def _scored(scorer: Method, values: dict[str, int]) -> tuple[float | None, str]:
    if len(values) < len(scorer.factors):
        return None, ""
    score = scorer.score(values)
    return score, scorer.level(score)


def _locked_risk(risk_id: int, what: str) -> tuple[Assessment, Risk]:
    """The risk and its draft assessment, both locked."""
    assessment_id = Risk.objects.filter(pk=risk_id).values_list("assessment_id", flat=True).first()
    if assessment_id is None:
        raise NotFound(f"no risk {risk_id}", "risk")
    # The assessment first, as every change of an assessment locks it: a method change (which
    # rewrites every risk) and a score can then never wait on each other in a cycle.
    assessment = locked_draft(assessment_id, what)
    risk = Risk.objects.select_for_update().get(pk=risk_id)
    return assessment, risk


def score_risk(
    actor: Actor,
    risk_id: int,
    *,
    inherent: dict[str, int] | None = None,
    residual: dict[str, int] | None = None,
) -> Risk:
    """Set factor values (MethodError fields become ``inherent.<factor>``); the scores and levels
    are recomputed by the assessment's method. Refused on a finalised assessment.

    Each given set replaces the risk's values for that side; a side left out (None) keeps its
    values. A side is scored once every factor has a value."""
    require(actor, MANAGE_RISK, "scoring a risk")
    if inherent is None and residual is None:
        raise ServiceError("give inherent or residual factor values", "inherent")
    now = clock.now()
    with transaction.atomic():
        assessment, risk = _locked_risk(risk_id, "scoring its risks")
        if risk.state == RiskState.CLOSED:
            raise Conflict(f"risk {risk.title!r} is closed; it is no longer scored", "risk")
        scorer = method_of(assessment)
        if inherent is not None:
            risk.inherent = _checked_factors(scorer, inherent, "inherent")
            risk.inherent_score, risk.inherent_level = _scored(scorer, risk.inherent)
        if residual is not None:
            risk.residual = _checked_factors(scorer, residual, "residual")
            risk.residual_score, risk.residual_level = _scored(scorer, risk.residual)
        risk.updated_at = now
        risk.save()
        ledger.append(
            actor,
            "risk.risk.scored",
            SUBJECT,
            str(risk.pk),
            {
                "assessment": assessment.pk,
                "method": scorer.slug,
                "inherent": risk.inherent,
                "inherent_score": risk.inherent_score,
                "inherent_level": risk.inherent_level,
                "residual": risk.residual,
                "residual_score": risk.residual_score,
                "residual_level": risk.residual_level,
            },
            at=now,
        )
    return risk


def close_risk(actor: Actor, risk_id: int, reason: str) -> Risk:
    """Take a risk off a draft's register (it no longer applies); the reason is in the ledger.
    A closed risk needs no score and counts as closed in the next re-assessment's comparison."""
    require(actor, MANAGE_RISK, "closing a risk")
    reason = check_text(reason, "reason", max_length=1000, required=True)
    now = clock.now()
    with transaction.atomic():
        _, risk = _locked_risk(risk_id, "closing its risks")
        if risk.state == RiskState.CLOSED:
            raise Conflict(f"risk {risk.title!r} is closed already", "risk")
        risk.state = RiskState.CLOSED
        risk.updated_at = now
        risk.save(update_fields=["state", "updated_at"])
        ledger.append(
            actor,
            "risk.risk.closed",
            SUBJECT,
            str(risk.pk),
            {"assessment": risk.assessment_id, "key": risk.key, "reason": reason},
            at=now,
        )
    return risk
