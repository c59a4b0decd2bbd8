"""Escalation and on-call API shapes, bounded like their columns."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from mailwarden.core.api import Input, IsoDateTime
from mailwarden.directory.schemas import SiteCode
from mailwarden.incidents.models import (
    Escalation,
    EscalationPolicy,
    EscalationTarget,
    OnCallOverride,
    OnCallRotation,
    OnCallSchedule,
)
from mailwarden.incidents.queries.escalation import Shift, target_label

RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
TargetKindName = Literal["user", "role", "schedule", "webhook", "mqtt"]
RotationKindName = Literal["daily", "weekly", "hours"]
EscalationStateName = Literal["active", "acknowledged", "exhausted", "cancelled"]
IncidentTypeName = Literal[
    "",
    "suspicious_package",
    "suspicious_substance",
    "bomb_threat",
    "forced_entry",
    "tampering_theft",
    "unattended_item",
]


# ----------------------------------------------------------------------------- schedules


class LayerIn(Input):
    name: str = Field(min_length=1, max_length=120)
    kind: RotationKindName
    length_hours: int = Field(24, ge=1, le=672, description="For kind hours: the shift length.")
    starts_at: IsoDateTime = Field(
        description="The first handoff; later handoffs keep its wall-clock time in the zone."
    )
    members: list[RowId] = Field(description="User IDs in rotation order.", max_length=50)
    window_from: time | None = Field(None, description="Optional daily window (local time).")
    window_until: time | None = None


class OnCallScheduleIn(Input):
    name: str = Field(min_length=1, max_length=120)
    timezone: str = Field("UTC", max_length=64, description="An IANA time zone.")
    description: str = Field("", max_length=2000)
    layers: list[LayerIn] = Field(description="Lower first; a later layer lies on top.")


class OverrideIn(Input):
    user_id: RowId
    starts_at: IsoDateTime
    ends_at: IsoDateTime
    note: str = Field("", max_length=200)


class LayerOut(Schema):
    name: str
    kind: str
    length_hours: int
    starts_at: datetime
    members: list[int]
    window_from: time | None
    window_until: time | None


class OverrideOut(Schema):
    id: int
    user_id: int
    username: str
    starts_at: datetime
    ends_at: datetime
    note: str


class ShiftOut(Schema):
    starts_at: datetime
    ends_at: datetime
    user_id: int | None
    username: str | None
    source: str = Field(description="The layer's name, or override.")


class OnCallScheduleOut(Schema):
    id: int
    name: str
    timezone: str
    description: str
    layers: list[LayerOut]
    overrides: list[OverrideOut]


class OnCallOut(Schema):
    schedule: int
    name: str
    at: datetime
    now: ShiftOut | None = Field(description="Who is on call at the moment asked about.")
    next: ShiftOut | None = Field(description="The next person on call, within 7 days.")


def layer_out(layer: OnCallRotation) -> LayerOut:
    return LayerOut(
        name=layer.name,
        kind=layer.kind,
        length_hours=layer.length_hours,
        starts_at=layer.starts_at,
        members=list(layer.members),
        window_from=layer.window_from,
        window_until=layer.window_until,
    )


def override_out(override: OnCallOverride) -> OverrideOut:
    return OverrideOut(
        id=override.pk,
        user_id=override.user_id,
        username=override.user.get_username(),
        starts_at=override.starts_at,
        ends_at=override.ends_at,
        note=override.note,
    )


def schedule_out(schedule: OnCallSchedule) -> OnCallScheduleOut:
    return OnCallScheduleOut(
        id=schedule.pk,
        name=schedule.name,
        timezone=schedule.timezone,
        description=schedule.description,
        layers=[layer_out(r) for r in schedule.layers.order_by("position")],
        overrides=[override_out(o) for o in schedule.overrides.select_related("user")],
    )


def shift_out(shift: Shift | None, names: dict[int, str]) -> ShiftOut | None:
    if shift is None:
        return None
    return ShiftOut(
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        user_id=shift.user_id,
        username=names.get(shift.user_id) if shift.user_id else None,
        source=shift.source,
    )


# ----------------------------------------------------------------------------- policies


class TargetIn(Input):
    kind: TargetKindName
    user_id: RowId | None = Field(None, description="For kind user.")
    role: str = Field("", max_length=30, description="For kind role: a role's value.")
    role_scope: Literal["site", "all"] = Field(
        "site", description="For kind role: at the incident's site, or everywhere."
    )
    schedule_id: RowId | None = Field(None, description="For kind schedule.")
    address: str = Field(
        "", max_length=200, description="For webhook: the endpoint's name; for mqtt: the topic."
    )


class EscalationLevelIn(Input):
    delay_minutes: int = Field(
        15, ge=0, le=1440, description="Minutes before the next level is paged."
    )
    quorum: int = Field(
        1, ge=1, le=50, description="Acknowledgements from different people that stop paging."
    )
    targets: list[TargetIn] = Field(max_length=20)


class MatchIn(Input):
    incident_type: IncidentTypeName = Field("", description="Empty: every type.")
    site: SiteCode | None = Field(None, description="Empty: every site.")
    min_severity: int = Field(
        4, ge=1, le=4, description="Incidents this severe or worse (1 is SEV-1, the worst)."
    )
    position: int = Field(100, ge=0, le=10_000)


class EscalationPolicyIn(Input):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=2000)
    repeat: int = Field(0, ge=0, le=9, description="Runs of the whole policy after the first.")
    levels: list[EscalationLevelIn] = Field(max_length=10)
    matches: list[MatchIn] = Field(default_factory=list, max_length=50)
    alarm_rules: list[RowId] = Field(
        default_factory=list,
        max_length=200,
        description="Alarm rules whose notify alarms page with this policy.",
    )


class TargetOut(Schema):
    kind: str
    label: str
    user_id: int | None
    role: str
    role_scope: str
    schedule_id: int | None
    address: str


class EscalationLevelOut(Schema):
    position: int
    delay_minutes: int
    quorum: int
    targets: list[TargetOut]


class PolicyMatchOut(Schema):
    incident_type: str
    site: str | None
    min_severity: int
    position: int


class EscalationPolicyOut(Schema):
    id: int
    name: str
    description: str
    repeat: int
    levels: list[EscalationLevelOut]
    matches: list[PolicyMatchOut]
    alarm_rules: list[int]


def target_out(target: EscalationTarget, label: str) -> TargetOut:
    return TargetOut(
        kind=target.kind,
        label=label,
        user_id=target.user_id,
        role=target.role,
        role_scope=target.role_scope,
        schedule_id=target.schedule_id,
        address=target.address,
    )


def policy_out(policy: EscalationPolicy) -> EscalationPolicyOut:
    return EscalationPolicyOut(
        id=policy.pk,
        name=policy.name,
        description=policy.description,
        repeat=policy.repeat,
        levels=[
            EscalationLevelOut(
                position=level.position,
                delay_minutes=level.delay_minutes,
                quorum=level.quorum,
                targets=[target_out(t, target_label(t)) for t in level.targets.all()],
            )
            for level in policy.levels.all()
        ],
        matches=[
            PolicyMatchOut(
                incident_type=m.incident_type,
                site=m.site.code if m.site else None,
                min_severity=m.min_severity,
                position=m.position,
            )
            for m in policy.matches.all()
        ],
        alarm_rules=sorted(policy.alarm_rules.values_list("pk", flat=True)),
    )


# ----------------------------------------------------------------------------- escalations


class EscalationQuery(Input):
    state: EscalationStateName | None = Field(None, description="Without it: active ones.")
    limit: int = Field(100, ge=1, le=500)


class PageOut(Schema):
    level: int
    round: int
    label: str
    user_id: int | None
    at: datetime


class AckOut(Schema):
    level: int
    round: int
    by: str
    via: str
    at: datetime


class EscalationOut(Schema):
    id: int
    ref: str
    title: str
    policy: str
    site: str | None
    incident: str | None = Field(description="The incident's reference, when it pages about one.")
    alarm: int | None
    exercise: bool
    state: str
    level: int = Field(description="The level paging now (or last), from 1.")
    round: int = Field(description="The run through the policy, from 1.")
    started_at: datetime
    next_at: datetime | None
    ended_at: datetime | None
    ended_by: str
    ended_reason: str
    pages: list[PageOut]
    acknowledgements: list[AckOut]


class AcknowledgedOut(Schema):
    escalation: EscalationOut
    stopped: bool = Field(description="True when this acknowledgement met the quorum.")
    count: int
    needed: int


def escalation_out(escalation: Escalation) -> EscalationOut:
    return EscalationOut(
        id=escalation.pk,
        ref=escalation.ref,
        title=escalation.title,
        policy=escalation.policy_name,
        site=escalation.site.code if escalation.site else None,
        incident=escalation.incident.reference if escalation.incident else None,
        alarm=escalation.alarm_id,
        exercise=escalation.exercise,
        state=escalation.state,
        level=escalation.level + 1,
        round=escalation.round + 1,
        started_at=escalation.started_at,
        next_at=escalation.next_at,
        ended_at=escalation.ended_at,
        ended_by=escalation.ended_by,
        ended_reason=escalation.ended_reason,
        pages=[
            PageOut(level=p.level + 1, round=p.round + 1, label=p.label, user_id=p.user_id, at=p.at)
            for p in escalation.pages.all()
        ],
        acknowledgements=[
            AckOut(level=a.level + 1, round=a.round + 1, by=a.by, via=a.via, at=a.at)
            for a in escalation.acks.all()
        ],
    )
