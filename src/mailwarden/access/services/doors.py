"""Edge controllers, anti-passback areas, doors and their readers."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from mailwarden.access.models import (
    AccessController,
    AccessLevel,
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
    check_same_site,
    check_seconds,
    check_slug,
    check_text,
    rule_changed,
)
from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, ServiceError
from mailwarden.core.roles import Role
from mailwarden.core.services import IssuedToken, issue_token, revoke_device_tokens
from mailwarden.custody.models import Location, Site

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
    site: Site,
    fail_mode: str = FailMode.FAIL_SECURE,
    offline_after_s: int = 60,
) -> Enrolment:
    authorise(actor, "enrolling an access controller", ENROL_CONTROLLERS)
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
            site=site,
            sync_secret=secret,
            fail_mode=fail_mode,
            offline_after_s=offline_after_s,
            token_prefix=issued.token.prefix,
            created_at=clock.now(),
        )
        rule_changed(
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
    authorise(actor, "re-keying an access controller", ENROL_CONTROLLERS)
    reason = check_text(reason, "reason", max_length=200, required=True)
    with transaction.atomic():
        controller = AccessController.objects.select_for_update().get(pk=controller.pk)
        old = revoke_device_tokens(actor, controller.name)
        issued = _device_token(actor, controller.name)
        controller.sync_secret = secrets.token_hex(32)
        controller.token_prefix = issued.token.prefix
        controller.save(update_fields=["sync_secret", "token_prefix"])
        rule_changed(
            actor,
            controller.site,
            "access.controller.rekey",
            "controller",
            controller.name,
            {"token": issued.token.prefix, "revoked_tokens": old, "reason": reason},
        )
    return Enrolment(controller, issued.secret, controller.sync_secret)


# ----------------------------------------------------------------------------- areas and doors


def create_area(
    actor: Actor, *, site: Site, code: str, mode: str, reentry_s: int = 0, name: str = ""
) -> AntiPassbackArea:
    authorise(actor, "creating an anti-passback area")
    code = check_slug(code, "code")
    name = check_text(name, "name", max_length=100)
    check_choice(mode, AreaMode, "mode")
    check_seconds(reentry_s, "reentry_s", 0, 86_400)
    if mode == AreaMode.TIMED and reentry_s <= 0:
        raise ServiceError("timed anti-passback needs a re-entry time above 0", "reentry_s")
    with transaction.atomic():
        if AntiPassbackArea.objects.filter(site=site, code=code).exists():
            raise Conflict(f"area {code!r} exists already at {site.code}", "code")
        area = AntiPassbackArea.objects.create(
            site=site, code=code, name=name, mode=mode, reentry_s=reentry_s
        )
        rule_changed(
            actor, site, "access.area.create", "area", f"{site.code}/{code}", {"mode": mode}
        )
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
    check_choice(mode, Mode, "mode")
    if mode == Mode.SCHEDULED_UNLOCK and schedule is None:
        raise ServiceError("a door unlocked on a schedule needs the schedule", "unlock_schedule")


def create_door(actor: Actor, data: DoorData) -> Door:
    authorise(actor, "creating a door")
    site = data.site
    code = check_slug(data.code, "code")
    name = check_text(data.name, "name", max_length=120)
    _check_mode(data.mode, data.unlock_schedule)
    check_choice(data.fail_mode, FailMode, "fail_mode")
    check_seconds(data.unlock_s, "unlock_s", 1, MAX_UNLOCK_S)
    check_seconds(data.held_open_s, "held_open_s", 1, MAX_HELD_OPEN_S)
    for field_name in ("location", "unlock_schedule", "area_outside", "area_inside"):
        check_same_site(site, getattr(data, field_name), field_name)
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
        rule_changed(
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
    authorise(actor, "changing a door's mode", LOCKDOWN if mode == Mode.LOCKDOWN else MANAGE_ACCESS)
    with transaction.atomic():
        door = Door.objects.select_for_update().get(pk=door.pk)
        schedule = unlock_schedule or door.unlock_schedule
        _check_mode(mode, schedule)
        check_same_site(door.site, schedule, "unlock_schedule")
        if door.first_person_levels.exists() and schedule is None:
            raise ServiceError("first-person-in needs an unlock schedule", "unlock_schedule")
        door.mode, door.unlock_schedule = mode, schedule
        door.save(update_fields=["mode", "unlock_schedule"])
        rule_changed(
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
    authorise(actor, "changing a door's rules")
    if two_person_window_s is not None:
        check_seconds(two_person_window_s, "two_person_window_s", 1, MAX_TWO_PERSON_S)
    for field_name, levels in (
        ("first_person_levels", first_person_levels),
        ("lockdown_levels", lockdown_levels),
    ):
        for level in levels:
            check_same_site(door.site, level, field_name)
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
        rule_changed(
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
    authorise(actor, "adding a reader")
    code = check_slug(code, "code")
    name = check_text(name, "name", max_length=120)
    check_choice(direction, Direction, "direction")
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
        rule_changed(
            actor,
            door.site,
            "access.reader.create",
            "reader",
            f"{controller.name}/{code}",
            {"door": door.code, "osdp_address": osdp_address, "direction": direction},
        )
    return reader
