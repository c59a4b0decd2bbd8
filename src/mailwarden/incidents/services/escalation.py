"""Escalation and on-call (docs/architecture.md rule 1): on-call schedules and their overrides,
escalation policies, and the escalations that page people level by level until enough of them
acknowledge.

An escalation starts from its catalogue event (an incident opened, an alarm a "notify" rule
caught) and pages its first level at once; :func:`advance_due`, run on every tick, pages the
next level when a level's delay passes without its quorum of acknowledgements, runs the policy
again for each repeat, and marks it exhausted after the last. Every message goes through
``delivery.queue`` with a key per escalation, round, level and target, so a job that runs twice
pages nobody twice.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import signing
from django.db import connection, transaction
from django.urls import reverse
from django.utils.text import slugify

from mailwarden.contracts.events import (
    IncidentEscalationAcknowledged,
    IncidentEscalationExhausted,
    IncidentEscalationPaged,
)
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.core.tasks import periodic
from mailwarden.core.validation import check_text
from mailwarden.directory.models import Site
from mailwarden.incidents import delivery
from mailwarden.incidents.models import (
    Alarm,
    AlarmRule,
    Channel,
    Delivery,
    DeliveryStatus,
    Escalation,
    EscalationAck,
    EscalationLevel,
    EscalationPage,
    EscalationPolicy,
    EscalationState,
    EscalationTarget,
    Incident,
    IncidentSeverity,
    IncidentState,
    IncidentType,
    OnCallOverride,
    OnCallRotation,
    OnCallSchedule,
    PolicyMatch,
    RoleScope,
    RotationKind,
    TargetKind,
)
from mailwarden.incidents.queries import escalation as queries
from mailwarden.incidents.services import timeline

MANAGE_ESCALATION = (Role.SECURITY_MANAGER,)
HANDLE_ESCALATIONS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
VIEW_ESCALATION = (*HANDLE_ESCALATIONS, Role.AUDITOR)

JOB = Actor.job("escalation")
MAX_DELAY_MINUTES = 1440
MAX_LEVELS = 10
MAX_TARGETS = 20
MAX_REPEAT = 9
MAX_LAYERS = 5
MAX_MEMBERS = 50
MQTT_PREFIX = "mailwarden/"
LINK_SALT = "mailwarden.incidents.escalation.ack"
LINK_LIFETIME = timedelta(hours=24)
STOPPING_STATES = (IncidentState.CONTAINED, IncidentState.RESOLVED, IncidentState.CLOSED)


def _user_label(user: Any) -> str:
    return str(user.get_username())


# ============================================================================= on-call schedules


@dataclass(frozen=True)
class LayerRequest:
    name: str
    kind: str
    starts_at: datetime
    members: Sequence[int]
    length_hours: int = 24
    window_from: time | None = None
    window_until: time | None = None


@dataclass(frozen=True)
class ScheduleRequest:
    name: str
    timezone: str = "UTC"
    description: str = ""
    layers: Sequence[LayerRequest] = field(default_factory=tuple)


def _known_users(ids: Sequence[int], field_name: str) -> None:
    found = set(
        get_user_model()
        .objects.filter(pk__in=set(ids), is_active=True)
        .values_list("pk", flat=True)
    )
    unknown = [str(i) for i in ids if i not in found]
    if unknown:
        raise NotFound(f"no active user {', '.join(unknown)}", field_name)


def _validated_schedule(request: ScheduleRequest) -> dict[str, Any]:
    name = check_text(request.name, "name", max_length=120, required=True)
    description = check_text(request.description, "description", max_length=2000)
    if request.timezone not in zoneinfo.available_timezones():
        raise ServiceError(f"{request.timezone!r} is not an IANA time zone", "timezone")
    if not request.layers:
        raise ServiceError("a schedule needs at least one rotation", "layers")
    if len(request.layers) > MAX_LAYERS:
        raise ServiceError(f"at most {MAX_LAYERS} rotations", "layers")
    for n, layer in enumerate(request.layers):
        where = f"layers.{n}"
        check_text(layer.name, f"{where}.name", max_length=120, required=True)
        if layer.kind not in RotationKind.values:
            raise ServiceError(f"must be one of {', '.join(RotationKind.values)}", f"{where}.kind")
        if layer.kind == RotationKind.HOURS and not 1 <= layer.length_hours <= 24 * 28:
            raise ServiceError("must be 1 to 672 hours", f"{where}.length_hours")
        if layer.starts_at.tzinfo is None:
            raise ServiceError("give the first handoff with its UTC offset", f"{where}.starts_at")
        if not layer.members:
            raise ServiceError("a rotation needs at least one member", f"{where}.members")
        if len(layer.members) > MAX_MEMBERS:
            raise ServiceError(f"at most {MAX_MEMBERS} members", f"{where}.members")
        _known_users(layer.members, f"{where}.members")
        if (layer.window_from is None) != (layer.window_until is None):
            raise ServiceError(
                "give both ends of the daily window, or neither", f"{where}.window_until"
            )
        if layer.window_from is not None and layer.window_from == layer.window_until:
            raise ServiceError(
                "the window must not start and end together", f"{where}.window_until"
            )
    return {"name": name, "description": description, "timezone": request.timezone}


def _write_layers(schedule: OnCallSchedule, layers: Sequence[LayerRequest]) -> None:
    schedule.layers.all().delete()
    OnCallRotation.objects.bulk_create(
        OnCallRotation(
            schedule=schedule,
            position=n + 1,
            name=layer.name.strip(),
            kind=layer.kind,
            length_hours=layer.length_hours if layer.kind == RotationKind.HOURS else 24,
            starts_at=layer.starts_at,
            members=list(layer.members),
            window_from=layer.window_from,
            window_until=layer.window_until,
        )
        for n, layer in enumerate(layers)
    )


def _schedule_data(schedule: OnCallSchedule) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "timezone": schedule.timezone,
        "layers": [
            {
                "name": r.name,
                "kind": r.kind,
                "length_hours": r.length_hours,
                "starts_at": r.starts_at.isoformat(),
                "members": r.members,
                "window": [
                    r.window_from.isoformat() if r.window_from else None,
                    r.window_until.isoformat() if r.window_until else None,
                ],
            }
            for r in schedule.layers.order_by("position")
        ],
    }


def _unique_name(
    model: type[OnCallSchedule] | type[EscalationPolicy], name: str, pk: int | None
) -> None:
    same = model.objects.filter(name=name)
    if pk is not None:
        same = same.exclude(pk=pk)
    if same.exists():
        raise Conflict(f"{name!r} is taken", "name")


def create_schedule(actor: Actor, request: ScheduleRequest) -> OnCallSchedule:
    require(actor, MANAGE_ESCALATION, "changing on-call schedules")
    values = _validated_schedule(request)
    with transaction.atomic():
        _unique_name(OnCallSchedule, values["name"], None)
        schedule = OnCallSchedule.objects.create(
            **values, updated_at=clock.now(), updated_by=actor.label
        )
        _write_layers(schedule, request.layers)
        ledger.append(
            actor,
            "incidents.schedule.created",
            "oncall_schedule",
            str(schedule.pk),
            _schedule_data(schedule),
        )
    return schedule


def update_schedule(actor: Actor, schedule_id: int, request: ScheduleRequest) -> OnCallSchedule:
    require(actor, MANAGE_ESCALATION, "changing on-call schedules")
    if not OnCallSchedule.objects.filter(pk=schedule_id).exists():
        raise NotFound(f"no on-call schedule {schedule_id}", "schedule_id")
    values = _validated_schedule(request)
    with transaction.atomic():
        schedule = OnCallSchedule.objects.select_for_update().get(pk=schedule_id)
        _unique_name(OnCallSchedule, values["name"], schedule.pk)
        for name, value in values.items():
            setattr(schedule, name, value)
        schedule.updated_at, schedule.updated_by = clock.now(), actor.label
        schedule.save()
        _write_layers(schedule, request.layers)
        ledger.append(
            actor,
            "incidents.schedule.updated",
            "oncall_schedule",
            str(schedule.pk),
            _schedule_data(schedule),
        )
    return schedule


def delete_schedule(actor: Actor, schedule_id: int) -> None:
    require(actor, MANAGE_ESCALATION, "changing on-call schedules")
    with transaction.atomic():
        schedule = OnCallSchedule.objects.select_for_update().filter(pk=schedule_id).first()
        if schedule is None:
            raise NotFound(f"no on-call schedule {schedule_id}", "schedule_id")
        users = sorted(
            set(
                EscalationTarget.objects.filter(schedule=schedule).values_list(
                    "level__policy__name", flat=True
                )
            )
        )
        if users:
            raise Conflict(
                f"escalation policies page this schedule: {', '.join(users)}", "schedule_id"
            )
        data = _schedule_data(schedule)
        schedule.delete()
        ledger.append(
            actor, "incidents.schedule.deleted", "oncall_schedule", str(schedule_id), data
        )


@dataclass(frozen=True)
class OverrideRequest:
    user_id: int
    starts_at: datetime
    ends_at: datetime
    note: str = ""


def add_override(actor: Actor, schedule_id: int, request: OverrideRequest) -> OnCallOverride:
    """One person covers the schedule for a period, over every rotation."""
    require(actor, MANAGE_ESCALATION, "changing on-call schedules")
    note = check_text(request.note, "note", max_length=200)
    if request.starts_at.tzinfo is None or request.ends_at.tzinfo is None:
        raise ServiceError("give the times with their UTC offset", "starts_at")
    if request.ends_at <= request.starts_at:
        raise ServiceError("must be after the start", "ends_at")
    if request.ends_at - request.starts_at > timedelta(days=90):
        raise ServiceError("an override covers at most 90 days", "ends_at")
    _known_users([request.user_id], "user_id")
    with transaction.atomic():
        schedule = OnCallSchedule.objects.select_for_update().filter(pk=schedule_id).first()
        if schedule is None:
            raise NotFound(f"no on-call schedule {schedule_id}", "schedule_id")
        override = OnCallOverride.objects.create(
            schedule=schedule,
            user_id=request.user_id,
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            note=note,
            created_by=actor.label,
        )
        ledger.append(
            actor,
            "incidents.schedule_override.created",
            "oncall_override",
            str(override.pk),
            {
                "schedule": schedule.name,
                "user": request.user_id,
                "starts_at": request.starts_at.isoformat(),
                "ends_at": request.ends_at.isoformat(),
                "note": note,
            },
        )
    return override


def delete_override(actor: Actor, override_id: int) -> None:
    require(actor, MANAGE_ESCALATION, "changing on-call schedules")
    with transaction.atomic():
        override = OnCallOverride.objects.select_for_update().filter(pk=override_id).first()
        if override is None:
            raise NotFound(f"no override {override_id}", "override_id")
        data = {"schedule": override.schedule_id, "user": override.user_id}
        override.delete()
        ledger.append(
            actor, "incidents.schedule_override.deleted", "oncall_override", str(override_id), data
        )


# ============================================================================= policies


@dataclass(frozen=True)
class TargetRequest:
    kind: str
    user_id: int | None = None
    role: str = ""
    role_scope: str = RoleScope.SITE
    schedule_id: int | None = None
    # A webhook endpoint's name, or an MQTT topic under mailwarden/.
    address: str = ""


@dataclass(frozen=True)
class LevelRequest:
    targets: Sequence[TargetRequest]
    delay_minutes: int = 15
    quorum: int = 1


@dataclass(frozen=True)
class MatchRequest:
    incident_type: str = ""
    site: str | None = None
    min_severity: int = IncidentSeverity.SEV4
    position: int = 100


@dataclass(frozen=True)
class PolicyRequest:
    name: str
    levels: Sequence[LevelRequest]
    description: str = ""
    repeat: int = 0
    matches: Sequence[MatchRequest] = field(default_factory=tuple)
    # Alarm rules whose "notify" alarms page with this policy.
    alarm_rules: Sequence[int] = field(default_factory=tuple)


PEOPLE_KINDS = (TargetKind.USER, TargetKind.ROLE, TargetKind.SCHEDULE)


def _validated_target(target: TargetRequest, where: str) -> dict[str, Any]:
    if target.kind not in TargetKind.values:
        raise ServiceError(f"must be one of {', '.join(TargetKind.values)}", f"{where}.kind")
    values: dict[str, Any] = {"kind": target.kind}
    if target.kind == TargetKind.USER:
        if target.user_id is None:
            raise ServiceError("name the person to page", f"{where}.user_id")
        _known_users([target.user_id], f"{where}.user_id")
        values["user_id"] = target.user_id
    elif target.kind == TargetKind.ROLE:
        if target.role not in {r.value for r in Role}:
            raise NotFound(f"no role {target.role!r}", f"{where}.role")
        if target.role_scope not in RoleScope.values:
            raise ServiceError("must be site or all", f"{where}.role_scope")
        values.update(role=target.role, role_scope=target.role_scope)
    elif target.kind == TargetKind.SCHEDULE:
        if (
            target.schedule_id is None
            or not OnCallSchedule.objects.filter(pk=target.schedule_id).exists()
        ):
            raise NotFound(f"no on-call schedule {target.schedule_id}", f"{where}.schedule_id")
        values["schedule_id"] = target.schedule_id
    elif target.kind == TargetKind.WEBHOOK:
        name = target.address.strip()
        known = queries.webhook_endpoint_names()
        shaped = bool(name) and slugify(name) == name and len(name) <= 60
        if not shaped or (known is not None and name not in known):
            raise NotFound(f"no webhook endpoint {name!r}", f"{where}.address")
        values["address"] = name
    else:
        topic = target.address.strip()
        rest = topic.removeprefix(MQTT_PREFIX)
        if (
            not topic.startswith(MQTT_PREFIX)
            or not rest
            or len(topic) > 200
            or any(c in topic for c in "#+\x00")
            or "//" in topic
            or topic.endswith("/")
        ):
            raise ServiceError(
                "must be a topic under mailwarden/ without wildcards, such as mailwarden/pages/hq",
                f"{where}.address",
            )
        values["address"] = topic
    return values


def _validated_policy(request: PolicyRequest) -> dict[str, Any]:
    name = check_text(request.name, "name", max_length=120, required=True)
    description = check_text(request.description, "description", max_length=2000)
    if not 0 <= request.repeat <= MAX_REPEAT:
        raise ServiceError(f"must be 0 to {MAX_REPEAT}", "repeat")
    if not request.levels:
        raise ServiceError("a policy needs at least one level", "levels")
    if len(request.levels) > MAX_LEVELS:
        raise ServiceError(f"at most {MAX_LEVELS} levels", "levels")
    levels = []
    for n, level in enumerate(request.levels):
        where = f"levels.{n}"
        if not 0 <= level.delay_minutes <= MAX_DELAY_MINUTES:
            raise ServiceError(
                f"must be 0 to {MAX_DELAY_MINUTES} minutes", f"{where}.delay_minutes"
            )
        if not level.targets:
            raise ServiceError("a level needs at least one target", f"{where}.targets")
        if len(level.targets) > MAX_TARGETS:
            raise ServiceError(f"at most {MAX_TARGETS} targets", f"{where}.targets")
        targets = [
            _validated_target(t, f"{where}.targets.{i}") for i, t in enumerate(level.targets)
        ]
        people = sum(1 for t in targets if t["kind"] in PEOPLE_KINDS)
        if level.quorum < 1:
            raise ServiceError("must be at least 1", f"{where}.quorum")
        if level.quorum > max(people, 1):
            raise ServiceError(
                f"the level pages {people} people target{'s' if people != 1 else ''}; a quorum "
                f"of {level.quorum} could never be met",
                f"{where}.quorum",
            )
        levels.append((level, targets))
    matches = []
    for n, match in enumerate(request.matches):
        where = f"matches.{n}"
        if match.incident_type and match.incident_type not in IncidentType.values:
            raise ServiceError(
                f"must be one of {', '.join(IncidentType.values)}", f"{where}.incident_type"
            )
        if match.min_severity not in IncidentSeverity.values:
            raise ServiceError("must be 1 (SEV-1) to 4", f"{where}.min_severity")
        if not 0 <= match.position <= 10_000:
            raise ServiceError("must be 0 to 10000", f"{where}.position")
        site = None
        if match.site:
            site = Site.objects.filter(code=match.site).first()
            if site is None:
                raise NotFound(f"no site {match.site!r}", f"{where}.site")
        matches.append((match, site))
    rule_ids = list(dict.fromkeys(request.alarm_rules))
    known = set(AlarmRule.objects.filter(pk__in=rule_ids).values_list("pk", flat=True))
    unknown = [str(i) for i in rule_ids if i not in known]
    if unknown:
        raise NotFound(f"no alarm rule {', '.join(unknown)}", "alarm_rules")
    return {
        "name": name,
        "description": description,
        "repeat": request.repeat,
        "levels": levels,
        "matches": matches,
        "alarm_rules": rule_ids,
    }


def _write_policy(policy: EscalationPolicy, values: dict[str, Any]) -> None:
    policy.levels.all().delete()
    for n, (level, targets) in enumerate(values["levels"]):
        row = EscalationLevel.objects.create(
            policy=policy, position=n + 1, delay_minutes=level.delay_minutes, quorum=level.quorum
        )
        EscalationTarget.objects.bulk_create(EscalationTarget(level=row, **t) for t in targets)
    policy.matches.all().delete()
    PolicyMatch.objects.bulk_create(
        PolicyMatch(
            policy=policy,
            incident_type=m.incident_type,
            site=site,
            min_severity=m.min_severity,
            position=m.position,
        )
        for m, site in values["matches"]
    )
    AlarmRule.objects.filter(escalation_policy=policy).exclude(pk__in=values["alarm_rules"]).update(
        escalation_policy=None
    )
    AlarmRule.objects.filter(pk__in=values["alarm_rules"]).update(escalation_policy=policy)


target_label = queries.target_label


def _policy_data(policy: EscalationPolicy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "repeat": policy.repeat,
        "levels": [
            {
                "delay_minutes": level.delay_minutes,
                "quorum": level.quorum,
                "targets": [target_label(t) for t in level.targets.all()],
            }
            for level in policy.levels.prefetch_related("targets__user", "targets__schedule")
        ],
        "matches": [
            {"type": m.incident_type, "site": m.site_id, "min_severity": m.min_severity}
            for m in policy.matches.all()
        ],
        "alarm_rules": sorted(policy.alarm_rules.values_list("pk", flat=True)),
    }


def create_policy(actor: Actor, request: PolicyRequest) -> EscalationPolicy:
    require(actor, MANAGE_ESCALATION, "changing escalation policies")
    values = _validated_policy(request)
    with transaction.atomic():
        _unique_name(EscalationPolicy, values["name"], None)
        policy = EscalationPolicy.objects.create(
            name=values["name"],
            description=values["description"],
            repeat=values["repeat"],
            updated_at=clock.now(),
            updated_by=actor.label,
        )
        _write_policy(policy, values)
        ledger.append(
            actor,
            "incidents.policy.created",
            "escalation_policy",
            str(policy.pk),
            _policy_data(policy),
        )
    return policy


def update_policy(actor: Actor, policy_id: int, request: PolicyRequest) -> EscalationPolicy:
    """Change a policy. Escalations already paging go on with the new levels from their next
    step."""
    require(actor, MANAGE_ESCALATION, "changing escalation policies")
    if not EscalationPolicy.objects.filter(pk=policy_id).exists():
        raise NotFound(f"no escalation policy {policy_id}", "policy_id")
    values = _validated_policy(request)
    with transaction.atomic():
        policy = EscalationPolicy.objects.select_for_update().get(pk=policy_id)
        _unique_name(EscalationPolicy, values["name"], policy.pk)
        policy.name, policy.description = values["name"], values["description"]
        policy.repeat = values["repeat"]
        policy.updated_at, policy.updated_by = clock.now(), actor.label
        policy.save()
        _write_policy(policy, values)
        ledger.append(
            actor,
            "incidents.policy.updated",
            "escalation_policy",
            str(policy.pk),
            _policy_data(policy),
        )
    return policy


def delete_policy(actor: Actor, policy_id: int) -> None:
    require(actor, MANAGE_ESCALATION, "changing escalation policies")
    with transaction.atomic():
        policy = EscalationPolicy.objects.select_for_update().filter(pk=policy_id).first()
        if policy is None:
            raise NotFound(f"no escalation policy {policy_id}", "policy_id")
        if policy.escalations.filter(state=EscalationState.ACTIVE).exists():
            raise Conflict(
                "the policy is paging now; acknowledge or wait for its escalations first",
                "policy_id",
            )
        data = _policy_data(policy)
        policy.delete()
        ledger.append(actor, "incidents.policy.deleted", "escalation_policy", str(policy_id), data)


# ============================================================================= starting


def _only_jobs(actor: Actor, what: str) -> None:
    if actor.kind != "job":
        raise Forbidden(f"{what} is done by the incidents' and alarms' events, not by people")


def start_for_incident(actor: Actor, incident_id: int) -> Escalation | None:
    """Page about a newly opened incident with the first matching policy; None when no policy
    matches or it pages already."""
    _only_jobs(actor, "starting escalations")
    incident = Incident.objects.select_related("site").filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(f"no incident {incident_id}", "incident_id")
    policy = queries.policy_for_incident(incident)
    if policy is None:
        return None
    return _start(
        actor,
        policy,
        ref=f"incident:{incident.pk}",
        title=f"{incident.reference} {incident.title}",
        incident=incident,
        site=incident.site,
        exercise=incident.exercise,
    )


def start_for_alarm(actor: Actor, alarm_id: int) -> Escalation | None:
    """Page about an alarm its "notify" rule caught, with the rule's policy."""
    _only_jobs(actor, "starting escalations")
    alarm = (
        Alarm.objects.select_related("site", "rule__escalation_policy").filter(pk=alarm_id).first()
    )
    if alarm is None:
        raise NotFound(f"no alarm {alarm_id}", "alarm_id")
    policy = queries.policy_for_alarm(alarm)
    if policy is None:
        return None
    return _start(
        actor, policy, ref=f"alarm:{alarm.pk}", title=alarm.title, alarm=alarm, site=alarm.site
    )


def _start(
    actor: Actor,
    policy: EscalationPolicy,
    *,
    ref: str,
    title: str,
    incident: Incident | None = None,
    alarm: Alarm | None = None,
    site: Site | None = None,
    exercise: bool = False,
) -> Escalation | None:
    now = clock.now()
    with transaction.atomic():
        if Escalation.objects.filter(ref=ref).exists():
            return None
        escalation = Escalation.objects.create(
            ref=ref,
            title=title[:200],
            incident=incident,
            alarm=alarm,
            site=site,
            policy=policy,
            policy_name=policy.name,
            exercise=exercise,
            started_at=now,
            next_at=now,
        )
        ledger.append(
            actor,
            "incidents.escalation.started",
            "escalation",
            str(escalation.pk),
            {"ref": ref, "policy": policy.name, "exercise": exercise},
            at=now,
        )
        if incident is not None:
            timeline.append(
                incident.pk,
                "page",
                f"Escalation started with the policy {policy.name}",
                by=actor.label,
                data={"escalation": escalation.pk},
            )
        _page_level(actor, escalation, now)
    return escalation


# ============================================================================= paging


@dataclass
class _Reached:
    """Who one level reaches: people (by user ID, with why) and integrations."""

    people: dict[int, str] = field(default_factory=dict)
    integrations: list[tuple[Channel, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _reach(escalation: Escalation, level: EscalationLevel, now: datetime) -> _Reached:
    reached = _Reached()
    for target in level.targets.select_related("schedule", "user").order_by("id"):
        if target.kind == TargetKind.USER:
            if target.user is not None and target.user.is_active:
                reached.people.setdefault(target.user.pk, _user_label(target.user))
            else:
                reached.notes.append("a named person is no longer active")
        elif target.kind == TargetKind.ROLE:
            site = escalation.site if target.role_scope == RoleScope.SITE else None
            users = queries.users_with_role(target.role, site)
            if not users and site is not None:
                # Paging nobody is worse than paging too widely: the role everywhere instead.
                users = queries.users_with_role(target.role, None)
                reached.notes.append(
                    f"no {Role(target.role).title.lower()} holds access at {site.code}; "
                    "paged them at every site"
                )
            if not users:
                reached.notes.append(f"nobody has the role {Role(target.role).title.lower()}")
            for user in users:
                reached.people.setdefault(user.pk, _user_label(user))
        elif target.kind == TargetKind.SCHEDULE and target.schedule is not None:
            who = queries.who_is_on_call(target.schedule, now)
            on_call = (
                get_user_model().objects.filter(pk=who.user_id, is_active=True).first()
                if who
                else None
            )
            if on_call is None:
                reached.notes.append(f"nobody is on call on {target.schedule.name}")
            else:
                reached.people.setdefault(
                    on_call.pk, f"{_user_label(on_call)} (on call: {target.schedule.name})"
                )
        elif target.kind == TargetKind.WEBHOOK:
            reached.integrations.append((Channel.WEBHOOK, target.address))
        elif target.kind == TargetKind.MQTT:
            reached.integrations.append((Channel.MQTT, target.address))
    return reached


def ack_token(escalation_id: int, user_id: int, now: datetime | None = None) -> str:
    """A signed link token that acknowledges ``escalation_id`` as ``user_id`` until it expires
    (read by the injected clock, so tests can move past it)."""
    expires = (now or clock.now()) + LINK_LIFETIME
    return signing.dumps(
        {"e": escalation_id, "u": user_id, "x": int(expires.timestamp())}, salt=LINK_SALT
    )


def ack_url(escalation_id: int, user_id: int, now: datetime | None = None) -> str:
    path = reverse("incidents:escalation_ack_link", args=[ack_token(escalation_id, user_id, now)])
    return f"{settings.BASE_URL.rstrip('/')}{path}"


def _subject(escalation: Escalation) -> str:
    return f"Page: {escalation.title}"


def _text(escalation: Escalation, level_no: int, round_no: int) -> str:
    where = f" at {escalation.site.name}" if escalation.site else ""
    again = f" (round {round_no})" if round_no > 1 else ""
    return f"You are paged{where}, level {level_no}{again}: {escalation.title}."


def _payload(escalation: Escalation, level_no: int, round_no: int) -> dict[str, Any]:
    return {
        "type": "escalation.page",
        "escalation": escalation.pk,
        "ref": escalation.ref,
        "title": escalation.title,
        "policy": escalation.policy_name,
        "level": level_no,
        "round": round_no,
        "site": escalation.site.code if escalation.site else None,
        "incident": escalation.incident.reference if escalation.incident else None,
        "severity": escalation.incident.severity if escalation.incident else None,
        "paged_at": clock.now().isoformat(),
    }


def _levels(escalation: Escalation) -> list[EscalationLevel]:
    if escalation.policy is None:
        return []
    return list(escalation.policy.levels.order_by("position"))


def _page_level(actor: Actor, escalation: Escalation, now: datetime) -> None:
    """Page the escalation's current level and set when it moves on (in the caller's
    transaction)."""
    levels = _levels(escalation)
    if not levels:
        _exhaust(actor, escalation, now, "its policy has no levels any more")
        return
    level = levels[min(escalation.level, len(levels) - 1)]
    level_no, round_no = escalation.level + 1, escalation.round + 1
    reached = _reach(escalation, level, now)
    base = f"escalation:{escalation.pk}:r{round_no}:l{level_no}"
    subject, text = _subject(escalation), _text(escalation, level_no, round_no)
    console = f"{settings.BASE_URL.rstrip('/')}{reverse('incidents:oncall')}"
    messages: list[delivery.Outgoing] = []
    for user_id in reached.people:
        for address in delivery.addresses_for_user(user_id):
            body = text
            if address.channel in (Channel.EMAIL, Channel.SMS):
                body = f"{text}\nAcknowledge: {ack_url(escalation.pk, user_id, now)}"
            elif address.channel == Channel.INAPP:
                body = f"{text}\nAcknowledge on the on-call page: {console}"
            messages.append(
                delivery.Outgoing(
                    to=address,
                    subject=subject,
                    text=body,
                    key=f"{base}:user:{user_id}:{address.channel}",
                    ref=escalation.ref,
                    payload=_payload(escalation, level_no, round_no),
                    exercise=escalation.exercise,
                )
            )
    for channel, address_text in reached.integrations:
        messages.append(
            delivery.Outgoing(
                to=delivery.Address(channel, address_text),
                subject=subject,
                text=text,
                key=f"{base}:{channel}:{address_text}",
                ref=escalation.ref,
                payload=_payload(escalation, level_no, round_no),
                exercise=escalation.exercise,
            )
        )
    delivery.queue(messages)
    EscalationPage.objects.bulk_create(
        [
            EscalationPage(
                escalation=escalation,
                level=escalation.level,
                round=escalation.round,
                user_id=user_id,
                label=label,
                at=now,
            )
            for user_id, label in reached.people.items()
        ]
        + [
            EscalationPage(
                escalation=escalation,
                level=escalation.level,
                round=escalation.round,
                label=f"{'webhook' if channel == Channel.WEBHOOK else 'MQTT'} {address_text}",
                at=now,
            )
            for channel, address_text in reached.integrations
        ],
        ignore_conflicts=True,
    )
    escalation.paged_at = now
    escalation.next_at = now + timedelta(minutes=level.delay_minutes)
    escalation.save(update_fields=["paged_at", "next_at"])
    names = [*reached.people.values()]
    integrations = [
        f"{'webhook' if c == Channel.WEBHOOK else 'MQTT'} {a}" for c, a in reached.integrations
    ]
    paged = ", ".join([*names, *integrations]) or "nobody"
    again = f", round {round_no}" if round_no > 1 else ""
    line = f"Level {level_no}{again} paged: {paged}"
    if level.quorum > 1:
        line += f"; {level.quorum} acknowledgements needed within {level.delay_minutes} min"
    if reached.notes:
        line += f" ({'; '.join(reached.notes)})"
    if escalation.incident_id is not None:
        timeline.append(
            escalation.incident_id,
            "page",
            line,
            by=actor.label,
            at=now,
            data={"escalation": escalation.pk, "level": level_no, "round": round_no},
        )
    ledger.append(
        actor,
        "incidents.escalation.paged",
        "escalation",
        str(escalation.pk),
        {
            "level": level_no,
            "round": round_no,
            "paged": [*names, *integrations],
            "notes": reached.notes,
        },
        at=now,
    )
    outbox.emit(
        IncidentEscalationPaged(
            escalation=escalation.pk,
            ref=escalation.ref,
            policy=escalation.policy_name,
            level=level_no,
            round=round_no,
            people=[
                _user_label(u)
                for u in get_user_model()
                .objects.filter(pk__in=list(reached.people))
                .order_by("username")
            ],
            integrations=[a for _, a in reached.integrations],
            exercise=escalation.exercise,
        )
    )


def _acks_now(escalation: Escalation) -> list[EscalationAck]:
    return list(escalation.acks.filter(level=escalation.level, round=escalation.round))


def _finish(
    escalation: Escalation, state: EscalationState, now: datetime, by: str, why: str
) -> None:
    escalation.state = state
    escalation.next_at = None
    escalation.ended_at, escalation.ended_by, escalation.ended_reason = now, by[:150], why[:300]
    escalation.save(update_fields=["state", "next_at", "ended_at", "ended_by", "ended_reason"])
    if state in (EscalationState.ACKNOWLEDGED, EscalationState.CANCELLED):
        # Someone answered, or nobody is needed any more: pages still waiting to go out (a
        # channel down, retrying) would only call people for nothing.
        Delivery.objects.filter(
            key__startswith=f"escalation:{escalation.pk}:", status=DeliveryStatus.PENDING
        ).update(status=DeliveryStatus.CANCELLED, last_error=f"not sent: {why}"[:2000])


def _exhaust(actor: Actor, escalation: Escalation, now: datetime, why: str) -> None:
    _finish(escalation, EscalationState.EXHAUSTED, now, actor.label, why)
    if escalation.incident_id is not None:
        timeline.append(
            escalation.incident_id,
            "page",
            f"Escalation exhausted: {why}. Nobody acknowledged the page.",
            by=actor.label,
            at=now,
            data={"escalation": escalation.pk},
        )
    ledger.append(
        actor,
        "incidents.escalation.exhausted",
        "escalation",
        str(escalation.pk),
        {"why": why},
        at=now,
    )
    outbox.emit(
        IncidentEscalationExhausted(
            escalation=escalation.pk,
            ref=escalation.ref,
            policy=escalation.policy_name,
            exercise=escalation.exercise,
        )
    )


def _step(actor: Actor, escalation: Escalation, now: datetime) -> None:
    """The current level's time is up without its quorum: page the next level, the first level
    again for a repeat, or give up after the last."""
    levels = _levels(escalation)
    repeat = escalation.policy.repeat if escalation.policy else 0
    if escalation.level + 1 < len(levels):
        escalation.level += 1
    elif escalation.round < repeat:
        escalation.round += 1
        escalation.level = 0
    else:
        rounds = escalation.round + 1
        _exhaust(
            actor,
            escalation,
            now,
            f"all {len(levels)} level{'s' if len(levels) != 1 else ''} paged "
            f"{rounds} time{'s' if rounds != 1 else ''}",
        )
        return
    escalation.save(update_fields=["level", "round"])
    _page_level(actor, escalation, now)


def advance_due(actor: Actor, now: datetime | None = None, limit: int = 200) -> int:
    """Move on every active escalation whose level's time is up; returns how many moved."""
    _only_jobs(actor, "moving escalations on")
    now = now or clock.now()
    ids = list(
        Escalation.objects.filter(state=EscalationState.ACTIVE, next_at__lte=now)
        .order_by("next_at", "id")
        .values_list("id", flat=True)[:limit]
    )
    moved = 0
    for escalation_id in ids:
        with transaction.atomic():
            query = Escalation.objects.filter(
                pk=escalation_id, state=EscalationState.ACTIVE, next_at__lte=now
            )
            if connection.features.has_select_for_update_skip_locked:
                query = query.select_for_update(skip_locked=True, of=("self",))
            escalation = query.select_related("policy", "site", "incident").first()
            if escalation is None:
                continue
            if escalation.paged_at is None:
                _page_level(actor, escalation, now)
            else:
                _step(actor, escalation, now)
            moved += 1
    return moved


@periodic("incidents-escalation")
def escalation_job(now: datetime) -> int:
    return advance_due(JOB, now)


# ============================================================================= acknowledging


@dataclass(frozen=True)
class AckResult:
    escalation: Escalation
    # Whether this acknowledgement stopped the paging (the quorum was met).
    stopped: bool
    count: int
    needed: int


def acknowledge(actor: Actor, escalation_id: int, *, via: str = "console") -> AckResult:
    """A paged person, or a security manager or operator, acknowledges. It stops the paging
    once the current level's quorum of different people have acknowledged it."""
    now = clock.now()
    with transaction.atomic():
        escalation = (
            # Only the escalation's row: its policy, incident and site may be missing (outer
            # joins), which PostgreSQL will not lock.
            Escalation.objects.select_for_update(of=("self",))
            .select_related("policy", "incident", "site")
            .filter(pk=escalation_id)
            .first()
        )
        if escalation is None:
            raise NotFound(f"no escalation {escalation_id}", "escalation_id")
        paged = actor.user_id is not None and actor.user_id in queries.paged_user_ids(escalation)
        if not paged and not actor.has(*HANDLE_ESCALATIONS):
            raise Forbidden(
                "acknowledging needs to be one of the people paged, or a security manager "
                "or operator"
            )
        if escalation.state != EscalationState.ACTIVE:
            done = escalation.get_state_display().lower()
            by = f" by {escalation.ended_by}" if escalation.ended_by else ""
            raise Conflict(f"this escalation is {done}{by} already", "escalation_id")
        if escalation.acks.filter(
            level=escalation.level, round=escalation.round, by=actor.label
        ).exists():
            raise Conflict("you acknowledged this page already", "escalation_id")
        EscalationAck.objects.create(
            escalation=escalation,
            level=escalation.level,
            round=escalation.round,
            user_id=actor.user_id if actor.kind == "user" else None,
            by=actor.label,
            via=via,
            at=now,
        )
        levels = _levels(escalation)
        needed = levels[min(escalation.level, len(levels) - 1)].quorum if levels else 1
        acks = _acks_now(escalation)
        stopped = len(acks) >= needed
        how = " from the message's link" if via == "link" else ""
        if stopped:
            names = ", ".join(a.by for a in acks)
            _finish(
                escalation,
                EscalationState.ACKNOWLEDGED,
                now,
                actor.label,
                f"acknowledged by {names}",
            )
            line = f"Page acknowledged by {actor.label}{how}; escalation stopped"
            outbox.emit(
                IncidentEscalationAcknowledged(
                    escalation=escalation.pk,
                    ref=escalation.ref,
                    by=[a.by for a in acks],
                    exercise=escalation.exercise,
                )
            )
        else:
            line = (
                f"Page acknowledged by {actor.label}{how} ({len(acks)} of {needed} needed); "
                "still paging"
            )
        if escalation.incident_id is not None:
            timeline.append(
                escalation.incident_id,
                "page",
                line,
                by=actor.label,
                at=now,
                data={"escalation": escalation.pk},
            )
        ledger.append(
            actor,
            "incidents.escalation.acknowledged",
            "escalation",
            str(escalation.pk),
            {"via": via, "count": len(acks), "needed": needed, "stopped": stopped},
            at=now,
        )
    return AckResult(escalation, stopped, len(acks), needed)


class LinkError(ServiceError):
    """A one-click link that is forged, garbled or out of date."""


def read_ack_token(token: str) -> tuple[int, int]:
    """The escalation and person a one-click link names; refused when forged or expired."""
    try:
        data = signing.loads(token, salt=LINK_SALT)
    except signing.BadSignature:
        raise LinkError("this link is not valid", "token") from None
    try:
        escalation_id, user_id, expires = int(data["e"]), int(data["u"]), int(data["x"])
    except (KeyError, TypeError, ValueError):
        raise LinkError("this link is not valid", "token") from None
    if clock.now().timestamp() > expires:
        raise LinkError("this link has expired; sign in to acknowledge the page", "token")
    return escalation_id, user_id


def acknowledge_by_link(token: str) -> AckResult:
    """Acknowledge as the person a signed link was sent to, without a password."""
    escalation_id, user_id = read_ack_token(token)
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise LinkError("this link's person can no longer acknowledge", "token")
    return acknowledge(Actor.for_user(user), escalation_id, via="link")


# ============================================================================= stopping


def stop(actor: Actor, ref: str, why: str) -> Escalation | None:
    """The thing paged about no longer needs anyone (its incident contained, its alarm
    acknowledged): the escalation stops. None when nothing was paging."""
    _only_jobs(actor, "stopping escalations")
    now = clock.now()
    with transaction.atomic():
        escalation = (
            Escalation.objects.select_for_update()
            .filter(ref=ref, state=EscalationState.ACTIVE)
            .first()
        )
        if escalation is None:
            return None
        _finish(escalation, EscalationState.CANCELLED, now, actor.label, why)
        if escalation.incident_id is not None:
            timeline.append(
                escalation.incident_id,
                "page",
                f"Escalation stopped: {why}",
                by=actor.label,
                at=now,
                data={"escalation": escalation.pk},
            )
        ledger.append(
            actor,
            "incidents.escalation.stopped",
            "escalation",
            str(escalation.pk),
            {"why": why},
            at=now,
        )
    return escalation
