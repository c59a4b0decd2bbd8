"""The risk API: controls, their links and live evidence. Security managers record, change and
evaluate controls; auditors read them."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from mailwarden.core import clock
from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import ServiceError
from mailwarden.risk.permissions import MANAGE_RISK, VIEW_RISK
from mailwarden.risk.queries import controls as queries
from mailwarden.risk.schemas_controls import (
    RiskControlFilters,
    RiskControlId,
    RiskControlIn,
    RiskControlOut,
    RiskControlPatch,
    RiskLinkKindOut,
    RiskMeasureOut,
    RiskPeriodIn,
    RiskSitePeriodIn,
    control_out,
)
from mailwarden.risk.services import controls as services

router = Router()
DEFAULT_PERIOD = timedelta(days=30)


def _period(payload: RiskPeriodIn) -> tuple[datetime, datetime]:
    end = payload.end or clock.now()
    if payload.start is not None:
        return payload.start, end
    try:
        return end - DEFAULT_PERIOD, end
    except OverflowError:
        raise ServiceError("the 30 days before this end fall before year 1", "end") from None


@router.get(
    "/risk/controls",
    response={200: list[RiskControlOut], **ERRORS},
    summary="The controls with their claimed status, last evidence and flag",
)
@allow(VIEW_RISK, "listing controls")
def list_controls(request: HttpRequest, filters: Query[RiskControlFilters]) -> list[RiskControlOut]:
    rows = queries.rows(filters.site, contradicted=filters.contradicted)
    return [control_out(r) for r in rows]


@router.post(
    "/risk/controls",
    response={201: RiskControlOut, **ERRORS},
    summary="Record a control, its link and its evidence measure",
)
@allow(MANAGE_RISK, "recording a control")
def create_control(request: HttpRequest, payload: RiskControlIn) -> Status[RiskControlOut]:
    control = services.record_control(
        actor_of(request),
        site=payload.site,
        title=payload.title,
        claimed=payload.claimed.value,
        description=payload.description,
        link_kind=payload.link_kind,
        link_ref=payload.link_ref,
        measure=payload.measure,
        expectation=payload.expectation,
    )
    return Status(201, control_out(queries.row(control.pk)))


@router.get(
    "/risk/controls/measures",
    response={200: list[RiskMeasureOut], **ERRORS},
    summary="The live-evidence measures a control can be checked with",
)
@allow(VIEW_RISK, "listing evidence measures")
def list_measures(request: HttpRequest) -> list[RiskMeasureOut]:
    return [
        RiskMeasureOut(
            slug=m.slug,
            title=m.title,
            unit=m.unit,
            default_expectation=dict(m.default_expectation),
            ref_kind=m.ref_kind,
            description=" ".join((m.read.__doc__ or "").split()),
        )
        for m in queries.measure_list()
    ]


@router.get(
    "/risk/controls/link-kinds",
    response={200: list[RiskLinkKindOut], **ERRORS},
    summary="What a control can link to",
)
@allow(VIEW_RISK, "listing control link kinds")
def list_link_kinds(request: HttpRequest) -> list[RiskLinkKindOut]:
    return [
        RiskLinkKindOut(slug=k.slug, title=k.title, ref_hint=k.ref_hint)
        for k in queries.link_kinds()
    ]


@router.post(
    "/risk/controls/evaluate",
    response={200: list[RiskControlOut], **ERRORS},
    summary="Evaluate every measured control of a site over a period (default: 30 days to now)",
)
@allow(MANAGE_RISK, "evaluating controls")
def evaluate_site(request: HttpRequest, payload: RiskSitePeriodIn) -> list[RiskControlOut]:
    start, end = _period(payload)
    evaluated = services.evaluate_site(actor_of(request), payload.site, start, end)
    return [control_out(queries.row(c.pk)) for c in evaluated]


@router.get(
    "/risk/controls/{control_id}",
    response={200: RiskControlOut, **ERRORS},
    summary="A control with its link, last evidence and flag",
)
@allow(VIEW_RISK, "viewing a control")
def get_control(request: HttpRequest, control_id: Path[RiskControlId]) -> RiskControlOut:
    return control_out(queries.row(control_id))


@router.patch(
    "/risk/controls/{control_id}",
    response={200: RiskControlOut, **ERRORS},
    summary="Change a control; only the fields given change",
)
@allow(MANAGE_RISK, "changing a control")
def update_control(
    request: HttpRequest, control_id: Path[RiskControlId], payload: RiskControlPatch
) -> RiskControlOut:
    given = payload.model_dump(exclude_unset=True)
    # Only the expectation has a meaning for null (the measure's default); elsewhere null is
    # the same as leaving the field out.
    changes = {k: v for k, v in given.items() if v is not None or k == "expectation"}
    if "claimed" in changes:
        changes["claimed"] = str(changes["claimed"])
    services.update_control(actor_of(request), control_id, **changes)
    return control_out(queries.row(control_id))


@router.delete(
    "/risk/controls/{control_id}",
    response={204: None, **ERRORS},
    summary="Remove a control (treatments that named it keep their text)",
)
@allow(MANAGE_RISK, "removing a control")
def delete_control(request: HttpRequest, control_id: Path[RiskControlId]) -> Status[None]:
    services.delete_control(actor_of(request), control_id)
    return Status(204, None)


@router.post(
    "/risk/controls/{control_id}/evaluate",
    response={200: RiskControlOut, **ERRORS},
    summary="Measure a control's evidence over a period (default: 30 days to now) and flag it "
    "when the evidence contradicts its claimed status",
)
@allow(MANAGE_RISK, "evaluating a control")
def evaluate_control(
    request: HttpRequest, control_id: Path[RiskControlId], payload: RiskPeriodIn
) -> RiskControlOut:
    start, end = _period(payload)
    services.evaluate(actor_of(request), control_id, start, end)
    return control_out(queries.row(control_id))
