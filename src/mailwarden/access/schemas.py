"""Request and response shapes of the access API.

Inputs are bounded like the columns they land in, so an oversized value is refused naming its
field on PostgreSQL and SQLite alike. The device operations' shapes are in
:mod:`mailwarden.contracts.access`; the ones here describe them for the OpenAPI schema.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import field_validator

from mailwarden.access.models import (
    AccessAlarm,
    AccessController,
    AccessEvent,
    AccessLevel,
    AlarmKind,
    AreaMode,
    CardFormat,
    Cardholder,
    Credential,
    CredentialKind,
    Direction,
    Door,
    FailMode,
    HolderKind,
    Mode,
    Reader,
    Schedule,
)
from mailwarden.access.queries import Entry
from mailwarden.contracts.access import MAX_BATCH
from mailwarden.core.api import Input, IsoDate, IsoDateTime, in_utc
from mailwarden.directory.models import LocationKind

SLUG = r"^[-a-zA-Z0-9_]+$"
MAX_DB_INT = 2**31 - 1
MAX_DB_ID = 2**63 - 1

Code = Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG)]
DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
Seconds = Annotated[int, Field(ge=0, le=86_400)]
Limit = Annotated[int, Field(ge=1, le=500)]
Offset = Annotated[int, Field(ge=0, le=1_000_000)]


class _Times(Input):
    @field_validator("*", mode="after")
    @classmethod
    def _representable(cls, value: object) -> object:
        return in_utc(value) if isinstance(value, datetime) else value


# ----------------------------------------------------------------------------- device sync


class RulesQuery(Input):
    since: int | None = Field(
        None,
        ge=0,
        le=MAX_DB_INT - 1,
        description="The rules version the controller holds (0 or absent: none).",
    )


class SignedDocumentOut(Schema):
    kind: str
    alg: str
    key_id: str
    payload: dict[str, Any]
    signature: str


class RulesOut(Schema):
    up_to_date: bool
    version: int
    document: SignedDocumentOut | None = Field(
        None, description="Absent when up to date: a signed rule snapshot or a delta from since."
    )


class EventBatchIn(Schema):
    events: list[dict[str, Any]] = Field(
        max_length=MAX_BATCH,
        description='Each {"key": uuid, "type": an edge event type, "event": its fields}; '
        "a malformed one is rejected alone.",
    )


class RejectedOut(Schema):
    key: str | None
    reason: str


class EventBatchOut(Schema):
    applied: list[str]
    duplicates: list[str]
    rejected: list[RejectedOut]


# ----------------------------------------------------------------------------- controllers


class ControllerIn(Input):
    name: Code
    site: Code
    fail_mode: FailMode = FailMode.FAIL_SECURE
    offline_after_s: int = Field(60, ge=10, le=86_400)


class RekeyIn(Input):
    reason: str = Field(min_length=1, max_length=200, description="Why, for the ledger.")


class ControllerOut(Schema):
    name: str
    site: str
    fail_mode: str
    offline_after_s: int
    token_prefix: str
    last_seen_at: datetime | None
    readers: list[str]


class EnrolmentOut(ControllerOut):
    token: str = Field(description="The device token; shown only in this answer.")
    sync_secret: str = Field(description="Hex; the edge verifies its rules with it. Shown once.")


def controller_out(ctl: AccessController) -> ControllerOut:
    return ControllerOut(
        name=ctl.name,
        site=ctl.site.code,
        fail_mode=ctl.fail_mode,
        offline_after_s=ctl.offline_after_s,
        token_prefix=ctl.token_prefix,
        last_seen_at=ctl.last_seen_at,
        readers=sorted(r.code for r in ctl.readers.all()),
    )


# ----------------------------------------------------------------------------- schedules


class WindowIn(Schema):
    days: list[str] = Field(min_length=1, max_length=7)
    start: str = Field(max_length=5, examples=["08:00"])
    end: str = Field(max_length=5, examples=["18:00"])


class TimeWindowIn(Schema):
    start: str = Field(max_length=5)
    end: str = Field(max_length=5)


class ScheduleTimesIn(Input):
    windows: list[WindowIn] = Field(max_length=50)
    holiday_windows: list[TimeWindowIn] = Field([], max_length=50)


class ScheduleIn(ScheduleTimesIn):
    name: str = Field(min_length=1, max_length=100)


class ScheduleOut(Schema):
    id: int
    name: str
    windows: list[dict[str, Any]]
    holiday_windows: list[dict[str, Any]]


def schedule_out(s: Schedule) -> ScheduleOut:
    return ScheduleOut(id=s.pk, name=s.name, windows=s.windows, holiday_windows=s.holiday_windows)


class HolidayIn(Input):
    date: IsoDate
    name: str = Field("", max_length=100)


class HolidayOut(Schema):
    date: date
    name: str


# ----------------------------------------------------------------------------- areas, doors


class AreaIn(Input):
    code: Code
    name: str = Field("", max_length=100)
    mode: AreaMode
    reentry_s: Seconds = 0


class AreaOut(Schema):
    code: str
    name: str
    mode: str
    reentry_s: int


class DoorIn(Input):
    code: Code
    name: str = Field("", max_length=120)
    location: Code | None = Field(None, description="A location code at the site.")
    mode: Mode = Mode.LOCKED
    unlock_schedule_id: DbId | None = None
    unlock_s: int = Field(5, ge=1, le=300)
    held_open_s: int = Field(30, ge=1, le=3600)
    fail_mode: FailMode = FailMode.FAIL_SECURE
    area_outside: Code | None = None
    area_inside: Code | None = None


class DoorModeIn(Input):
    door: Code
    mode: Mode
    unlock_schedule_id: DbId | None = None


class DoorRulesIn(Input):
    door: Code
    two_person_window_s: int | None = Field(None, ge=1, le=600)
    first_person_level_ids: list[DbId] = Field([], max_length=100)
    first_person_others_wait: bool = False
    lockdown_level_ids: list[DbId] = Field([], max_length=100)


class DoorOut(Schema):
    code: str
    name: str
    location: str | None
    location_kind: str | None
    mode: str
    unlock_schedule_id: int | None
    unlock_s: int
    held_open_s: int
    fail_mode: str
    area_outside: str | None
    area_inside: str | None
    two_person_window_s: int | None
    first_person_level_ids: list[int]
    first_person_others_wait: bool
    lockdown_level_ids: list[int]
    readers: list[str]


def door_out(d: Door) -> DoorOut:
    return DoorOut(
        code=d.code,
        name=d.name,
        location=d.location.code if d.location else None,
        location_kind=d.location.kind if d.location else None,
        mode=d.mode,
        unlock_schedule_id=d.unlock_schedule_id,
        unlock_s=d.unlock_s,
        held_open_s=d.held_open_s,
        fail_mode=d.fail_mode,
        area_outside=d.area_outside.code if d.area_outside else None,
        area_inside=d.area_inside.code if d.area_inside else None,
        two_person_window_s=d.two_person_window_s,
        first_person_level_ids=sorted(lv.pk for lv in d.first_person_levels.all()),
        first_person_others_wait=d.first_person_others_wait,
        lockdown_level_ids=sorted(lv.pk for lv in d.lockdown_levels.all()),
        readers=sorted(f"{r.controller.name}/{r.code}" for r in d.readers.all()),
    )


class ReaderIn(Input):
    controller: Code
    door: Code = Field(description="A door code at the controller's site.")
    code: Code
    name: str = Field("", max_length=120)
    osdp_address: int = Field(ge=0, le=126)
    direction: Direction = Direction.IN


class ReaderOut(Schema):
    controller: str
    door: str
    code: str
    name: str
    osdp_address: int
    direction: str


def reader_out(r: Reader) -> ReaderOut:
    return ReaderOut(
        controller=r.controller.name,
        door=r.door.code,
        code=r.code,
        name=r.name,
        osdp_address=r.osdp_address,
        direction=r.direction,
    )


# ----------------------------------------------------------------------------- levels


class LevelDoorsIn(Input):
    schedule_id: DbId
    doors: list[Code] = Field([], max_length=500)


class LevelIn(LevelDoorsIn):
    name: str = Field(min_length=1, max_length=100)


class LevelOut(Schema):
    id: int
    name: str
    schedule_id: int
    doors: list[str]


def level_out(lv: AccessLevel) -> LevelOut:
    return LevelOut(
        id=lv.pk,
        name=lv.name,
        schedule_id=lv.schedule_id,
        doors=sorted(d.code for d in lv.doors.all()),
    )


# ----------------------------------------------------------------------------- people


class CardholderIn(Input):
    name: str = Field("", max_length=150)
    kind: HolderKind = HolderKind.STAFF
    employee_id: str | None = Field(None, min_length=1, max_length=40)
    username: str | None = Field(None, min_length=1, max_length=150)
    company: str = Field("", max_length=120)


class CardholderUpdate(Input):
    name: str = Field(min_length=1, max_length=150)
    kind: HolderKind
    company: str = Field("", max_length=120)


class CardholderOut(Schema):
    id: int
    name: str
    kind: str
    employee_id: str | None
    username: str | None
    company: str


def cardholder_out(h: Cardholder) -> CardholderOut:
    return CardholderOut(
        id=h.pk,
        name=h.name,
        kind=h.kind,
        employee_id=h.recipient.employee_id if h.recipient else None,
        username=h.user.get_username() if h.user else None,
        company=h.company,
    )


class CardholderQuery(Input):
    q: str = Field("", max_length=100)
    limit: Limit = 100
    offset: Offset = 0


class CredentialIn(_Times):
    holder_id: DbId
    kind: CredentialKind = CredentialKind.CARD
    format: CardFormat | None = None
    facility: int | None = Field(None, ge=0, le=MAX_DB_INT)
    card: int | None = Field(None, ge=0, le=MAX_DB_ID)
    bit_length: int | None = Field(None, ge=1, le=1024)
    bits: str | None = Field(
        None, min_length=1, max_length=1024, description="The frame as read, e.g. '0101...'."
    )
    pin: str | None = Field(None, min_length=1, max_length=12)
    level_ids: list[DbId] = Field([], max_length=200)
    valid_from: IsoDateTime | None = None
    valid_until: IsoDateTime | None = None


class CredentialOut(Schema):
    id: int
    holder_id: int
    holder: str
    kind: str
    format: str
    facility: int | None
    card: int | None
    level_ids: list[int]
    valid_from: datetime | None
    valid_until: datetime | None
    temporary: bool
    issued_at: datetime
    revoked_at: datetime | None
    revoked_reason: str


def credential_out(c: Credential) -> CredentialOut:
    # A PIN's hash is never shown: with the salt it is a four-to-twelve digit search away.
    return CredentialOut(
        id=c.pk,
        holder_id=c.holder_id,
        holder=c.holder.name,
        kind=c.kind,
        format=c.format,
        facility=c.facility,
        card=c.card,
        level_ids=sorted(lv.pk for lv in c.levels.all()),
        valid_from=c.valid_from,
        valid_until=c.valid_until,
        temporary=c.temporary,
        issued_at=c.issued_at,
        revoked_at=c.revoked_at,
        revoked_reason=c.revoked_reason,
    )


class CredentialQuery(Input):
    holder_id: DbId | None = None
    include_revoked: bool = False
    limit: Limit = 100
    offset: Offset = 0


class CredentialLevelsIn(Input):
    level_ids: list[DbId] = Field(max_length=500, description="Replaces the credential's levels.")


class RevokeIn(Input):
    credential_id: DbId
    reason: str = Field(min_length=1, max_length=200)


# ----------------------------------------------------------------------------- lockdown


class LockdownIn(Input):
    confirm: bool = Field(False, description="Must be true: a lockdown refuses every card.")
    reason: str = Field("", max_length=200)


class LiftIn(Input):
    reason: str = Field("", max_length=200)


class SiteRulesOut(Schema):
    site: str
    version: int
    lockdown: bool
    lockdown_at: datetime | None
    lockdown_by: str
    lockdown_reason: str


# ----------------------------------------------------------------------------- log and alarms


class LogQuery(_Times):
    site: Code | None = None
    door: Code | None = None
    granted: bool | None = None
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None
    limit: Limit = 100
    offset: Offset = 0


class AccessEventOut(Schema):
    key: str
    type: str
    occurred_at: datetime
    received_at: datetime
    site: str
    controller: str
    door: str | None
    reader: str | None
    cardholder_id: int | None
    cardholder: str | None
    credential_id: int | None
    granted: bool | None
    reason: str
    snapshot_version: int | None


def event_out(e: AccessEvent) -> AccessEventOut:
    return AccessEventOut(
        key=str(e.key),
        type=e.type,
        occurred_at=e.occurred_at,
        received_at=e.received_at,
        site=e.site.code,
        controller=e.controller.name,
        door=e.door.code if e.door else e.door_ref or None,
        reader=e.reader_ref or None,
        cardholder_id=e.cardholder_id,
        cardholder=e.cardholder.name if e.cardholder else None,
        credential_id=e.credential_id,
        granted=e.granted,
        reason=e.reason,
        snapshot_version=e.snapshot_version,
    )


class AlarmQuery(Input):
    site: Code | None = None
    open_only: bool = True
    limit: Limit = 100
    offset: Offset = 0


class AlarmOut(Schema):
    id: int
    kind: AlarmKind
    site: str
    controller: str | None
    door: str | None
    reader: str | None
    occurred_at: datetime
    raised_at: datetime
    detail: str
    cleared_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str
    note: str


def alarm_out(a: AccessAlarm) -> AlarmOut:
    return AlarmOut(
        id=a.pk,
        kind=AlarmKind(a.kind),
        site=a.site.code,
        controller=a.controller.name if a.controller else None,
        door=a.door.code if a.door else None,
        reader=a.reader.code if a.reader else None,
        occurred_at=a.occurred_at,
        raised_at=a.raised_at,
        detail=a.detail,
        cleared_at=a.cleared_at,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by,
        note=a.note,
    )


class AcknowledgeIn(Input):
    alarm_id: DbId
    note: str = Field("", max_length=500)


class WhoEnteredQuery(_Times):
    location_kind: LocationKind = LocationKind.QUARANTINE
    site: Code | None = None
    since: IsoDateTime | None = None
    until: IsoDateTime | None = None


class EntryOut(Schema):
    at: datetime
    site: str
    door: str
    door_name: str
    location: str
    reader: str
    cardholder_id: int | None
    cardholder: str
    credential_id: int | None
    via: str
    reason: str
    with_holder: str | None
    event_key: str


def entry_out(e: Entry) -> EntryOut:
    return EntryOut(**e.__dict__)
