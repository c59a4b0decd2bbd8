"""The register of one assessment as the console, the API and the report show it: each risk
scored inherent and residual, its treatments, and the controls those treatments rely on, flagged
when their live evidence contradicts the status the site claims for them."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth.models import AbstractBaseUser

from mailwarden.core import clock
from mailwarden.core.errors import NotFound
from mailwarden.risk.models import (
    Assessment,
    Control,
    Risk,
    RiskState,
    Treatment,
    TreatmentKind,
    TreatmentStatus,
)

# A treatment in one of these is still to be done, so it can be overdue.
OPEN_STATUSES = (TreatmentStatus.PROPOSED, TreatmentStatus.PLANNED, TreatmentStatus.IN_PROGRESS)


@dataclass(frozen=True)
class ControlRef:
    id: int
    title: str
    claimed: str
    claimed_label: str
    contradicted: bool


@dataclass(frozen=True)
class TreatmentRow:
    id: int
    risk_id: int
    risk_key: str
    risk_title: str
    kind: str
    kind_label: str
    description: str
    owner: str
    due: date
    status: str
    status_label: str
    overdue: bool
    approved_by: str
    control: ControlRef | None


@dataclass(frozen=True)
class RegisterRow:
    id: int
    key: str
    title: str
    description: str
    threat: str
    state: str
    state_label: str
    inherent: dict[str, int]
    inherent_score: float | None
    inherent_level: str
    residual: dict[str, int]
    residual_score: float | None
    residual_level: str
    treatments: tuple[TreatmentRow, ...]
    controls: tuple[ControlRef, ...]

    @property
    def flagged(self) -> bool:
        """A control this risk's treatments rely on is contradicted by its evidence."""
        return any(c.contradicted for c in self.controls)


def person(user: AbstractBaseUser | None) -> str:
    """A person's name as pages show it (never their ledger label)."""
    if user is None:
        return ""
    full = getattr(user, "get_full_name", lambda: "")()
    return str(full or user.get_username())


def assessment_named(assessment_id: int) -> Assessment:
    found = Assessment.objects.select_related("site", "previous").filter(pk=assessment_id).first()
    if found is None:
        raise NotFound(f"no assessment {assessment_id}", "assessment_id")
    return found


def site_today(assessment: Assessment, now: datetime | None = None) -> date:
    """Today at the assessment's site: a treatment is overdue the day after its due date there."""
    moment = now or clock.now()
    return moment.astimezone(zoneinfo.ZoneInfo(assessment.site.timezone)).date()


def _control(control: Control | None) -> ControlRef | None:
    if control is None:
        return None
    return ControlRef(
        id=control.pk,
        title=control.title,
        claimed=control.claimed,
        claimed_label=control.get_claimed_display(),
        contradicted=control.contradicted,
    )


def _treatment(treatment: Treatment, risk: Risk, today: date) -> TreatmentRow:
    return TreatmentRow(
        id=treatment.pk,
        risk_id=risk.pk,
        risk_key=risk.key,
        risk_title=risk.title,
        kind=treatment.kind,
        kind_label=TreatmentKind(treatment.kind).label,
        description=treatment.description,
        owner=person(treatment.owner),
        due=treatment.due,
        status=treatment.status,
        status_label=TreatmentStatus(treatment.status).label,
        overdue=treatment.status in OPEN_STATUSES and treatment.due < today,
        approved_by=person(treatment.approved_by),
        control=_control(treatment.control),
    )


def _risks(assessment: Assessment) -> list[Risk]:
    return list(
        Risk.objects.filter(assessment=assessment).prefetch_related(
            "treatments__owner", "treatments__approved_by", "treatments__control"
        )
    )


def _row(risk: Risk, today: date) -> RegisterRow:
    treatments = tuple(
        _treatment(t, risk, today) for t in sorted(risk.treatments.all(), key=_by_due)
    )
    seen: dict[int, ControlRef] = {}
    for row in treatments:
        if row.control is not None:
            seen.setdefault(row.control.id, row.control)
    return RegisterRow(
        id=risk.pk,
        key=risk.key,
        title=risk.title,
        description=risk.description,
        threat=risk.threat,
        state=risk.state,
        state_label=RiskState(risk.state).label,
        inherent=dict(risk.inherent),
        inherent_score=risk.inherent_score,
        inherent_level=risk.inherent_level,
        residual=dict(risk.residual),
        residual_score=risk.residual_score,
        residual_level=risk.residual_level,
        treatments=treatments,
        controls=tuple(seen.values()),
    )


def _by_due(treatment: Treatment) -> tuple[date, int]:
    return (treatment.due, treatment.pk)


def register(assessment: Assessment, *, now: datetime | None = None) -> list[RegisterRow]:
    """Every risk of the assessment, the highest residual first (unscored ones, then closed
    ones, last)."""
    today = site_today(assessment, now)
    rows = [_row(risk, today) for risk in _risks(assessment)]
    # Sorted here: databases disagree on where NULL scores go.
    rows.sort(key=_rank)
    return rows


def _rank(row: RegisterRow) -> tuple[bool, bool, float, bool, float, str]:
    return (
        row.state == RiskState.CLOSED,
        row.residual_score is None,
        -(row.residual_score or 0.0),
        row.inherent_score is None,
        -(row.inherent_score or 0.0),
        row.key,
    )


def treatment_plan(
    assessment: Assessment,
    *,
    now: datetime | None = None,
    rows: list[RegisterRow] | None = None,
) -> list[TreatmentRow]:
    """Every treatment of the assessment's risks, soonest due first (from ``rows`` when the
    caller has the register already)."""
    found = register(assessment, now=now) if rows is None else rows
    return sorted((t for row in found for t in row.treatments), key=lambda t: (t.due, t.id))
