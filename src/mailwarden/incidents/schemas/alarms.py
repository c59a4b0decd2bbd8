"""The alarm console's API shapes, bounded like their columns."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field, field_validator

from mailwarden.core.api import Input
from mailwarden.directory.schemas import SiteCode
from mailwarden.incidents.models import Alarm, AlarmRule

AlarmId = Annotated[int, Field(ge=1, le=2**31 - 1)]
SeverityLevel = Annotated[int, Field(ge=1, le=4, description="1 low, 2 medium, 3 high, 4 critical")]
AlarmStateName = Literal["open", "acknowledged", "cleared"]
SourceName = Literal["screening", "access", "ledger", "cap", "outbox", "delivery", "video"]
ActionName = Literal["open_incident", "notify", "log"]


class EvidenceOut(Schema):
    label: str
    url: str | None = None
    ref: str | None = None


class ConsoleAlarmOut(Schema):
    id: int
    type: str
    severity: int
    severity_name: str
    site: str | None
    source: str
    source_key: str
    title: str
    evidence: list[EvidenceOut]
    first_seen: datetime
    last_seen: datetime
    count: int
    state: str
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str
    note: str
    action: str
    rule: int | None


def alarm_out(alarm: Alarm) -> ConsoleAlarmOut:
    return ConsoleAlarmOut(
        id=alarm.pk,
        type=alarm.type,
        severity=alarm.severity,
        severity_name=alarm.get_severity_display(),
        site=alarm.site.code if alarm.site else None,
        source=alarm.source,
        source_key=alarm.source_key,
        title=alarm.title,
        evidence=[EvidenceOut(**e) for e in alarm.evidence],
        first_seen=alarm.first_seen,
        last_seen=alarm.last_seen,
        count=alarm.count,
        state=alarm.state,
        cleared_at=alarm.cleared_at,
        acknowledged_at=alarm.acknowledged_at,
        acknowledged_by=alarm.acknowledged_by,
        note=alarm.note,
        action=alarm.action,
        rule=alarm.rule_id,
    )


class ConsoleAlarmQuery(Input):
    state: AlarmStateName | None = Field(
        None, description="Only alarms in this state; without it, every alarm still to deal with."
    )
    all: bool = Field(False, description="Every alarm, acknowledged ones too.")
    site: SiteCode | None = None
    source: SourceName | None = None
    type: str | None = Field(None, max_length=80)
    min_severity: SeverityLevel | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class AlarmAcknowledgeIn(Input):
    note: str = Field("", max_length=500)


class BulkAcknowledgeIn(Input):
    alarm_ids: list[AlarmId] = Field(min_length=1, max_length=200)
    note: str = Field("", max_length=500)


class RuleIn(Input):
    name: str = Field(min_length=1, max_length=120)
    action: ActionName
    alarm_type: str = Field("", max_length=80, description="Empty: every type.")
    site: SiteCode | None = Field(None, description="Empty: every site.")
    min_severity: SeverityLevel = 1
    starts_at: time | None = Field(None, description="In the site's time zone; may wrap midnight.")
    ends_at: time | None = None
    position: int = Field(100, ge=0, le=10_000, description="Lower rules are tried first.")
    active: bool = True

    @field_validator("starts_at", "ends_at", mode="after")
    @classmethod
    def _wall_clock(cls, value: time | None) -> time | None:
        # The window is read in the site's own time zone; an offset would say another one.
        if value is not None and value.tzinfo is not None:
            raise ValueError("a time of day in the site's time zone, without an offset")
        return value


class RuleOut(Schema):
    id: int
    name: str
    action: str
    alarm_type: str
    site: str | None
    min_severity: int
    starts_at: time | None
    ends_at: time | None
    position: int
    active: bool


def rule_out(rule: AlarmRule) -> RuleOut:
    return RuleOut(
        id=rule.pk,
        name=rule.name,
        action=rule.action,
        alarm_type=rule.alarm_type,
        site=rule.site.code if rule.site else None,
        min_severity=rule.min_severity,
        starts_at=rule.starts_at,
        ends_at=rule.ends_at,
        position=rule.position,
        active=rule.active,
    )
