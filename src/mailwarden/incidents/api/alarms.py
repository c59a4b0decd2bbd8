"""The alarm console's API (``/api/alarms``): list and filter alarms, acknowledge one or many
with a note, and the alarm rules. Each operation checks the caller's role first; every change
goes through :mod:`mailwarden.incidents.services`."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import NotFound
from mailwarden.core.permissions import require
from mailwarden.directory.models import Site
from mailwarden.incidents.models import Alarm, AlarmRule
from mailwarden.incidents.queries import alarms as queries
from mailwarden.incidents.schemas.alarms import (
    AlarmAcknowledgeIn,
    AlarmId,
    BulkAcknowledgeIn,
    ConsoleAlarmOut,
    ConsoleAlarmQuery,
    RuleIn,
    RuleOut,
    alarm_out,
    rule_out,
)
from mailwarden.incidents.services import alarms as services

router = Router()


@router.get(
    "/alarms", response={200: list[ConsoleAlarmOut], **ERRORS}, summary="Alarms from every source"
)
@allow(services.VIEW_ALARMS, "reading alarms")
def list_alarms(request: HttpRequest, filters: Query[ConsoleAlarmQuery]) -> list[ConsoleAlarmOut]:
    require(actor_of(request), services.VIEW_ALARMS, "reading alarms")
    alarms = Alarm.objects.select_related("site").order_by("-severity", "-last_seen", "-id")
    if filters.state:
        alarms = alarms.filter(state=filters.state)
    elif not filters.all:
        alarms = queries.needing_attention()
    if filters.site:
        site = Site.objects.filter(code=filters.site).first()
        if site is None:
            raise NotFound(f"no site {filters.site!r}", "site")
        alarms = alarms.filter(site=site)
    if filters.source:
        alarms = alarms.filter(source=filters.source)
    if filters.type:
        alarms = alarms.filter(type=filters.type)
    if filters.min_severity:
        alarms = alarms.filter(severity__gte=filters.min_severity)
    return [alarm_out(a) for a in alarms[filters.offset : filters.offset + filters.limit]]


@router.post(
    "/alarms/acknowledge",
    response={200: list[ConsoleAlarmOut], **ERRORS},
    summary="Acknowledge several alarms with one note",
)
@allow(services.HANDLE_ALARMS, "acknowledging alarms")
def acknowledge_many(request: HttpRequest, payload: BulkAcknowledgeIn) -> list[ConsoleAlarmOut]:
    actor = actor_of(request)
    require(actor, services.HANDLE_ALARMS, "acknowledging alarms")
    alarms = services.acknowledge_alarms(actor, payload.alarm_ids, note=payload.note)
    return [alarm_out(a) for a in alarms]


@router.get("/alarms/rules", response={200: list[RuleOut], **ERRORS}, summary="Alarm rules")
@allow(services.VIEW_ALARMS, "reading alarm rules")
def list_rules(request: HttpRequest) -> list[RuleOut]:
    require(actor_of(request), services.VIEW_ALARMS, "reading alarm rules")
    return [rule_out(r) for r in AlarmRule.objects.select_related("site")]


def _request(payload: RuleIn) -> services.RuleRequest:
    return services.RuleRequest(**payload.model_dump())


@router.post("/alarms/rules", response={201: RuleOut, **ERRORS}, summary="Add an alarm rule")
@allow(services.MANAGE_RULES, "changing alarm rules")
def create_rule(request: HttpRequest, payload: RuleIn) -> Status[RuleOut]:
    actor = actor_of(request)
    require(actor, services.MANAGE_RULES, "changing alarm rules")
    return Status(201, rule_out(services.create_rule(actor, _request(payload))))


@router.put(
    "/alarms/rules/{rule_id}", response={200: RuleOut, **ERRORS}, summary="Change an alarm rule"
)
@allow(services.MANAGE_RULES, "changing alarm rules")
def update_rule(request: HttpRequest, rule_id: Path[AlarmId], payload: RuleIn) -> RuleOut:
    actor = actor_of(request)
    require(actor, services.MANAGE_RULES, "changing alarm rules")
    return rule_out(services.update_rule(actor, rule_id, _request(payload)))


@router.delete(
    "/alarms/rules/{rule_id}", response={204: None, **ERRORS}, summary="Remove an alarm rule"
)
@allow(services.MANAGE_RULES, "changing alarm rules")
def delete_rule(request: HttpRequest, rule_id: Path[AlarmId]) -> Status[None]:
    actor = actor_of(request)
    require(actor, services.MANAGE_RULES, "changing alarm rules")
    services.delete_rule(actor, rule_id)
    return Status(204, None)


@router.get("/alarms/{alarm_id}", response={200: ConsoleAlarmOut, **ERRORS}, summary="One alarm")
@allow(services.VIEW_ALARMS, "reading alarms")
def get_alarm(request: HttpRequest, alarm_id: Path[AlarmId]) -> ConsoleAlarmOut:
    require(actor_of(request), services.VIEW_ALARMS, "reading alarms")
    alarm = Alarm.objects.select_related("site").filter(pk=alarm_id).first()
    if alarm is None:
        raise NotFound(f"no alarm {alarm_id}", "alarm_id")
    return alarm_out(alarm)


@router.post(
    "/alarms/{alarm_id}/acknowledge",
    response={200: ConsoleAlarmOut, **ERRORS},
    summary="Acknowledge an alarm with a note",
)
@allow(services.HANDLE_ALARMS, "acknowledging alarms")
def acknowledge_one(
    request: HttpRequest, alarm_id: Path[AlarmId], payload: AlarmAcknowledgeIn
) -> ConsoleAlarmOut:
    actor = actor_of(request)
    require(actor, services.HANDLE_ALARMS, "acknowledging alarms")
    return alarm_out(services.acknowledge_alarm(actor, alarm_id, note=payload.note))
