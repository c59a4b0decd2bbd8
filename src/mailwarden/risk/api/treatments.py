"""The risk API: treatments. Security managers plan and move them on; an acceptance is approved
by a security manager who did not propose it; auditors read."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from mailwarden.core import clock
from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.risk.permissions import APPROVE_ACCEPTANCE, MANAGE_RISK, VIEW_RISK
from mailwarden.risk.queries import treatments as queries
from mailwarden.risk.schemas_treatments import (
    DbId,
    RiskTreatmentFilters,
    RiskTreatmentIn,
    RiskTreatmentOut,
    RiskTreatmentRescheduleIn,
    RiskTreatmentStatusIn,
    treatment_out,
)
from mailwarden.risk.services import treatments as services

router = Router()


def _out(treatment_id: int) -> RiskTreatmentOut:
    return treatment_out(queries.treatment(treatment_id), clock.now())


@router.get(
    "/risk/treatments",
    response={200: list[RiskTreatmentOut], **ERRORS},
    summary="The treatment plan across sites, by due date (filter the overdue ones; page on)",
)
@allow(VIEW_RISK, "viewing risk treatments")
def list_treatments(
    request: HttpRequest, filters: Query[RiskTreatmentFilters]
) -> list[RiskTreatmentOut]:
    now = clock.now()
    rows = queries.treatments(
        now,
        site=filters.site,
        status=filters.status.value if filters.status else None,
        owner=filters.owner,
        overdue=filters.overdue,
        assessment_id=filters.assessment,
    )
    return [treatment_out(t, now) for t in rows[filters.offset : filters.offset + filters.limit]]


@router.get(
    "/risk/risks/{risk_id}/treatments",
    response={200: list[RiskTreatmentOut], **ERRORS},
    summary="A risk's treatments",
)
@allow(VIEW_RISK, "viewing risk treatments")
def risk_treatments(request: HttpRequest, risk_id: Path[DbId]) -> list[RiskTreatmentOut]:
    now = clock.now()
    return [treatment_out(t, now) for t in queries.of_risk(risk_id)]


@router.post(
    "/risk/risks/{risk_id}/treatments",
    response={201: RiskTreatmentOut, **ERRORS},
    summary="Plan a treatment: accept (waits for approval), avoid, mitigate or transfer",
)
@allow(MANAGE_RISK, "planning a risk treatment")
def plan_treatment(
    request: HttpRequest, risk_id: Path[DbId], payload: RiskTreatmentIn
) -> Status[RiskTreatmentOut]:
    treatment = services.plan_treatment(
        actor_of(request),
        risk_id,
        kind=payload.kind.value,
        description=payload.description,
        owner=payload.owner,
        due=payload.due,
        control_id=payload.control,
    )
    return Status(201, _out(treatment.pk))


@router.get(
    "/risk/treatments/{treatment_id}",
    response={200: RiskTreatmentOut, **ERRORS},
    summary="A treatment",
)
@allow(VIEW_RISK, "viewing a risk treatment")
def get_treatment(request: HttpRequest, treatment_id: Path[DbId]) -> RiskTreatmentOut:
    return _out(treatment_id)


@router.post(
    "/risk/treatments/{treatment_id}/approve",
    response={200: RiskTreatmentOut, **ERRORS},
    summary="Approve a proposed acceptance (not by the person who proposed it)",
)
@allow(APPROVE_ACCEPTANCE, "approving a risk acceptance")
def approve_acceptance(request: HttpRequest, treatment_id: Path[DbId]) -> RiskTreatmentOut:
    services.approve_acceptance(actor_of(request), treatment_id)
    return _out(treatment_id)


@router.post(
    "/risk/treatments/{treatment_id}/status",
    response={200: RiskTreatmentOut, **ERRORS},
    summary="Move a treatment on: in progress, done, cancelled (the risk's state follows)",
)
@allow(MANAGE_RISK, "changing a risk treatment's status")
def set_status(
    request: HttpRequest, treatment_id: Path[DbId], payload: RiskTreatmentStatusIn
) -> RiskTreatmentOut:
    services.set_status(actor_of(request), treatment_id, payload.status.value)
    return _out(treatment_id)


@router.post(
    "/risk/treatments/{treatment_id}/reschedule",
    response={200: RiskTreatmentOut, **ERRORS},
    summary="Give an unfinished treatment a new due date (and owner)",
)
@allow(MANAGE_RISK, "rescheduling a risk treatment")
def reschedule(
    request: HttpRequest, treatment_id: Path[DbId], payload: RiskTreatmentRescheduleIn
) -> RiskTreatmentOut:
    services.reschedule(actor_of(request), treatment_id, payload.due, owner=payload.owner)
    return _out(treatment_id)
