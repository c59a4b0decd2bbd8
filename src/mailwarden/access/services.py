"""Every change to access-control data is one function here (DESIGN rule 1).

Each takes an explicit actor, validates, writes, appends to the ledger and emits its domain event
in one transaction. Every change that an edge controller's rules depend on also bumps the site's
rules version (:func:`_bump`), which is how controllers learn on their next poll that their rules
must be rebuilt. Syncing rules and ingesting events, the two things a controller does, are here
too (:func:`sync_rules`, :func:`ingest_events`); :func:`check_controllers` is the periodic job
that notices a controller that stopped syncing.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from pydantic import ValidationError

from mailwarden.access import snapshots
from mailwarden.access.models import (
    AccessAlarm,
    AccessController,
    AccessEvent,
    AccessLevel,
    AlarmKind,
    AntiPassbackArea,
    AreaMode,
    CardFormat,
    Cardholder,
    Credential,
    CredentialKind,
    Direction,
    Door,
    FailMode,
    HolderKind,
    Holiday,
    Mode,
    PinPolicy,
    Reader,
    RulePublication,
    Schedule,
    SiteRules,
)
from mailwarden.contracts import access as contract
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.api import clean_text
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.core.services import IssuedToken, issue_token, revoke_device_tokens
from mailwarden.core.tasks import periodic
from mailwarden.custody.models import Location, LocationKind, Recipient, Site
from mailwarden.edge import wiegand
from mailwarden.edge.decisions import Reason
from mailwarden.edge.rules import TimeWindow, WeeklyWindow, pin_hash
from mailwarden.edge.signing import DocumentKind, sign_document

log = logging.getLogger(__name__)

# Who may do what. Admin passes every check (Actor.has).
MANAGE_ACCESS = (Role.SECURITY_MANAGER,)
# Revoking only ever takes access away, so the operator on duty can do it for a lost card.
REVOKE_CREDENTIALS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
LOCKDOWN = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
HANDLE_ALARMS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
VIEW_ACCESS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR)
# Enrolling a controller issues a device token, which only an administrator may do.
ENROL_CONTROLLERS: tuple[Role, ...] = ()

MAX_DB_INT = 2**31 - 1
MAX_UNLOCK_S = 300
MAX_HELD_OPEN_S = 3600
MAX_TWO_PERSON_S = 600
MAX_RAW_BITS = 63  # a raw frame's value must fit the card column (a signed 64-bit integer)
PIN_DIGITS = (4, 12)
# Invalid attempts are counted over these decisions; a two-person door's first badge is valid.
NOT_INVALID = {Reason.TWO_PERSON_WAITING.value}


def _refuse_devices(actor: Actor, what: str) -> None:
    # Device tokens carry an operator's role so they can sync; that must not let a stolen
    # controller's token change rules or lock a site down.
    if actor.kind == "device":
        raise Forbidden(f"{what} is not for a device token", "Authorization")


def _manage(actor: Actor, what: str, roles: Sequence[Role] = MANAGE_ACCESS) -> None:
    _refuse_devices(actor, what)
    require(actor, roles, what)


def _text(value: str, field_name: str, *, max_length: int, required: bool = False) -> str:
    value = (value or "").strip()
    try:
        clean_text(value)
    except ValueError as exc:
        raise ServiceError(str(exc), field_name) from None
    if required and not value:
        raise ServiceError("must not be empty", field_name)
    if len(value) > max_length:
        raise ServiceError(f"must be at most {max_length} characters", field_name)
    return value


def _slug(value: str, field_name: str) -> str:
    value = _text(value, field_name, max_length=100, required=True)
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        raise ServiceError("use only letters, digits, '-' and '_'", field_name)
    return value


def _seconds(value: int, field_name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServiceError(f"must be a whole number of seconds from {low} to {high}", field_name)
    return value


def _same_site(site: Site, obj: Any, field_name: str) -> None:
    if obj is not None and obj.site_id != site.pk:
        raise ServiceError(f"{obj} belongs to another site", field_name)


def _choice(value: str, choices: type[Any], field_name: str) -> str:
    if value not in choices.values:
        raise ServiceError(
            f"unknown value {value!r}; choose one of {', '.join(choices.values)}", field_name
        )
    return value


def _aware(value: datetime | None, field_name: str) -> datetime | None:
    if value is None:
        return None
    if value.utcoffset() is None:
        raise ServiceError("must carry a time zone or UTC offset", field_name)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ServiceError("is outside the range of dates that can be stored", field_name) from None


# ----------------------------------------------------------------------------- rule versions


def site_rules(site: Site, *, lock: bool = False) -> SiteRules:
    query = SiteRules.objects.select_for_update() if lock else SiteRules.objects
    rules, _ = query.get_or_create(site=site)
    return rules


def _bump(site: Site) -> int:
    """Move the site's rules version on; every controller there rebuilds on its next poll."""
    rules = site_rules(site, lock=True)
    rules.version += 1
    rules.save(update_fields=["version"])
    return rules.version


def _changed(
    actor: Actor,
    site: Site,
    action: str,
    subject_type: str,
    subject_id: str,
    data: dict[str, Any] | None = None,
) -> None:
    """The tail of every rule change: version bump, ledger entry, domain event."""
    version = _bump(site)
    payload = {"site": site.code, "rules_version": version, **(data or {})}
    ledger.append(actor, action, subject_type, subject_id, payload)
    outbox.emit(action, {"subject": f"{subject_type}:{subject_id}", **payload})


# ----------------------------------------------------------------------------- controllers


@dataclass(frozen=True)
class Enrolment:
    """A new controller with its secrets; neither secret can be shown again."""

    controller: AccessController
    token: str
    sync_secret: str


def _device_token(actor: Actor, controller_name: str) -> IssuedToken:
    # An operator's role lets it sync; the device scope keeps it to the sync operations.
    return issue_token(
        actor,
        name=f"access controller {controller_name}",
        role=Role.SECURITY_OPERATOR.value,
        device=controller_name,
    )


def create_controller(
    actor: Actor,
    *,
    name: str,
    site: Site,
    fail_mode: str = FailMode.FAIL_SECURE,
    offline_after_s: int = 60,
) -> Enrolment:
    _manage(actor, "enrolling an access controller", ENROL_CONTROLLERS)
    name = _slug(name, "name")
    _choice(fail_mode, FailMode, "fail_mode")
    _seconds(offline_after_s, "offline_after_s", 10, 86_400)
    with transaction.atomic():
        if AccessController.objects.filter(name=name).exists():
            raise Conflict(f"a controller named {name!r} exists already", "name")
        issued = _device_token(actor, name)
        secret = secrets.token_hex(32)
        controller = AccessController.objects.create(
            name=name,
            site=site,
            sync_secret=secret,
            fail_mode=fail_mode,
            offline_after_s=offline_after_s,
            token_prefix=issued.token.prefix,
            created_at=clock.now(),
        )
        _changed(
            actor,
            site,
            "access.controller.create",
            "controller",
            name,
            {"token": issued.token.prefix, "fail_mode": fail_mode},
        )
    return Enrolment(controller, issued.secret, secret)


def rekey_controller(actor: Actor, controller: AccessController, *, reason: str) -> Enrolment:
    """Replace a controller's device token and sync secret, as after an edge box was exposed.

    Every token issued to the controller is revoked, so the old box can neither sync nor report
    until it is given the new pair; its stored rules no longer verify either.
    """
    _manage(actor, "re-keying an access controller", ENROL_CONTROLLERS)
    reason = _text(reason, "reason", max_length=200, required=True)
    with transaction.atomic():
        controller = AccessController.objects.select_for_update().get(pk=controller.pk)
        old = revoke_device_tokens(actor, controller.name)
        issued = _device_token(actor, controller.name)
        controller.sync_secret = secrets.token_hex(32)
        controller.token_prefix = issued.token.prefix
        controller.save(update_fields=["sync_secret", "token_prefix"])
        _changed(
            actor,
            controller.site,
            "access.controller.rekey",
            "controller",
            controller.name,
            {"token": issued.token.prefix, "revoked_tokens": old, "reason": reason},
        )
    return Enrolment(controller, issued.secret, controller.sync_secret)


def _controller_of(actor: Actor, controller: AccessController, what: str) -> None:
    """Only the controller itself (or an administrator's job) may speak for a controller."""
    if actor.kind == "device":
        if actor.name != controller.name:
            raise Forbidden(f"device {actor.name!r} is not controller {controller.name}", None)
        return
    require(actor, (), what)


# ----------------------------------------------------------------------------- schedules


def _windows(raw: Iterable[Any], model: type[TimeWindow], field_name: str) -> list[dict[str, Any]]:
    out = []
    for index, window in enumerate(raw):
        try:
            parsed = model.model_validate(window)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            detail = str(first["msg"]).removeprefix("Value error, ")
            place = f"{field_name}[{index}]" + (f".{where}" if where else "")
            raise ServiceError(f"{place}: {detail}", field_name) from None
        out.append(parsed.model_dump(mode="json"))
    return out


def create_schedule(
    actor: Actor,
    *,
    site: Site,
    name: str,
    windows: Iterable[Any],
    holiday_windows: Iterable[Any] = (),
) -> Schedule:
    """``windows``: ``{"days": ["mon", ...], "start": "08:00", "end": "18:00"}`` in site time."""
    _manage(actor, "creating a schedule")
    name = _text(name, "name", max_length=100, required=True)
    weekly = _windows(windows, WeeklyWindow, "windows")
    holidays = _windows(holiday_windows, TimeWindow, "holiday_windows")
    with transaction.atomic():
        if Schedule.objects.filter(site=site, name=name).exists():
            raise Conflict(f"a schedule named {name!r} exists already at {site.code}", "name")
        schedule = Schedule.objects.create(
            site=site, name=name, windows=weekly, holiday_windows=holidays
        )
        _changed(actor, site, "access.schedule.create", "schedule", str(schedule.pk))
    return schedule


def update_schedule(
    actor: Actor,
    schedule: Schedule,
    *,
    windows: Iterable[Any],
    holiday_windows: Iterable[Any] = (),
) -> Schedule:
    _manage(actor, "changing a schedule")
    weekly = _windows(windows, WeeklyWindow, "windows")
    holidays = _windows(holiday_windows, TimeWindow, "holiday_windows")
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
        schedule.windows, schedule.holiday_windows = weekly, holidays
        schedule.save(update_fields=["windows", "holiday_windows"])
        _changed(actor, schedule.site, "access.schedule.update", "schedule", str(schedule.pk))
    return schedule


def add_holiday(actor: Actor, *, site: Site, day: date, name: str = "") -> Holiday:
    _manage(actor, "adding a holiday")
    name = _text(name, "name", max_length=100)
    with transaction.atomic():
        if Holiday.objects.filter(site=site, date=day).exists():
            raise Conflict(f"{day.isoformat()} is already a holiday at {site.code}", "date")
        holiday = Holiday.objects.create(site=site, date=day, name=name)
        _changed(actor, site, "access.holiday.add", "holiday", f"{site.code}/{day.isoformat()}")
    return holiday


def remove_holiday(actor: Actor, *, site: Site, day: date) -> None:
    _manage(actor, "removing a holiday")
    with transaction.atomic():
        deleted, _ = Holiday.objects.filter(site=site, date=day).delete()
        if not deleted:
            raise NotFound(f"{day.isoformat()} is not a holiday at {site.code}", "date")
        _changed(actor, site, "access.holiday.remove", "holiday", f"{site.code}/{day.isoformat()}")


# ----------------------------------------------------------------------------- areas and doors


def create_area(
    actor: Actor, *, site: Site, code: str, mode: str, reentry_s: int = 0, name: str = ""
) -> AntiPassbackArea:
    _manage(actor, "creating an anti-passback area")
    code = _slug(code, "code")
    name = _text(name, "name", max_length=100)
    _choice(mode, AreaMode, "mode")
    _seconds(reentry_s, "reentry_s", 0, 86_400)
    if mode == AreaMode.TIMED and reentry_s <= 0:
        raise ServiceError("timed anti-passback needs a re-entry time above 0", "reentry_s")
    with transaction.atomic():
        if AntiPassbackArea.objects.filter(site=site, code=code).exists():
            raise Conflict(f"area {code!r} exists already at {site.code}", "code")
        area = AntiPassbackArea.objects.create(
            site=site, code=code, name=name, mode=mode, reentry_s=reentry_s
        )
        _changed(actor, site, "access.area.create", "area", f"{site.code}/{code}", {"mode": mode})
    return area


@dataclass
class DoorData:
    site: Site
    code: str
    name: str = ""
    location: Location | None = None
    mode: str = Mode.LOCKED
    unlock_schedule: Schedule | None = None
    unlock_s: int = 5
    held_open_s: int = 30
    fail_mode: str = FailMode.FAIL_SECURE
    area_outside: AntiPassbackArea | None = None
    area_inside: AntiPassbackArea | None = None


def _check_mode(mode: str, schedule: Schedule | None) -> None:
    _choice(mode, Mode, "mode")
    if mode == Mode.SCHEDULED_UNLOCK and schedule is None:
        raise ServiceError("a door unlocked on a schedule needs the schedule", "unlock_schedule")


def create_door(actor: Actor, data: DoorData) -> Door:
    _manage(actor, "creating a door")
    site = data.site
    code = _slug(data.code, "code")
    name = _text(data.name, "name", max_length=120)
    _check_mode(data.mode, data.unlock_schedule)
    _choice(data.fail_mode, FailMode, "fail_mode")
    _seconds(data.unlock_s, "unlock_s", 1, MAX_UNLOCK_S)
    _seconds(data.held_open_s, "held_open_s", 1, MAX_HELD_OPEN_S)
    for field_name in ("location", "unlock_schedule", "area_outside", "area_inside"):
        _same_site(site, getattr(data, field_name), field_name)
    if data.area_inside is not None and data.area_inside == data.area_outside:
        raise ServiceError("the areas on either side of a door must differ", "area_inside")
    with transaction.atomic():
        if Door.objects.filter(site=site, code=code).exists():
            raise Conflict(f"door {code!r} exists already at {site.code}", "code")
        door = Door.objects.create(
            site=site,
            code=code,
            name=name,
            location=data.location,
            mode=data.mode,
            unlock_schedule=data.unlock_schedule,
            unlock_s=data.unlock_s,
            held_open_s=data.held_open_s,
            fail_mode=data.fail_mode,
            area_outside=data.area_outside,
            area_inside=data.area_inside,
        )
        _changed(
            actor,
            site,
            "access.door.create",
            "door",
            f"{site.code}/{code}",
            {"mode": data.mode, "location": data.location.code if data.location else None},
        )
    return door


def set_door_mode(
    actor: Actor, door: Door, mode: str, *, unlock_schedule: Schedule | None = None
) -> Door:
    """Locked, unlocked on ``unlock_schedule``, or locked down (this door alone)."""
    _manage(actor, "changing a door's mode", LOCKDOWN if mode == Mode.LOCKDOWN else MANAGE_ACCESS)
    with transaction.atomic():
        door = Door.objects.select_for_update().get(pk=door.pk)
        schedule = unlock_schedule or door.unlock_schedule
        _check_mode(mode, schedule)
        _same_site(door.site, schedule, "unlock_schedule")
        if door.first_person_levels.exists() and schedule is None:
            raise ServiceError("first-person-in needs an unlock schedule", "unlock_schedule")
        door.mode, door.unlock_schedule = mode, schedule
        door.save(update_fields=["mode", "unlock_schedule"])
        _changed(
            actor,
            door.site,
            "access.door.mode",
            "door",
            f"{door.site.code}/{door.code}",
            {"mode": mode, "schedule": schedule.pk if schedule else None},
        )
    return door


def set_door_rules(
    actor: Actor,
    door: Door,
    *,
    two_person_window_s: int | None = None,
    first_person_levels: Sequence[AccessLevel] = (),
    first_person_others_wait: bool = False,
    lockdown_levels: Sequence[AccessLevel] = (),
) -> Door:
    """The door's special rules: two-person, first-person-in, and who passes a lockdown."""
    _manage(actor, "changing a door's rules")
    if two_person_window_s is not None:
        _seconds(two_person_window_s, "two_person_window_s", 1, MAX_TWO_PERSON_S)
    for field_name, levels in (
        ("first_person_levels", first_person_levels),
        ("lockdown_levels", lockdown_levels),
    ):
        for level in levels:
            _same_site(door.site, level, field_name)
    if first_person_others_wait and not first_person_levels:
        raise ServiceError("others can only wait for a first person", "first_person_levels")
    with transaction.atomic():
        door = Door.objects.select_for_update().get(pk=door.pk)
        if first_person_levels and door.unlock_schedule is None:
            raise ServiceError(
                "first-person-in starts a scheduled unlock; give the door an unlock schedule",
                "first_person_levels",
            )
        door.two_person_window_s = two_person_window_s
        door.first_person_others_wait = first_person_others_wait
        door.save(update_fields=["two_person_window_s", "first_person_others_wait"])
        door.first_person_levels.set(first_person_levels)
        door.lockdown_levels.set(lockdown_levels)
        _changed(
            actor,
            door.site,
            "access.door.rules",
            "door",
            f"{door.site.code}/{door.code}",
            {
                "two_person_window_s": two_person_window_s,
                "first_person_levels": sorted(lv.pk for lv in first_person_levels),
                "lockdown_levels": sorted(lv.pk for lv in lockdown_levels),
            },
        )
    return door


def create_reader(
    actor: Actor,
    *,
    controller: AccessController,
    door: Door,
    code: str,
    osdp_address: int,
    direction: str = Direction.IN,
    name: str = "",
) -> Reader:
    _manage(actor, "adding a reader")
    code = _slug(code, "code")
    name = _text(name, "name", max_length=120)
    _choice(direction, Direction, "direction")
    if isinstance(osdp_address, bool) or not isinstance(osdp_address, int):
        raise ServiceError("must be a whole number", "osdp_address")
    # 0x7F is OSDP's broadcast address; a reader cannot be configured there.
    if not 0 <= osdp_address <= 126:
        raise ServiceError("an OSDP address is 0 to 126", "osdp_address")
    if door.site_id != controller.site_id:
        raise ServiceError(f"door {door.code} is not at the controller's site", "door")
    with transaction.atomic():
        if Reader.objects.filter(controller=controller, code=code).exists():
            raise Conflict(f"controller {controller.name} has a reader {code!r} already", "code")
        if Reader.objects.filter(controller=controller, osdp_address=osdp_address).exists():
            raise Conflict(
                f"controller {controller.name} has a reader at OSDP address {osdp_address}",
                "osdp_address",
            )
        reader = Reader.objects.create(
            controller=controller,
            door=door,
            code=code,
            name=name,
            osdp_address=osdp_address,
            direction=direction,
        )
        _changed(
            actor,
            door.site,
            "access.reader.create",
            "reader",
            f"{controller.name}/{code}",
            {"door": door.code, "osdp_address": osdp_address, "direction": direction},
        )
    return reader


# ----------------------------------------------------------------------------- levels


def create_level(
    actor: Actor, *, site: Site, name: str, schedule: Schedule, doors: Sequence[Door] = ()
) -> AccessLevel:
    _manage(actor, "creating an access level")
    name = _text(name, "name", max_length=100, required=True)
    _same_site(site, schedule, "schedule")
    for door in doors:
        _same_site(site, door, "doors")
    with transaction.atomic():
        if AccessLevel.objects.filter(site=site, name=name).exists():
            raise Conflict(f"an access level named {name!r} exists already", "name")
        level = AccessLevel.objects.create(site=site, name=name, schedule=schedule)
        level.doors.set(doors)
        _changed(
            actor,
            site,
            "access.level.create",
            "level",
            str(level.pk),
            {"name": name, "schedule": schedule.pk, "doors": sorted(d.code for d in doors)},
        )
    return level


def set_level(
    actor: Actor, level: AccessLevel, *, schedule: Schedule, doors: Sequence[Door]
) -> AccessLevel:
    _manage(actor, "changing an access level")
    _same_site(level.site, schedule, "schedule")
    for door in doors:
        _same_site(level.site, door, "doors")
    with transaction.atomic():
        level = AccessLevel.objects.select_for_update().get(pk=level.pk)
        level.schedule = schedule
        level.save(update_fields=["schedule"])
        level.doors.set(doors)
        _changed(
            actor,
            level.site,
            "access.level.update",
            "level",
            str(level.pk),
            {"schedule": schedule.pk, "doors": sorted(d.code for d in doors)},
        )
    return level


# ----------------------------------------------------------------------------- cardholders


def create_cardholder(
    actor: Actor,
    *,
    name: str = "",
    kind: str = HolderKind.STAFF,
    recipient: Recipient | None = None,
    user_id: int | None = None,
    company: str = "",
) -> Cardholder:
    """A person to issue credentials to; ``name`` defaults to the linked recipient's."""
    _manage(actor, "adding a cardholder")
    _choice(kind, HolderKind, "kind")
    name = _text(name, "name", max_length=150) or (recipient.display_name if recipient else "")
    if not name:
        raise ServiceError("a cardholder needs a name (or a linked recipient)", "name")
    company = _text(company, "company", max_length=120)
    user = None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None:
            raise ServiceError(f"no user with id {user_id}", "user")
    with transaction.atomic():
        holder = Cardholder.objects.create(
            name=name,
            kind=kind,
            recipient=recipient,
            user=user,
            company=company,
            created_at=clock.now(),
        )
        ledger.append(
            actor,
            "access.cardholder.create",
            "cardholder",
            str(holder.pk),
            {
                "kind": kind,
                "recipient": recipient.employee_id if recipient else None,
                "user": user.get_username() if user else None,
            },
        )
        outbox.emit("access.cardholder.create", {"cardholder": holder.pk, "kind": kind})
    return holder


def update_cardholder(
    actor: Actor, holder: Cardholder, *, name: str, kind: str, company: str = ""
) -> Cardholder:
    """Correct a cardholder's name, kind or company. Each change is on the ledger, old and new;
    credentials and links to the directory stay as they are."""
    _manage(actor, "changing a cardholder")
    _choice(kind, HolderKind, "kind")
    wanted = {
        "name": _text(name, "name", max_length=150, required=True),
        "kind": kind,
        "company": _text(company, "company", max_length=120),
    }
    with transaction.atomic():
        holder = Cardholder.objects.select_for_update().get(pk=holder.pk)
        changed = {f: [getattr(holder, f), v] for f, v in wanted.items() if getattr(holder, f) != v}
        if not changed:
            return holder
        for field_name, (_, value) in changed.items():
            setattr(holder, field_name, value)
        holder.save(update_fields=list(changed))
        ledger.append(
            actor, "access.cardholder.update", "cardholder", str(holder.pk), {"changed": changed}
        )
        outbox.emit(
            "access.cardholder.update", {"cardholder": holder.pk, "fields": sorted(changed)}
        )
    return holder


# ----------------------------------------------------------------------------- credentials


@dataclass
class CredentialData:
    """A card is ``format`` + ``facility`` + ``card`` (``bit_length`` for raw), or ``bits``
    as read by an enrolment reader ("0101..."); a PIN is ``pin``; card + PIN is both."""

    holder: Cardholder
    kind: str = CredentialKind.CARD
    format: str | None = None
    facility: int | None = None
    card: int | None = None
    bit_length: int | None = None
    bits: str | None = None
    pin: str | None = None
    levels: Sequence[AccessLevel] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True)
class CardNumber:
    format: str
    facility: int | None
    card: int
    bit_length: int


def _int_or_none(value: Any, field_name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ServiceError("must be a whole number, 0 or more", field_name)
    return value


def parse_card(
    fmt: str | None,
    facility: int | None,
    card: int | None,
    bit_length: int | None = None,
    bits: str | None = None,
) -> CardNumber:
    """Check a card number against its Wiegand format with the edge's own encoder."""
    if bits:
        return _card_from_bits(bits, fmt)
    if not fmt:
        raise ServiceError("a card needs its format", "format")
    _choice(fmt, CardFormat, "format")
    facility = _int_or_none(facility, "facility")
    card = _int_or_none(card, "card")
    bit_length = _int_or_none(bit_length, "bit_length")
    if card is None:
        raise ServiceError("a card needs its card number", "card")
    if fmt == CardFormat.RAW:
        if facility is not None:
            raise ServiceError("a raw card has no facility code", "facility")
        if bit_length is None or not 1 <= bit_length <= MAX_RAW_BITS:
            raise ServiceError(
                f"a raw card needs its length, 1 to {MAX_RAW_BITS} bits", "bit_length"
            )
        if card >= 1 << bit_length:
            raise ServiceError(f"does not fit in {bit_length} bits", "card")
        wiegand.encode(fmt, None, card, length=bit_length)
        return CardNumber(fmt, None, card, bit_length)
    layout = wiegand.LAYOUTS[wiegand.WiegandFormat(fmt)]
    if bit_length is not None and bit_length != layout.length:
        raise ServiceError(f"{fmt} cards have {layout.length} bits", "bit_length")
    if facility is None or facility > layout.facility.maximum:
        raise ServiceError(
            f"the facility code must be 0 to {layout.facility.maximum} for {fmt}", "facility"
        )
    if card > layout.card.maximum:
        raise ServiceError(f"the card number must be 0 to {layout.card.maximum} for {fmt}", "card")
    wiegand.encode(fmt, facility, card)
    return CardNumber(fmt, facility, card, layout.length)


def _card_from_bits(bits: str, fmt: str | None) -> CardNumber:
    bits = bits.strip()
    if not bits or set(bits) - {"0", "1"}:
        raise ServiceError("write the frame as 0s and 1s, first bit first", "bits")
    if fmt is not None:
        _choice(fmt, CardFormat, "format")
    if fmt == CardFormat.RAW and len(bits) > MAX_RAW_BITS:
        raise ServiceError(f"a raw card is at most {MAX_RAW_BITS} bits", "bits")
    try:
        decoded = wiegand.decode(int(bits, 2), len(bits), format=fmt)
    except wiegand.WiegandError as exc:
        raise ServiceError(str(exc), "bits") from None
    return CardNumber(decoded.format.value, decoded.facility, decoded.card, len(bits))


PIN_ITERATIONS = 100_000


def ensure_pin_policy(actor: Actor) -> PinPolicy:
    """The installation's PIN salt, made (and recorded on the ledger) by its first user.

    Every PIN hash, here and at the edge, uses it; it never changes once made, because that
    would void every PIN issued.
    """
    with transaction.atomic():
        policy = PinPolicy.objects.filter(id=1).first()
        if policy is not None:
            return policy
        policy, created = PinPolicy.objects.get_or_create(
            id=1, defaults={"salt": secrets.token_hex(16), "iterations": PIN_ITERATIONS}
        )
        if created:
            # The salt goes to every controller, but the ledger has no need of it.
            ledger.append(
                actor,
                "access.pin_policy.create",
                "pin_policy",
                "1",
                {"iterations": policy.iterations},
            )
    return policy


def _check_pin(pin: str | None) -> str:
    low, high = PIN_DIGITS
    if pin is None or not pin.isascii() or not pin.isdigit() or not low <= len(pin) <= high:
        raise ServiceError(f"a PIN is {low} to {high} digits", "pin")
    return pin


def _pin_hash(actor: Actor, pin: str) -> str:
    policy = ensure_pin_policy(actor)
    return pin_hash(pin, policy.salt, policy.iterations)


def issue_credential(actor: Actor, data: CredentialData) -> Credential:
    """Issue a card, a PIN or both. Visitors' and contractors' credentials must expire."""
    _manage(actor, "issuing a credential")
    _choice(data.kind, CredentialKind, "kind")
    card = pin = None
    if data.kind in (CredentialKind.CARD, CredentialKind.CARD_AND_PIN):
        card = parse_card(data.format, data.facility, data.card, data.bit_length, data.bits)
    elif any(v is not None for v in (data.format, data.card, data.bits)):
        raise ServiceError("a PIN credential has no card; use kind card_pin for both", "kind")
    if data.kind in (CredentialKind.PIN, CredentialKind.CARD_AND_PIN):
        pin = _check_pin(data.pin)
    elif data.pin is not None:
        raise ServiceError("a card credential has no PIN; use kind card_pin for both", "pin")
    valid_from = _aware(data.valid_from, "valid_from")
    valid_until = _aware(data.valid_until, "valid_until")
    if valid_from and valid_until and valid_from >= valid_until:
        raise ServiceError("must be after valid_from", "valid_until")
    holder = data.holder
    temporary = holder.kind != HolderKind.STAFF
    if temporary and valid_until is None:
        raise ServiceError(
            f"a {holder.get_kind_display().lower()}'s credential needs an end date", "valid_until"
        )
    for level in data.levels:
        if not isinstance(level, AccessLevel):
            raise ServiceError("unknown access level", "levels")
    with transaction.atomic():
        if pin is not None:
            # In the transaction: a refused credential leaves no PIN policy behind either.
            pin = _pin_hash(actor, pin)
        live = Credential.objects.filter(revoked_at__isnull=True)
        if (
            card is not None
            and live.filter(format=card.format, facility=card.facility, card=card.card).exists()
        ):
            raise Conflict("this card is already issued; revoke it first", "card")
        if data.kind == CredentialKind.PIN and live.filter(kind="pin", pin_hash=pin).exists():
            # Saying so tells the issuer that someone holds this PIN; a PIN that opens a door
            # on its own has to be unique, so the alternative is a PIN the door cannot place.
            raise Conflict("this PIN is taken; choose another", "pin")
        credential = Credential.objects.create(
            holder=holder,
            kind=data.kind,
            format=card.format if card else "",
            facility=card.facility if card else None,
            card=card.card if card else None,
            bit_length=card.bit_length if card else None,
            pin_hash=pin or "",
            valid_from=valid_from,
            valid_until=valid_until,
            temporary=temporary,
            issued_at=clock.now(),
        )
        credential.levels.set(data.levels)
        sites = {lv.site for lv in data.levels}
        for site in sorted(sites, key=lambda s: s.pk):
            _bump(site)
        payload = {
            "holder": holder.pk,
            "kind": data.kind,
            "card": f"{card.format} {card.facility}/{card.card}" if card else None,
            "levels": sorted(lv.pk for lv in data.levels),
            "valid_until": valid_until.isoformat() if valid_until else None,
        }
        ledger.append(actor, "access.credential.issue", "credential", str(credential.pk), payload)
        outbox.emit("access.credential.issue", {"credential": credential.pk, **payload})
    return credential


def set_credential_levels(
    actor: Actor, credential: Credential, levels: Sequence[AccessLevel]
) -> Credential:
    _manage(actor, "changing a credential's access levels")
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        if credential.revoked_at is not None:
            raise Conflict("this credential is revoked", "credential")
        before = set(credential.levels.all())
        credential.levels.set(levels)
        for site in sorted({lv.site for lv in before | set(levels)}, key=lambda s: s.pk):
            _bump(site)
        payload = {"levels": sorted(lv.pk for lv in levels)}
        ledger.append(actor, "access.credential.levels", "credential", str(credential.pk), payload)
        outbox.emit("access.credential.levels", {"credential": credential.pk, **payload})
    return credential


def revoke_credential(actor: Actor, credential: Credential, *, reason: str) -> Credential:
    _manage(actor, "revoking a credential", REVOKE_CREDENTIALS)
    reason = _text(reason, "reason", max_length=200, required=True)
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=credential.pk)
        if credential.revoked_at is not None:
            raise Conflict("this credential is revoked already", "credential")
        credential.revoked_at = clock.now()
        credential.revoked_reason = reason
        credential.save(update_fields=["revoked_at", "revoked_reason"])
        for site in sorted({lv.site for lv in credential.levels.all()}, key=lambda s: s.pk):
            _bump(site)
        ledger.append(
            actor, "access.credential.revoke", "credential", str(credential.pk), {"reason": reason}
        )
        outbox.emit("access.credential.revoke", {"credential": credential.pk, "reason": reason})
    return credential


# ----------------------------------------------------------------------------- lockdown


def lockdown_site(actor: Actor, site: Site, confirm: bool, *, reason: str = "") -> SiteRules:
    """Put every door of the site in lockdown; only a door's lockdown levels still pass.

    Exit (request-to-exit) keeps working at the edge: nobody is locked in.
    """
    _manage(actor, "locking a site down", LOCKDOWN)
    if confirm is not True:
        raise ServiceError(
            f"locking down {site.name} refuses every card at every door there; confirm to go ahead",
            "confirm",
        )
    reason = _text(reason, "reason", max_length=200)
    with transaction.atomic():
        rules = site_rules(site, lock=True)
        if rules.lockdown:
            raise Conflict(f"{site.name} is in lockdown already", "site")
        rules.lockdown, rules.lockdown_at = True, clock.now()
        rules.lockdown_by, rules.lockdown_reason = actor.label, reason
        rules.save(update_fields=["lockdown", "lockdown_at", "lockdown_by", "lockdown_reason"])
        _changed(actor, site, "access.lockdown", "site", site.code, {"reason": reason})
    rules.refresh_from_db()
    return rules


def lift_lockdown(actor: Actor, site: Site, *, reason: str = "") -> SiteRules:
    _manage(actor, "lifting a lockdown", LOCKDOWN)
    reason = _text(reason, "reason", max_length=200)
    with transaction.atomic():
        rules = site_rules(site, lock=True)
        if not rules.lockdown:
            raise Conflict(f"{site.name} is not in lockdown", "site")
        since = rules.lockdown_at
        rules.lockdown, rules.lockdown_at, rules.lockdown_by, rules.lockdown_reason = (
            False,
            None,
            "",
            "",
        )
        rules.save(update_fields=["lockdown", "lockdown_at", "lockdown_by", "lockdown_reason"])
        _changed(
            actor,
            site,
            "access.lockdown.lift",
            "site",
            site.code,
            {"reason": reason, "since": since.isoformat() if since else None},
        )
    rules.refresh_from_db()
    return rules


def set_alarm_thresholds(
    actor: Actor, site: Site, *, invalid_attempts: int, window_s: int
) -> SiteRules:
    """How many refused presentations at one reader, within how long, raise an alarm."""
    _manage(actor, "changing alarm thresholds")
    _seconds(invalid_attempts, "invalid_attempts", 2, 1000)
    _seconds(window_s, "window_s", 10, 86_400)
    with transaction.atomic():
        rules = site_rules(site, lock=True)
        rules.invalid_attempts_limit, rules.invalid_attempts_window_s = invalid_attempts, window_s
        rules.save(update_fields=["invalid_attempts_limit", "invalid_attempts_window_s"])
        data = {"invalid_attempts": invalid_attempts, "window_s": window_s}
        ledger.append(actor, "access.alarm.thresholds", "site", site.code, data)
        outbox.emit("access.alarm.thresholds", {"site": site.code, **data})
    return rules


# ----------------------------------------------------------------------------- rule sync


@dataclass(frozen=True)
class RulesAnswer:
    """What a poll gets: nothing new, or a signed snapshot or delta (``document``)."""

    version: int
    document: bytes | None = None
    kind: DocumentKind | None = None

    @property
    def up_to_date(self) -> bool:
        return self.document is None


KEEP_PUBLICATIONS = 50


def sync_rules(
    actor: Actor, controller: AccessController, since: int | None, now: datetime | None = None
) -> RulesAnswer:
    """Answer a controller's poll, publishing a new rule version first if the rules changed.

    Versions are the controller's own and step by one per published change, because a
    ``RuleDelta`` moves exactly one version: a controller that was current at its last poll is
    always one delta away, however many changes the site saw in between. A controller holding
    an older version, or none, gets the full snapshot.
    """
    _controller_of(actor, controller, "syncing a controller's rules")
    now = now or clock.now()
    if since is not None and not 0 <= since < MAX_DB_INT:
        raise ServiceError(f"must be 0 to {MAX_DB_INT - 1}", "since")
    with transaction.atomic():
        ctl = (
            AccessController.objects.select_for_update()
            .select_related("site")
            .get(pk=controller.pk)
        )
        ctl.last_seen_at = now
        # Read before building, so a change committed while building is rebuilt next time.
        site_version = site_rules(ctl.site).version
        latest = ctl.publications.order_by("-version").first()
        stale = latest is None or ctl.built_site_version != site_version
        ahead = since is not None and since > (latest.version if latest else 0)
        if stale or ahead:
            latest = _publish(actor, ctl, latest, site_version, since if ahead else None, now)
            ctl.built_site_version = site_version
        ctl.save(update_fields=["last_seen_at", "built_site_version"])
        _clear_alarms(ctl.site, AlarmKind.CONTROLLER_OFFLINE, now, controller=ctl)
        if latest is not None and since == latest.version:
            _clear_alarms(ctl.site, AlarmKind.RULES_REJECTED, now, controller=ctl)
    assert latest is not None
    if since == latest.version:
        return RulesAnswer(latest.version)
    secret = bytes.fromhex(ctl.sync_secret)
    base = None
    if since is not None and since == latest.version - 1:
        base = ctl.publications.filter(version=since).first()
    delta = snapshots.delta(base.snapshot, latest.snapshot) if base is not None else None
    if delta is not None:
        return RulesAnswer(
            latest.version,
            sign_document(DocumentKind.DELTA, delta, secret, ctl.name),
            DocumentKind.DELTA,
        )
    return RulesAnswer(
        latest.version,
        sign_document(DocumentKind.SNAPSHOT, latest.snapshot, secret, ctl.name),
        DocumentKind.SNAPSHOT,
    )


def _publish(
    actor: Actor,
    ctl: AccessController,
    latest: RulePublication | None,
    site_version: int,
    claimed: int | None,
    now: datetime,
) -> RulePublication:
    """A new publication when the content changed (or the controller claims a version beyond
    the last one, as after restoring the server from a backup: its engine accepts only a newer
    version, so the next one starts above what it holds)."""
    current = latest.version if latest else 0
    built = snapshots.build_snapshot(
        ctl, ensure_pin_policy(actor), version=max(current, claimed or 0) + 1, issued_at=now
    )
    content_hash = snapshots.content_hash(built)
    if latest is not None and claimed is None and content_hash == latest.content_hash:
        return latest
    publication = RulePublication.objects.create(
        controller=ctl,
        version=built.version,
        site_version=site_version,
        content_hash=content_hash,
        snapshot=built.model_dump(mode="json"),
        created_at=now,
    )
    keep_from = publication.version - KEEP_PUBLICATIONS + 1
    RulePublication.objects.filter(controller=ctl, version__lt=keep_from).delete()
    data = {
        "version": publication.version,
        "site_version": site_version,
        "content_hash": content_hash,
        "credentials": len(built.credentials),
    }
    if claimed is not None:
        data["controller_claimed"] = claimed
    ledger.append(actor, "access.rules.publish", "controller", ctl.name, data)
    outbox.emit("access.rules.publish", {"controller": ctl.name, **data})
    return publication


# ----------------------------------------------------------------------------- alarms


def _raise_alarm(
    actor: Actor,
    site: Site,
    kind: AlarmKind,
    occurred_at: datetime,
    now: datetime,
    *,
    detail: str,
    controller: AccessController | None = None,
    door: Door | None = None,
    reader: Reader | None = None,
    event: AccessEvent | None = None,
) -> AccessAlarm:
    alarm = AccessAlarm.objects.create(
        site=site,
        kind=kind,
        controller=controller,
        door=door,
        reader=reader,
        event=event,
        occurred_at=occurred_at,
        raised_at=now,
        detail=detail[:300],
    )
    payload = {
        "alarm": alarm.pk,
        "kind": kind.value,
        "site": site.code,
        "controller": controller.name if controller else None,
        "door": door.code if door else None,
        "reader": reader.code if reader else None,
        "occurred_at": occurred_at.isoformat(),
        "detail": alarm.detail,
    }
    ledger.append(actor, "access.alarm", "access_alarm", str(alarm.pk), payload, at=now)
    outbox.emit("access.alarm", payload)
    return alarm


def _open_alarm(kind: AlarmKind, **where: Any) -> AccessAlarm | None:
    return AccessAlarm.objects.filter(kind=kind, cleared_at__isnull=True, **where).first()


def _clear_alarms(site: Site, kind: AlarmKind, now: datetime, **where: Any) -> int:
    """Mark the condition over; operators still acknowledge the alarm."""
    alarms = list(AccessAlarm.objects.filter(kind=kind, cleared_at__isnull=True, **where))
    for alarm in alarms:
        alarm.cleared_at = now
        alarm.save(update_fields=["cleared_at"])
        outbox.emit(
            "access.alarm.cleared", {"alarm": alarm.pk, "kind": kind.value, "site": site.code}
        )
    return len(alarms)


def acknowledge_alarm(actor: Actor, alarm: AccessAlarm, *, note: str = "") -> AccessAlarm:
    _manage(actor, "acknowledging an alarm", HANDLE_ALARMS)
    note = _text(note, "note", max_length=500)
    with transaction.atomic():
        alarm = AccessAlarm.objects.select_for_update().get(pk=alarm.pk)
        if alarm.acknowledged_at is not None:
            raise Conflict("this alarm is acknowledged already", "alarm")
        alarm.acknowledged_at, alarm.acknowledged_by, alarm.note = clock.now(), actor.label, note
        alarm.save(update_fields=["acknowledged_at", "acknowledged_by", "note"])
        ledger.append(
            actor, "access.alarm.acknowledge", "access_alarm", str(alarm.pk), {"note": note}
        )
        outbox.emit("access.alarm.acknowledged", {"alarm": alarm.pk, "by": actor.label})
    return alarm


@periodic("access.check_controllers")
def check_controllers(now: datetime) -> int:
    """Raise a controller-offline alarm for each controller silent for longer than allowed."""
    actor = Actor.job("access.check_controllers")
    raised = 0
    for ctl in AccessController.objects.select_related("site"):
        last = ctl.last_seen_at or ctl.created_at
        if now - last <= timedelta(seconds=ctl.offline_after_s):
            continue
        with transaction.atomic():
            if _open_alarm(AlarmKind.CONTROLLER_OFFLINE, controller=ctl) is not None:
                continue
            silent = int((now - last).total_seconds())
            _raise_alarm(
                actor,
                ctl.site,
                AlarmKind.CONTROLLER_OFFLINE,
                last,
                now,
                detail=f"no sync from {ctl.name} for {silent} s (limit {ctl.offline_after_s} s)",
                controller=ctl,
            )
            raised += 1
    return raised


# ----------------------------------------------------------------------------- ingestion


@dataclass
class IngestResult:
    applied: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[str | None, str]] = field(default_factory=list)


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ingest_events(
    actor: Actor,
    controller: AccessController,
    batch: Sequence[Any],
    now: datetime | None = None,
) -> IngestResult:
    """Apply a batch of edge events, each exactly once (by its key), each on its own.

    ``batch`` holds the raw items (``{"key", "type", "event"}``); an item that cannot be read,
    or whose time is too far ahead of ours, is rejected with the reason and the rest still apply.
    """
    _controller_of(actor, controller, "sending a controller's events")
    now = now or clock.now()
    if len(batch) > contract.MAX_BATCH:
        raise ServiceError(f"at most {contract.MAX_BATCH} events per batch", "events")
    result = IngestResult()
    parsed: list[tuple[str, uuid.UUID, str, contract.EdgeEvent, dict[str, Any]]] = []
    for item in batch:
        raw_key = _raw_key(item)
        try:
            key, kind, event, raw = _parse(item, now)
        except _Rejected as exc:
            result.rejected.append((raw_key, exc.reason))
            continue
        parsed.append((raw_key or str(key), key, kind, event, raw))
    known = set(
        AccessEvent.objects.filter(key__in=[p[1] for p in parsed]).values_list("key", flat=True)
    )
    with transaction.atomic():
        ctl = AccessController.objects.select_related("site").get(pk=controller.pk)
        context = _Context(actor, ctl, now)
        for raw_key, key, kind, event, raw in parsed:
            if key in known:
                result.duplicates.append(raw_key)
                continue
            try:
                with transaction.atomic():
                    _apply(context, key, kind, event, raw)
            except IntegrityError:
                # Normally the same key arriving in another request that committed first; a
                # duplicate is marked delivered at the edge, so anything else must not pass as one.
                if AccessEvent.objects.filter(key=key).exists():
                    result.duplicates.append(raw_key)
                else:
                    log.exception("access event %s from %s broke a constraint", key, ctl.name)
                    result.rejected.append(
                        (raw_key, "the server could not store it; send it again")
                    )
                continue
            except Exception:
                log.exception("access event %s from %s could not be applied", key, ctl.name)
                result.rejected.append((raw_key, "the server failed to apply it; send it again"))
                continue
            known.add(key)
            result.applied.append(raw_key)
        AccessController.objects.filter(pk=ctl.pk).update(last_seen_at=now)
        _clear_alarms(ctl.site, AlarmKind.CONTROLLER_OFFLINE, now, controller=ctl)
    return result


def _raw_key(item: Any) -> str | None:
    if isinstance(item, Mapping):
        key = item.get("key")
        if isinstance(key, str):
            return key[:100]
    return None


def _check_strings(value: Any, where: str) -> None:
    if isinstance(value, str):
        try:
            clean_text(value)
        except ValueError as exc:
            raise _Rejected(f"{where}: {exc}") from None
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _check_strings(k, where)
            _check_strings(v, f"{where}.{k}")
    elif isinstance(value, list):
        for index, v in enumerate(value):
            _check_strings(v, f"{where}[{index}]")


# Ids and reasons land in columns of these lengths.
_LIMITS = {
    "reader_id": 100,
    "door_id": 100,
    "holder_id": 100,
    "credential_id": 100,
    "companion_id": 100,
    "reason": 100,
    "kind": 100,
    "error": 100,
    "source": 100,
}


def _parse(item: Any, now: datetime) -> tuple[uuid.UUID, str, contract.EdgeEvent, dict[str, Any]]:
    if not isinstance(item, Mapping):
        raise _Rejected("an event must be a JSON object with key, type and event")
    try:
        envelope = contract.EventEnvelope.model_validate(item)
    except ValidationError as exc:
        raise _Rejected(_describe(exc)) from None
    model = contract.EVENT_MODELS.get(envelope.type)
    if model is None:
        known = ", ".join(sorted(contract.EVENT_MODELS))
        raise _Rejected(f"type: unknown event type {envelope.type!r}; known: {known}")
    _check_strings(envelope.event, "event")
    try:
        event = model.model_validate(envelope.event)
    except ValidationError as exc:
        raise _Rejected(_describe(exc, "event")) from None
    for name, limit in _LIMITS.items():
        value = getattr(event, name, None)
        if isinstance(value, str) and len(value) > limit:
            raise _Rejected(f"event.{name}: longer than {limit} characters")
    version = getattr(event, "snapshot_version", None)
    if version is not None and not 0 <= version <= MAX_DB_INT:
        raise _Rejected(f"event.snapshot_version: must be 0 to {MAX_DB_INT}")
    occurred = event.occurred_at
    if occurred.utcoffset() is None:
        raise _Rejected("event.occurred_at: must carry a UTC offset")
    try:
        occurred = occurred.astimezone(UTC)
    except OverflowError:
        raise _Rejected("event.occurred_at: out of range") from None
    ahead = (occurred - now).total_seconds()
    if ahead > contract.MAX_FUTURE_SKEW_S:
        raise _Rejected(
            f"clock skew: occurred_at is {ahead:.0f} s ahead of the server clock "
            f"({now.isoformat()}; at most {contract.MAX_FUTURE_SKEW_S} s allowed); "
            "check the controller's time"
        )
    return envelope.key, envelope.type, event, envelope.event


def _describe(exc: ValidationError, prefix: str = "") -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
    message = str(first["msg"]).removeprefix("Value error, ")
    more = exc.error_count() - 1
    return f"{where or 'event'}: {message}" + (f" (and {more} more)" if more else "")


class _Context:
    """Lookups shared by the events of one batch."""

    def __init__(self, actor: Actor, ctl: AccessController, now: datetime) -> None:
        self.actor, self.ctl, self.now = actor, ctl, now
        self.site = ctl.site
        self.readers = {
            r.code: r for r in Reader.objects.filter(controller=ctl).select_related("door")
        }
        self.doors = {
            d.code: d for d in Door.objects.filter(site=ctl.site).select_related("location")
        }
        self.rules = site_rules(ctl.site)
        self._holders: dict[int, Cardholder | None] = {}
        self._credentials: dict[int, Credential | None] = {}

    def holder(self, ref: str | None) -> Cardholder | None:
        pk = _pk(ref, snapshots.HOLDER)
        if pk is None:
            return None
        if pk not in self._holders:
            self._holders[pk] = Cardholder.objects.filter(pk=pk).first()
        return self._holders[pk]

    def credential(self, ref: str | None) -> Credential | None:
        pk = _pk(ref, snapshots.CREDENTIAL)
        if pk is None:
            return None
        if pk not in self._credentials:
            self._credentials[pk] = Credential.objects.filter(pk=pk).first()
        return self._credentials[pk]


def _pk(ref: str | None, prefix: str) -> int | None:
    if ref and ref.startswith(prefix) and ref[len(prefix) :].isdigit():
        value = int(ref[len(prefix) :])
        return value if value <= 2**63 - 1 else None
    return None


def _apply(
    ctx: _Context, key: uuid.UUID, kind: str, event: contract.EdgeEvent, raw: dict[str, Any]
) -> None:
    reader_ref = getattr(event, "reader_id", None) or ""
    reader = ctx.readers.get(reader_ref)
    door_ref = getattr(event, "door_id", None) or ""
    door = ctx.doors.get(door_ref) if door_ref else (reader.door if reader else None)
    row = AccessEvent(
        key=key,
        controller=ctx.ctl,
        site=ctx.site,
        type=kind,
        occurred_at=event.occurred_at.astimezone(UTC),
        received_at=ctx.now,
        reader=reader,
        reader_ref=reader_ref,
        door=door,
        door_ref=door_ref,
        payload=raw,
    )
    if isinstance(event, contract.AccessDecisionEvent):
        _fill_decision(ctx, row, event)
    elif isinstance(event, contract.CardErrorEvent):
        row.granted, row.reason = False, f"card_error:{event.error}"[:100]
    elif isinstance(event, contract.ReaderStatusEvent):
        row.reason = "online" if event.online else "offline"
    elif isinstance(event, contract.ReaderTamperEvent):
        row.reason = "tamper" if event.tampered else "tamper_restored"
    elif isinstance(event, contract.ReaderPowerEvent):
        row.reason = "power_failed" if event.failed else "power_restored"
    elif isinstance(event, contract.DoorEventRecord):
        row.reason = event.kind
    elif isinstance(event, contract.RulesRejectedEvent):
        row.reason = f"rules_rejected:{event.reason}"[:100]
    elif isinstance(event, contract.ClockSkewEvent):
        row.reason = "clock_skew" if event.exceeded else "clock_in_line"
    row.save(force_insert=True)
    _ledger_if_security_relevant(ctx, row)
    _alarms_from(ctx, row, event)
    outbox.emit(
        "access.event",
        {
            "event": row.pk,
            "type": kind,
            "site": ctx.site.code,
            "door": door.code if door else door_ref or None,
            "reader": reader_ref or None,
            "granted": row.granted,
            "reason": row.reason,
            "occurred_at": row.occurred_at.isoformat(),
        },
    )


def _fill_decision(ctx: _Context, row: AccessEvent, event: contract.AccessDecisionEvent) -> None:
    row.granted, row.reason = event.granted, event.reason
    row.snapshot_version = event.snapshot_version
    row.holder_ref = event.holder_id or ""
    row.credential_ref = event.credential_id or ""
    row.cardholder = ctx.holder(event.holder_id)
    row.companion = ctx.holder(event.companion_id)
    credential = ctx.credential(event.credential_id)
    presented = event.card
    if credential is None and presented is not None and _storable_card(presented):
        # The edge did not know the card (revoked, or never issued here): name it if we can,
        # so a lost card that is still being tried shows whose it was.
        credential = (
            Credential.objects.filter(
                format=presented.format[:12], facility=presented.facility, card=presented.card
            )
            .select_related("holder")
            .order_by("-issued_at")
            .first()
        )
    row.credential = credential
    if row.cardholder is None and credential is not None:
        row.cardholder = credential.holder


def _storable_card(card: contract.PresentedCard) -> bool:
    facility_ok = card.facility is None or 0 <= card.facility <= MAX_DB_INT
    return facility_ok and 0 <= card.card <= 2**63 - 1


def _ledger_if_security_relevant(ctx: _Context, row: AccessEvent) -> None:
    door = row.door
    action = None
    if row.type == contract.ACCESS_DECISION and door is not None and door.location is not None:
        if door.location.kind == LocationKind.QUARANTINE and row.reason not in NOT_INVALID:
            action = "access.quarantine.granted" if row.granted else "access.quarantine.denied"
    elif row.type == contract.READER_TAMPER and row.reason == "tamper":
        action = "access.tamper"
    elif row.type == contract.DOOR_EVENT and row.reason == "forced_open":
        action = "access.forced_open"
    elif row.type == contract.RULES_REJECTED:
        # A signature that does not verify may be a forged document: worth a permanent record.
        action = "access.rules_rejected"
    if action is None:
        return
    if door is not None:
        subject_type, subject_id = "door", f"{ctx.site.code}/{door.code}"
    elif row.reader_ref:
        subject_type, subject_id = "reader", f"{ctx.ctl.name}/{row.reader_ref}"
    else:
        subject_type, subject_id = "access_controller", ctx.ctl.name
    ledger.append(
        ctx.actor,
        action,
        subject_type,
        subject_id,
        {
            "event": str(row.key),
            "occurred_at": row.occurred_at.isoformat(),
            "reader": row.reader_ref or None,
            "cardholder": row.cardholder_id,
            "credential": row.credential_id,
            "companion": row.companion_id,
            "reason": row.reason,
        },
        at=ctx.now,
    )


def _alarms_from(ctx: _Context, row: AccessEvent, event: contract.EdgeEvent) -> None:
    at, now, site = row.occurred_at, ctx.now, ctx.site
    where = f"door {row.door.code}" if row.door else f"door {row.door_ref}"
    if isinstance(event, contract.DoorEventRecord):
        kinds = {"forced_open": AlarmKind.FORCED_OPEN, "held_open": AlarmKind.HELD_OPEN}
        alarm_kind = kinds.get(event.kind)
        if alarm_kind is not None and _open_alarm(alarm_kind, site=site, door=row.door) is None:
            text = "forced open" if alarm_kind is AlarmKind.FORCED_OPEN else "held open"
            _raise_alarm(
                ctx.actor,
                site,
                alarm_kind,
                at,
                now,
                detail=f"{where} {text}",
                controller=ctx.ctl,
                door=row.door,
                event=row,
            )
        elif event.kind == "closed" and row.door is not None:
            for kind in (AlarmKind.FORCED_OPEN, AlarmKind.HELD_OPEN):
                _clear_alarms(site, kind, now, door=row.door)
        return
    if isinstance(event, contract.RulesRejectedEvent | contract.ClockSkewEvent):
        _controller_condition(ctx, row, event)
        return
    reader, reader_name = row.reader, row.reader_ref
    if isinstance(event, contract.ReaderTamperEvent):
        _reader_condition(
            ctx,
            row,
            AlarmKind.TAMPER,
            event.tampered,
            f"reader {reader_name} tampered ({event.source})",
        )
        return
    if isinstance(event, contract.ReaderStatusEvent):
        _reader_condition(
            ctx,
            row,
            AlarmKind.READER_OFFLINE,
            not event.online,
            f"reader {reader_name} went offline",
        )
        return
    if row.granted is False and row.reason not in NOT_INVALID and reader is not None:
        _invalid_attempts(ctx, row)


def _controller_condition(
    ctx: _Context, row: AccessEvent, event: contract.RulesRejectedEvent | contract.ClockSkewEvent
) -> None:
    """One open alarm per controller and condition. Refused rules are over when the controller
    next polls holding the latest version; a wrong clock when the controller says it is right."""
    name = ctx.ctl.name
    if isinstance(event, contract.RulesRejectedEvent):
        kind, active = AlarmKind.RULES_REJECTED, True
        offered = "" if event.offered_version is None else f" version {event.offered_version}"
        detail = f"controller {name} refused rules{offered} ({event.reason}): {event.message}"
    else:
        kind, active = AlarmKind.CLOCK_SKEW, event.exceeded
        direction = "behind" if event.offset_s > 0 else "ahead of"
        detail = (
            f"controller {name}'s clock is {abs(event.offset_s):.0f} s {direction} the server's"
            f" (threshold {event.threshold_s:.0f} s)"
        )
    _condition(ctx, row, kind, active, detail, controller=ctx.ctl)


def _reader_condition(
    ctx: _Context, row: AccessEvent, kind: AlarmKind, active: bool, detail: str
) -> None:
    if active or row.reader is not None:
        _condition(ctx, row, kind, active, detail, reader=row.reader)


def _condition(
    ctx: _Context, row: AccessEvent, kind: AlarmKind, active: bool, detail: str, **subject: Any
) -> None:
    """Raise one alarm while the subject's condition lasts (``subject``: its reader or its
    controller); mark it over when the edge says the condition has ended."""
    if not active:
        _clear_alarms(ctx.site, kind, ctx.now, **subject)
    elif _open_alarm(kind, site=ctx.site, **subject) is None:
        _raise_alarm(
            ctx.actor,
            ctx.site,
            kind,
            row.occurred_at,
            ctx.now,
            detail=detail,
            controller=ctx.ctl,
            door=row.door,
            reader=row.reader,
            event=row,
        )


def _invalid_attempts(ctx: _Context, row: AccessEvent) -> None:
    """N refusals at one reader within M seconds: someone is trying cards or PINs."""
    limit, window_s = ctx.rules.invalid_attempts_limit, ctx.rules.invalid_attempts_window_s
    start = row.occurred_at - timedelta(seconds=window_s)
    refused = (
        AccessEvent.objects.filter(
            reader=row.reader,
            granted=False,
            occurred_at__gt=start,
            occurred_at__lte=row.occurred_at,
        )
        .exclude(reason__in=NOT_INVALID)
        .count()
    )
    if refused < limit:
        return
    # One alarm per burst: none if one was raised for this reader within the window.
    recent = AccessAlarm.objects.filter(
        kind=AlarmKind.INVALID_ATTEMPTS, reader=row.reader, occurred_at__gt=start
    ).exists()
    if recent:
        return
    assert row.reader is not None
    _raise_alarm(
        ctx.actor,
        ctx.site,
        AlarmKind.INVALID_ATTEMPTS,
        row.occurred_at,
        ctx.now,
        detail=f"{refused} refused presentations at reader {row.reader.code} within {window_s} s",
        controller=ctx.ctl,
        door=row.door,
        reader=row.reader,
        event=row,
    )
