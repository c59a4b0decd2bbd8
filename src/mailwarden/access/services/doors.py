"""Edge controllers, anti-passback areas, doors and their readers."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from mailwarden.access import queries
from mailwarden.access.models import (
    AccessController,
    AntiPassbackArea,
    AreaMode,
    Direction,
    Door,
    FailMode,
    Mode,
    Reader,
    Schedule,
)
from mailwarden.access.services.common import (
    ENROL_CONTROLLERS,
    LOCKDOWN,
    MANAGE_ACCESS,
    authorise,
    check_choice,
    check_seconds,
    rule_changed,
)
from mailwarden.contracts import events
from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, ServiceError
from mailwarden.core.roles import Role
from mailwarden.core.services import IssuedToken, issue_token, revoke_device_tokens
from mailwarden.core.validation import check_slug, check_text
from mailwarden.directory.models import Site

MAX_UNLOCK_S = 300
MAX_HELD_OPEN_S = 3600
MAX_TWO_PERSON_S = 600


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
    site: str,
    fail_mode: str = FailMode.FAIL_SECURE,
    offline_after_s: int = 60,
) -> Enrolment:
    """Enrol a controller at the site with code ``site``: its device token and sync secret."""
    authorise(actor, "enrolling an access controller", ENROL_CONTROLLERS)
    at = queries.site_named(site)
    name = check_slug(name, "name")
    check_choice(fail_mode, FailMode, "fail_mode")
    check_seconds(offline_after_s, "offline_after_s", 10, 86_400)
    with transaction.atomic():
        if AccessController.objects.filter(name=name).exists():
            raise Conflict(f"a controller named {name!r} exists already", "name")
        issued = _device_token(actor, name)
        secret = secrets.token_hex(32)
        controller = AccessController.objects.create(
            name=name,
            site=at,
            sync_secret=secret,
            fail_mode=fail_mode,
            offline_after_s=offline_after_s,
            token_prefix=issued.token.prefix,
            created_at=clock.now(),
        )
        rule_changed(
            actor,
            at,
            events.ControllerCreated,
            "controller",
            name,
            token=issued.token.prefix,
            fail_mode=fail_mode,
        )
    return Enrolment(controller, issued.secret, secret)


def rekey_controller(actor: Actor, name: str, *, reason: str) -> Enrolment:
    """Replace the device token and sync secret of controller ``name``, as after an edge box
    was exposed.

    Every token issued to the controller is revoked, so the old box can neither sync nor report
    until it is given the new pair; its stored rules no longer verify either.
    """
    authorise(actor, "re-keying an access controller", ENROL_CONTROLLERS)
    found = queries.controller_named(name)
    reason = check_text(reason, "reason", max_length=200, required=True)
    with transaction.atomic():
        controller = AccessController.objects.select_for_update().get(pk=found.pk)
        old = revoke_device_tokens(actor, controller.name)
        issued = _device_token(actor, controller.name)
        controller.sync_secret = secrets.token_hex(32)
        controller.token_prefix = issued.token.prefix
        controller.save(update_fields=["sync_secret", "token_prefix"])
        rule_changed(
            actor,
            controller.site,
            events.ControllerRekeyed,
            "controller",
            controller.name,
            token=issued.token.prefix,
            revoked_tokens=old,
            reason=reason,
        )
    return Enrolment(controller, issued.secret, controller.sync_secret)


# ----------------------------------------------------------------------------- areas and doors


def create_area(
    actor: Actor, *, site: str, code: str, mode: str, reentry_s: int = 0, name: str = ""
) -> AntiPassbackArea:
    authorise(actor, "creating an anti-passback area")
    at = queries.site_named(site)
    code = check_slug(code, "code")
    name = check_text(name, "name", max_length=100)
    check_choice(mode, AreaMode, "mode")
    check_seconds(reentry_s, "reentry_s", 0, 86_400)
    if mode == AreaMode.TIMED and reentry_s <= 0:
        raise ServiceError("timed anti-passback needs a re-entry time above 0", "reentry_s")
    with transaction.atomic():
        if AntiPassbackArea.objects.filter(site=at, code=code).exists():
            raise Conflict(f"area {code!r} exists already at {at.code}", "code")
        area = AntiPassbackArea.objects.create(
            site=at, code=code, name=name, mode=mode, reentry_s=reentry_s
        )
        rule_changed(actor, at, events.AreaCreated, "area", f"{at.code}/{code}", mode=mode)
    return area


@dataclass
class DoorData:
    """A new door at the site with code ``site``. ``location`` and the areas are codes at that
    site; ``unlock_schedule_id`` is the id of one of its schedules."""

    site: str
    code: str
    name: str = ""
    location: str | None = None
    mode: str = Mode.LOCKED
    unlock_schedule_id: int | None = None
    unlock_s: int = 5
    held_open_s: int = 30
    fail_mode: str = FailMode.FAIL_SECURE
    area_outside: str | None = None
    area_inside: str | None = None


def _check_mode(mode: str, schedule: Schedule | None) -> None:
    check_choice(mode, Mode, "mode")
    if mode == Mode.SCHEDULED_UNLOCK and schedule is None:
        raise ServiceError("a door unlocked on a schedule needs the schedule", "unlock_schedule_id")


def _schedule(site: Site, pk: int | None, field_name: str) -> Schedule | None:
    return None if pk is None else queries.schedule_at(site, pk, field_name)


def _area(site: Site, code: str | None, field_name: str) -> AntiPassbackArea | None:
    return None if code is None else queries.area_at(site, code, field_name)


def create_door(actor: Actor, data: DoorData) -> Door:
    authorise(actor, "creating a door")
    site = queries.site_named(data.site)
    location = None if data.location is None else queries.location_at(site, data.location)
    unlock_schedule = _schedule(site, data.unlock_schedule_id, "unlock_schedule_id")
    area_outside = _area(site, data.area_outside, "area_outside")
    area_inside = _area(site, data.area_inside, "area_inside")
    code = check_slug(data.code, "code")
    name = check_text(data.name, "name", max_length=120)
    _check_mode(data.mode, unlock_schedule)
    check_choice(data.fail_mode, FailMode, "fail_mode")
    check_seconds(data.unlock_s, "unlock_s", 1, MAX_UNLOCK_S)
    check_seconds(data.held_open_s, "held_open_s", 1, MAX_HELD_OPEN_S)
    if area_inside is not None and area_inside == area_outside:
        raise ServiceError("the areas on either side of a door must differ", "area_inside")
    with transaction.atomic():
        if Door.objects.filter(site=site, code=code).exists():
            raise Conflict(f"door {code!r} exists already at {site.code}", "code")
        door = Door.objects.create(
            site=site,
            code=code,
            name=name,
            location=location,
            mode=data.mode,
            unlock_schedule=unlock_schedule,
            unlock_s=data.unlock_s,
            held_open_s=data.held_open_s,
            fail_mode=data.fail_mode,
            area_outside=area_outside,
            area_inside=area_inside,
        )
        rule_changed(
            actor,
            site,
            events.DoorCreated,
            "door",
            f"{site.code}/{code}",
            mode=data.mode,
            location=location.code if location else None,
        )
    return door


def set_door_mode(
    actor: Actor, site: str, door: str, mode: str, *, unlock_schedule_id: int | None = None
) -> Door:
    """Locked, unlocked on a schedule (``unlock_schedule_id``, or the door's own), or locked
    down (this door alone). ``door`` is its code at the site with code ``site``."""
    authorise(actor, "changing a door's mode", LOCKDOWN if mode == Mode.LOCKDOWN else MANAGE_ACCESS)
    at = queries.site_named(site)
    found = queries.door_at(at, door)
    unlock_schedule = _schedule(at, unlock_schedule_id, "unlock_schedule_id")
    with transaction.atomic():
        found = Door.objects.select_for_update().get(pk=found.pk)
        schedule = unlock_schedule or found.unlock_schedule
        _check_mode(mode, schedule)
        if found.first_person_levels.exists() and schedule is None:
            raise ServiceError("first-person-in needs an unlock schedule", "unlock_schedule_id")
        found.mode, found.unlock_schedule = mode, schedule
        found.save(update_fields=["mode", "unlock_schedule"])
        rule_changed(
            actor,
            at,
            events.DoorModeChanged,
            "door",
            f"{at.code}/{found.code}",
            mode=mode,
            schedule=schedule.pk if schedule else None,
        )
    return found


def set_door_rules(
    actor: Actor,
    site: str,
    door: str,
    *,
    two_person_window_s: int | None = None,
    first_person_level_ids: Sequence[int] = (),
    first_person_others_wait: bool = False,
    lockdown_level_ids: Sequence[int] = (),
) -> Door:
    """The door's special rules: two-person, first-person-in, and who passes a lockdown. The
    levels are ids of levels at the door's site."""
    authorise(actor, "changing a door's rules")
    at = queries.site_named(site)
    found = queries.door_at(at, door)
    first_levels = queries.levels_with_ids(first_person_level_ids, "first_person_level_ids", at)
    lockdown_levels = queries.levels_with_ids(lockdown_level_ids, "lockdown_level_ids", at)
    if two_person_window_s is not None:
        check_seconds(two_person_window_s, "two_person_window_s", 1, MAX_TWO_PERSON_S)
    if first_person_others_wait and not first_levels:
        raise ServiceError("others can only wait for a first person", "first_person_level_ids")
    with transaction.atomic():
        found = Door.objects.select_for_update().get(pk=found.pk)
        if first_levels and found.unlock_schedule_id is None:
            raise ServiceError(
                "first-person-in starts a scheduled unlock; give the door an unlock schedule",
                "first_person_level_ids",
            )
        found.two_person_window_s = two_person_window_s
        found.first_person_others_wait = first_person_others_wait
        found.save(update_fields=["two_person_window_s", "first_person_others_wait"])
        found.first_person_levels.set(first_levels)
        found.lockdown_levels.set(lockdown_levels)
        rule_changed(
            actor,
            at,
            events.DoorRulesChanged,
            "door",
            f"{at.code}/{found.code}",
            two_person_window_s=two_person_window_s,
            first_person_levels=sorted(lv.pk for lv in first_levels),
            lockdown_levels=sorted(lv.pk for lv in lockdown_levels),
        )
    return found


def create_reader(
    actor: Actor,
    *,
    controller: str,
    door: str,
    code: str,
    osdp_address: int,
    direction: str = Direction.IN,
    name: str = "",
) -> Reader:
    """A reader on controller ``controller`` (its name) at door ``door`` (its code at the
    controller's site)."""
    authorise(actor, "adding a reader")
    wired_to = queries.controller_named(controller, "controller")
    at = queries.door_at(wired_to.site, door)
    code = check_slug(code, "code")
    name = check_text(name, "name", max_length=120)
    check_choice(direction, Direction, "direction")
    if isinstance(osdp_address, bool) or not isinstance(osdp_address, int):
        raise ServiceError("must be a whole number", "osdp_address")
    # 0x7F is OSDP's broadcast address; a reader cannot be configured there.
    if not 0 <= osdp_address <= 126:
        raise ServiceError("an OSDP address is 0 to 126", "osdp_address")
    with transaction.atomic():
        if Reader.objects.filter(controller=wired_to, code=code).exists():
            raise Conflict(f"controller {wired_to.name} has a reader {code!r} already", "code")
        if Reader.objects.filter(controller=wired_to, osdp_address=osdp_address).exists():
            raise Conflict(
                f"controller {wired_to.name} has a reader at OSDP address {osdp_address}",
                "osdp_address",
            )
        reader = Reader.objects.create(
            controller=wired_to,
            door=at,
            code=code,
            name=name,
            osdp_address=osdp_address,
            direction=direction,
        )
        rule_changed(
            actor,
            at.site,
            events.ReaderCreated,
            "reader",
            f"{wired_to.name}/{code}",
            door=at.code,
            osdp_address=osdp_address,
            direction=direction,
        )
    return reader
