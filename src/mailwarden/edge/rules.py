"""The access rules an edge controller decides from: a versioned snapshot and deltas between them.

A snapshot holds the whole rule set of one site's edge controller: credentials, access levels,
weekly schedules in the site's time zone with its holidays, doors with their modes and special
rules, readers, and anti-passback areas. A delta turns version N into N+1 by adding, changing and
removing entries by id. Both arrive signed (``signing``) and are checked here for internal
consistency: every reference must name an entry that exists.
"""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)

from .wiegand import LAYOUTS, WiegandFormat


class RuleError(ValueError):
    """A rule set that is inconsistent: a duplicate id or a reference to nothing."""


def _minutes(value: Any) -> Any:
    if isinstance(value, str):
        match = re.fullmatch(r"(\d{1,2}):(\d{2})", value)
        if not match:
            raise ValueError(f"time of day {value!r} is not HH:MM")
        hours, minutes = int(match[1]), int(match[2])
        if minutes > 59 or hours > 24 or (hours == 24 and minutes):
            raise ValueError(f"time of day {value!r} is out of range (00:00-24:00)")
        return hours * 60 + minutes
    return value


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


# Minutes after local midnight; written as "HH:MM", where "24:00" is the end of the day.
MinuteOfDay = Annotated[
    int,
    BeforeValidator(_minutes),
    Field(ge=0, le=24 * 60),
    PlainSerializer(_hhmm, return_type=str),
]

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.utcoffset() is None:
        raise ValueError("datetimes in rules must carry a UTC offset")
    return value


AwareDatetime = Annotated[datetime, AfterValidator(_aware)]
Id = Annotated[str, Field(min_length=1, max_length=100)]


class RuleModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TimeWindow(RuleModel):
    """``start`` inclusive, ``end`` exclusive, in the site's local time."""

    start: MinuteOfDay
    end: MinuteOfDay

    @model_validator(mode="after")
    def _ordered(self) -> TimeWindow:
        if self.start >= self.end:
            raise ValueError(
                f"window {_hhmm(self.start)}-{_hhmm(self.end)} must end after it starts "
                "(split a window that crosses midnight in two)"
            )
        return self

    def contains(self, second_of_day: int) -> bool:
        return self.start * 60 <= second_of_day < self.end * 60


class WeeklyWindow(TimeWindow):
    days: tuple[Weekday, ...] = Field(min_length=1)


class Schedule(RuleModel):
    """When a level applies. On a site holiday only ``holiday_windows`` apply (closed if none)."""

    id: Id
    windows: tuple[WeeklyWindow, ...] = ()
    holiday_windows: tuple[TimeWindow, ...] = ()


class AccessLevel(RuleModel):
    id: Id
    doors: tuple[Id, ...]
    schedule_id: Id


class CredentialEntry(RuleModel):
    """A card (format, facility, card), a PIN (``pin_hash``), or a card that also needs its PIN
    (both), held by one person.

    A card with a ``pin_hash`` opens nothing on its own: after the card is read, the holder types
    the PIN on the same reader. That PIN is the card's second factor, not a credential by itself,
    so it need not differ from other holders' PINs.
    """

    id: Id
    holder_id: Id
    format: WiegandFormat | None = None
    facility: int | None = Field(default=None, ge=0)
    card: int | None = Field(default=None, ge=0)
    pin_hash: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    levels: tuple[Id, ...] = ()
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _one_kind(self) -> CredentialEntry:
        is_card = self.format is not None or self.card is not None
        if not is_card and self.pin_hash is None:
            raise ValueError(
                "a credential is a card (format, card), a PIN (pin_hash), or a card and a PIN"
            )
        if is_card:
            if self.format is None or self.card is None:
                raise ValueError("a card credential needs format and card")
            if self.format is WiegandFormat.RAW:
                if self.facility is not None:
                    raise ValueError("a raw card has no facility code")
            else:
                layout = LAYOUTS[self.format]
                if self.facility is None or self.facility > layout.facility.maximum:
                    raise ValueError(
                        f"facility must be 0-{layout.facility.maximum} for {self.format.value}"
                    )
                if self.card > layout.card.maximum:
                    raise ValueError(
                        f"card must be 0-{layout.card.maximum} for {self.format.value}"
                    )
        if self.valid_from and self.valid_until and self.valid_from >= self.valid_until:
            raise ValueError("valid_until must be after valid_from")
        return self

    @property
    def needs_pin(self) -> bool:
        """A card that opens only together with its PIN."""
        return self.card_key is not None and self.pin_hash is not None

    @property
    def card_key(self) -> tuple[WiegandFormat, int | None, int] | None:
        if self.format is None or self.card is None:
            return None
        return (self.format, self.facility, self.card)


class DoorMode(StrEnum):
    LOCKED = "locked"  # card access only
    SCHEDULED_UNLOCK = "scheduled_unlock"  # free access during the unlock schedule
    LOCKDOWN = "lockdown"  # nobody but the door's lockdown levels


class TwoPersonRule(RuleModel):
    """The door opens only for two different valid holders within ``window_s`` seconds."""

    window_s: int = Field(ge=1, le=600)


class FirstPersonIn(RuleModel):
    """The scheduled unlock starts only after a holder of one of ``levels`` is let in that day.

    With ``others_wait``, everyone else is refused until then (a supervisor opens the room).
    """

    levels: tuple[Id, ...] = Field(min_length=1)
    others_wait: bool = False


class Door(RuleModel):
    id: Id
    mode: DoorMode = DoorMode.LOCKED
    unlock_schedule_id: Id | None = None
    two_person: TwoPersonRule | None = None
    first_person_in: FirstPersonIn | None = None
    lockdown_levels: tuple[Id, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Door:
        if self.mode is DoorMode.SCHEDULED_UNLOCK and self.unlock_schedule_id is None:
            raise ValueError(f"door {self.id}: scheduled_unlock needs unlock_schedule_id")
        if self.first_person_in and self.unlock_schedule_id is None:
            raise ValueError(f"door {self.id}: first_person_in needs an unlock schedule")
        return self


class Reader(RuleModel):
    """A reader on one side of a door. Passing it moves a holder from ``area_from`` to
    ``area_to``; None is outside every tracked area."""

    id: Id
    door_id: Id
    area_from: Id | None = None
    area_to: Id | None = None


class AntiPassbackMode(StrEnum):
    HARD = "hard"  # refuse a second entry without an exit (and an exit without an entry)
    SOFT = "soft"  # allow it, but flag the violation
    TIMED = "timed"  # refuse re-entry within reentry_s of the last entry, exit or not


class AntiPassbackArea(RuleModel):
    id: Id
    mode: AntiPassbackMode
    reentry_s: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _timed(self) -> AntiPassbackArea:
        if self.mode is AntiPassbackMode.TIMED and self.reentry_s <= 0:
            raise ValueError(f"area {self.id}: timed anti-passback needs reentry_s > 0")
        return self


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


class Collection(StrEnum):
    SCHEDULES = "schedules"
    LEVELS = "levels"
    DOORS = "doors"
    READERS = "readers"
    AREAS = "areas"
    CREDENTIALS = "credentials"


class RuleEntries(RuleModel):
    schedules: tuple[Schedule, ...] = ()
    levels: tuple[AccessLevel, ...] = ()
    doors: tuple[Door, ...] = ()
    readers: tuple[Reader, ...] = ()
    areas: tuple[AntiPassbackArea, ...] = ()
    credentials: tuple[CredentialEntry, ...] = ()


class RuleSnapshot(RuleEntries):
    version: int = Field(ge=1)
    site_id: Id
    timezone: Annotated[str, AfterValidator(_zone)]
    issued_at: AwareDatetime
    holidays: tuple[date, ...] = ()
    pin_salt: str = Field(default="", pattern=r"^([0-9a-f]{2})*$")
    pin_iterations: int = Field(default=100_000, ge=1)

    @model_validator(mode="after")
    def _references(self) -> RuleSnapshot:
        check_references(self)
        return self


class RuleDelta(RuleModel):
    """Version ``base_version`` + this = version ``base_version + 1``."""

    base_version: int = Field(ge=1)
    version: int
    issued_at: AwareDatetime
    holidays: tuple[date, ...] | None = None  # replaces the holiday list when given
    added: RuleEntries = RuleEntries()
    changed: RuleEntries = RuleEntries()
    removed: dict[Collection, tuple[Id, ...]] = {}

    @model_validator(mode="after")
    def _next(self) -> RuleDelta:
        if self.version != self.base_version + 1:
            raise ValueError("a delta moves exactly one version: version = base_version + 1")
        return self


def _ids(entries: tuple[Any, ...], what: str) -> set[str]:
    ids: set[str] = set()
    for entry in entries:
        if entry.id in ids:
            raise RuleError(f"{what}: id {entry.id!r} appears twice")
        ids.add(entry.id)
    return ids


def _require(ids: set[str], ref: str | None, where: str, what: str) -> None:
    if ref is not None and ref not in ids:
        raise RuleError(f"{where} refers to unknown {what} {ref!r}")


def check_references(snapshot: RuleEntries) -> None:
    """Raise RuleError unless ids are unique and every reference resolves."""
    schedules = _ids(snapshot.schedules, "schedules")
    levels = _ids(snapshot.levels, "levels")
    doors = _ids(snapshot.doors, "doors")
    _ids(snapshot.readers, "readers")
    _ids(snapshot.areas, "areas")
    _ids(snapshot.credentials, "credentials")
    for level in snapshot.levels:
        _require(schedules, level.schedule_id, f"level {level.id}", "schedule")
        for door_id in level.doors:
            _require(doors, door_id, f"level {level.id}", "door")
    for door in snapshot.doors:
        _require(schedules, door.unlock_schedule_id, f"door {door.id}", "schedule")
        for level_id in door.lockdown_levels:
            _require(levels, level_id, f"door {door.id}", "level")
        if door.first_person_in:
            for level_id in door.first_person_in.levels:
                _require(levels, level_id, f"door {door.id} first_person_in", "level")
    for reader in snapshot.readers:
        # A reader's areas need no entry in ``areas``: an area without anti-passback is still
        # tracked, so that turning anti-passback on later starts from known locations.
        _require(doors, reader.door_id, f"reader {reader.id}", "door")
    cards: set[tuple[WiegandFormat, int | None, int]] = set()
    pins: set[str] = set()
    for credential in snapshot.credentials:
        for level_id in credential.levels:
            _require(levels, level_id, f"credential {credential.id}", "level")
        key = credential.card_key
        if key is not None:
            if key in cards:
                raise RuleError(
                    f"credential {credential.id}: card {key[0].value} {key[1]}/{key[2]} "
                    "is issued twice"
                )
            cards.add(key)
        elif credential.pin_hash is not None:
            # Only a PIN that opens on its own must be unique; a card's PIN is looked up by card.
            if credential.pin_hash in pins:
                raise RuleError(f"credential {credential.id}: this PIN is already issued")
            pins.add(credential.pin_hash)


def pin_hash(pin: str, salt_hex: str, iterations: int) -> str:
    """The hash a snapshot stores for a PIN (PBKDF2-HMAC-SHA256 with the site's salt).

    This keeps PINs out of the snapshot in clear; it cannot stop a brute-force search of a
    4-6 digit space by someone who holds the snapshot, so the snapshot stays a secret too.
    """
    if not pin.isdigit():
        raise ValueError("a PIN is digits only")
    digest = hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt_hex), iterations)
    return digest.hex()
