"""Escalation and on-call API (``/api/escalation/...``): on-call schedules and overrides, who
is on call, escalation policies, and the escalations paging now with their acknowledgement.
Each operation declares its callers; every change goes through the services."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Path, Query, Router, Status
from pydantic import Field

from mailwarden.core import clock
from mailwarden.core.api import ERRORS, Input, IsoDateTime, actor_of, allow
from mailwarden.core.errors import NotFound
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.incidents.models import Escalation, EscalationPolicy, OnCallSchedule
from mailwarden.incidents.queries import escalation as queries
from mailwarden.incidents.schemas.escalation import (
    AcknowledgedOut,
    EscalationOut,
    EscalationPolicyIn,
    EscalationPolicyOut,
    EscalationQuery,
    OnCallOut,
    OnCallScheduleIn,
    OnCallScheduleOut,
    OverrideIn,
    OverrideOut,
    RowId,
    escalation_out,
    override_out,
    policy_out,
    schedule_out,
    shift_out,
)
from mailwarden.incidents.services import escalation as services

router = Router()

VIEW, MANAGE = services.VIEW_ESCALATION, services.MANAGE_ESCALATION
# Anyone paged may acknowledge, whatever their role; the service checks they were paged.
ACKNOWLEDGERS = tuple(Role)


# ----------------------------------------------------------------------------- schedules


def _schedule(schedule_id: int) -> OnCallSchedule:
    schedule = queries.schedules().filter(pk=schedule_id).first()
    if schedule is None:
        raise NotFound(f"no on-call schedule {schedule_id}", "schedule_id")
    return schedule


def _schedule_request(payload: OnCallScheduleIn) -> services.ScheduleRequest:
    return services.ScheduleRequest(
        name=payload.name,
        timezone=payload.timezone,
        description=payload.description,
        layers=[services.LayerRequest(**layer.model_dump()) for layer in payload.layers],
    )


def _on_call(schedule: OnCallSchedule, at: datetime) -> OnCallOut:
    current, following = queries.current_and_next(schedule, at)
    ids = [s.user_id for s in (current, following) if s and s.user_id]
    names = {pk: u.get_username() for pk, u in queries.users_by_id(ids).items()}
    return OnCallOut(
        schedule=schedule.pk,
        name=schedule.name,
        at=at,
        now=shift_out(current, names),
        next=shift_out(following, names),
    )


@router.get(
    "/escalation/schedules",
    response={200: list[OnCallScheduleOut], **ERRORS},
    summary="On-call schedules",
)
@allow(VIEW, "reading on-call schedules")
def list_schedules(request: HttpRequest) -> list[OnCallScheduleOut]:
    require(actor_of(request), VIEW, "reading on-call schedules")
    return [schedule_out(s) for s in queries.schedules()]


@router.post(
    "/escalation/schedules", response={201: OnCallScheduleOut, **ERRORS}, summary="Add a schedule"
)
@allow(MANAGE, "changing on-call schedules")
def create_schedule(request: HttpRequest, payload: OnCallScheduleIn) -> Status[OnCallScheduleOut]:
    actor = actor_of(request)
    require(actor, MANAGE, "changing on-call schedules")
    schedule = services.create_schedule(actor, _schedule_request(payload))
    return Status(201, schedule_out(schedule))


@router.get(
    "/escalation/schedules/{schedule_id}",
    response={200: OnCallScheduleOut, **ERRORS},
    summary="One schedule",
)
@allow(VIEW, "reading on-call schedules")
def get_schedule(request: HttpRequest, schedule_id: Path[RowId]) -> OnCallScheduleOut:
    require(actor_of(request), VIEW, "reading on-call schedules")
    return schedule_out(_schedule(schedule_id))


@router.put(
    "/escalation/schedules/{schedule_id}",
    response={200: OnCallScheduleOut, **ERRORS},
    summary="Change a schedule (its rotations are replaced)",
)
@allow(MANAGE, "changing on-call schedules")
def update_schedule(
    request: HttpRequest, schedule_id: Path[RowId], payload: OnCallScheduleIn
) -> OnCallScheduleOut:
    actor = actor_of(request)
    require(actor, MANAGE, "changing on-call schedules")
    return schedule_out(services.update_schedule(actor, schedule_id, _schedule_request(payload)))


@router.delete(
    "/escalation/schedules/{schedule_id}",
    response={204: None, **ERRORS},
    summary="Remove a schedule no policy pages",
)
@allow(MANAGE, "changing on-call schedules")
def delete_schedule(request: HttpRequest, schedule_id: Path[RowId]) -> Status[None]:
    actor = actor_of(request)
    require(actor, MANAGE, "changing on-call schedules")
    services.delete_schedule(actor, schedule_id)
    return Status(204, None)


@router.post(
    "/escalation/schedules/{schedule_id}/overrides",
    response={201: OverrideOut, **ERRORS},
    summary="Someone covers the schedule for a period",
)
@allow(MANAGE, "changing on-call schedules")
def add_override(
    request: HttpRequest, schedule_id: Path[RowId], payload: OverrideIn
) -> Status[OverrideOut]:
    actor = actor_of(request)
    require(actor, MANAGE, "changing on-call schedules")
    override = services.add_override(
        actor, schedule_id, services.OverrideRequest(**payload.model_dump())
    )
    return Status(201, override_out(override))


@router.delete(
    "/escalation/overrides/{override_id}",
    response={204: None, **ERRORS},
    summary="Remove an override",
)
@allow(MANAGE, "changing on-call schedules")
def delete_override(request: HttpRequest, override_id: Path[RowId]) -> Status[None]:
    actor = actor_of(request)
    require(actor, MANAGE, "changing on-call schedules")
    services.delete_override(actor, override_id)
    return Status(204, None)


class OnCallQuery(Input):
    at: IsoDateTime | None = Field(None, description="The moment asked about; without it, now.")


@router.get(
    "/escalation/oncall",
    response={200: list[OnCallOut], **ERRORS},
    summary="Who is on call now (or at a moment), and next, on every schedule",
)
@allow(VIEW, "reading on-call schedules")
def on_call(request: HttpRequest, filters: Query[OnCallQuery]) -> list[OnCallOut]:
    require(actor_of(request), VIEW, "reading on-call schedules")
    at = filters.at or clock.now()
    return [_on_call(s, at) for s in queries.schedules()]


# ----------------------------------------------------------------------------- policies


def _policy_request(payload: EscalationPolicyIn) -> services.PolicyRequest:
    return services.PolicyRequest(
        name=payload.name,
        description=payload.description,
        repeat=payload.repeat,
        levels=[
            services.LevelRequest(
                delay_minutes=level.delay_minutes,
                quorum=level.quorum,
                targets=[services.TargetRequest(**t.model_dump()) for t in level.targets],
            )
            for level in payload.levels
        ],
        matches=[services.MatchRequest(**m.model_dump()) for m in payload.matches],
        alarm_rules=payload.alarm_rules,
    )


def _policy(policy_id: int) -> EscalationPolicy:
    policy = queries.policies().filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(f"no escalation policy {policy_id}", "policy_id")
    return policy


@router.get(
    "/escalation/policies",
    response={200: list[EscalationPolicyOut], **ERRORS},
    summary="Escalation policies",
)
@allow(VIEW, "reading escalation policies")
def list_policies(request: HttpRequest) -> list[EscalationPolicyOut]:
    require(actor_of(request), VIEW, "reading escalation policies")
    return [policy_out(p) for p in queries.policies()]


@router.post(
    "/escalation/policies", response={201: EscalationPolicyOut, **ERRORS}, summary="Add a policy"
)
@allow(MANAGE, "changing escalation policies")
def create_policy(request: HttpRequest, payload: EscalationPolicyIn) -> Status[EscalationPolicyOut]:
    actor = actor_of(request)
    require(actor, MANAGE, "changing escalation policies")
    policy = services.create_policy(actor, _policy_request(payload))
    return Status(201, policy_out(_policy(policy.pk)))


@router.get(
    "/escalation/policies/{policy_id}",
    response={200: EscalationPolicyOut, **ERRORS},
    summary="One policy",
)
@allow(VIEW, "reading escalation policies")
def get_policy(request: HttpRequest, policy_id: Path[RowId]) -> EscalationPolicyOut:
    require(actor_of(request), VIEW, "reading escalation policies")
    return policy_out(_policy(policy_id))


@router.put(
    "/escalation/policies/{policy_id}",
    response={200: EscalationPolicyOut, **ERRORS},
    summary="Change a policy (its levels and matches are replaced)",
)
@allow(MANAGE, "changing escalation policies")
def update_policy(
    request: HttpRequest, policy_id: Path[RowId], payload: EscalationPolicyIn
) -> EscalationPolicyOut:
    actor = actor_of(request)
    require(actor, MANAGE, "changing escalation policies")
    services.update_policy(actor, policy_id, _policy_request(payload))
    return policy_out(_policy(policy_id))


@router.delete(
    "/escalation/policies/{policy_id}",
    response={204: None, **ERRORS},
    summary="Remove a policy that is not paging",
)
@allow(MANAGE, "changing escalation policies")
def delete_policy(request: HttpRequest, policy_id: Path[RowId]) -> Status[None]:
    actor = actor_of(request)
    require(actor, MANAGE, "changing escalation policies")
    services.delete_policy(actor, policy_id)
    return Status(204, None)


# ----------------------------------------------------------------------------- escalations


def _escalation(escalation_id: int) -> Escalation:
    found = (
        Escalation.objects.select_related("site", "incident")
        .prefetch_related("pages", "acks")
        .filter(pk=escalation_id)
        .first()
    )
    if found is None:
        raise NotFound(f"no escalation {escalation_id}", "escalation_id")
    return found


@router.get(
    "/escalation/escalations",
    response={200: list[EscalationOut], **ERRORS},
    summary="Escalations: those paging now, or in one state",
)
@allow(VIEW, "reading escalations")
def list_escalations(request: HttpRequest, filters: Query[EscalationQuery]) -> list[EscalationOut]:
    require(actor_of(request), VIEW, "reading escalations")
    found = Escalation.objects.filter(state=filters.state or "active")
    found = found.select_related("site", "incident").prefetch_related("pages", "acks")
    return [escalation_out(e) for e in found.order_by("-started_at", "-id")[: filters.limit]]


@router.get(
    "/escalation/escalations/{escalation_id}",
    response={200: EscalationOut, **ERRORS},
    summary="One escalation, with who was paged and who acknowledged",
)
@allow(VIEW, "reading escalations")
def get_escalation(request: HttpRequest, escalation_id: Path[RowId]) -> EscalationOut:
    require(actor_of(request), VIEW, "reading escalations")
    return escalation_out(_escalation(escalation_id))


@router.post(
    "/escalation/escalations/{escalation_id}/acknowledge",
    response={200: AcknowledgedOut, **ERRORS},
    summary="Acknowledge a page (a paged person, or a security manager or operator)",
)
@allow(ACKNOWLEDGERS, "acknowledging a page")
def acknowledge(request: HttpRequest, escalation_id: Path[RowId]) -> AcknowledgedOut:
    result = services.acknowledge(actor_of(request), escalation_id, via="api")
    return AcknowledgedOut(
        escalation=escalation_out(_escalation(escalation_id)),
        stopped=result.stopped,
        count=result.count,
        needed=result.needed,
    )
