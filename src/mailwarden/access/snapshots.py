"""Rule snapshots for one controller, built from the database, and deltas between two of them.

A controller gets only what its own readers need: their doors, the levels that open those doors
(or that a door names for first-person-in or lockdown), those levels' schedules, the doors'
anti-passback areas, and the live credentials holding one of those levels.

Ids in a snapshot: doors, readers and areas go by their codes, which the edge's own configuration
names too; levels, schedules, credentials and holders go by a letter and their database id.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from mailwarden.access.models import (
    AccessController,
    AccessLevel,
    CredentialKind,
    Direction,
    Door,
    Holiday,
    PinPolicy,
    Reader,
    Schedule,
    SiteRules,
)
from mailwarden.access.models import (
    Credential as CredentialRow,
)
from mailwarden.core import clock
from mailwarden.edge import rules as edge
from mailwarden.edge.signing import canonical_json
from mailwarden.edge.wiegand import WiegandFormat

LEVEL, SCHEDULE, CREDENTIAL, HOLDER = "L", "S", "C", "H"


def level_id(pk: int) -> str:
    return f"{LEVEL}{pk}"


def schedule_id(pk: int) -> str:
    return f"{SCHEDULE}{pk}"


def credential_id(pk: int) -> str:
    return f"{CREDENTIAL}{pk}"


def holder_id(pk: int) -> str:
    return f"{HOLDER}{pk}"


def build_snapshot(
    controller: AccessController,
    pin_policy: PinPolicy,
    *,
    version: int | None = None,
    issued_at: datetime | None = None,
) -> edge.RuleSnapshot:
    """The controller's rules as they stand. ``version`` defaults to its latest published one.

    ``pin_policy`` is the installation's PIN salt, which the edge hashes PINs with (made on first
    use by :func:`mailwarden.access.services.credentials.ensure_pin_policy`).
    """
    if version is None:
        latest = controller.publications.order_by("-version").first()
        version = latest.version if latest else 1
    site = controller.site
    rules = SiteRules.objects.filter(site=site).first()
    lockdown = bool(rules and rules.lockdown)
    readers = list(
        Reader.objects.filter(controller=controller)
        .select_related("door__area_inside", "door__area_outside")
        .order_by("code")
    )
    doors: dict[int, Door] = {r.door_id: r.door for r in readers}
    door_codes = {pk: d.code for pk, d in doors.items()}

    through = AccessLevel.doors.through.objects
    level_doors: dict[int, list[str]] = defaultdict(list)
    for level_pk, door_pk in through.filter(door_id__in=doors).values_list(
        "accesslevel_id", "door_id"
    ):
        level_doors[level_pk].append(door_codes[door_pk])
    first_levels: dict[int, list[int]] = defaultdict(list)
    for door_pk, level_pk in Door.first_person_levels.through.objects.filter(
        door_id__in=doors
    ).values_list("door_id", "accesslevel_id"):
        first_levels[door_pk].append(level_pk)
    lockdown_levels: dict[int, list[int]] = defaultdict(list)
    for door_pk, level_pk in Door.lockdown_levels.through.objects.filter(
        door_id__in=doors
    ).values_list("door_id", "accesslevel_id"):
        lockdown_levels[door_pk].append(level_pk)
    wanted_levels = set(level_doors)
    for named in (*first_levels.values(), *lockdown_levels.values()):
        wanted_levels.update(named)
    levels = list(AccessLevel.objects.filter(pk__in=wanted_levels).order_by("pk"))

    schedule_pks = {lv.schedule_id for lv in levels}
    schedule_pks.update(d.unlock_schedule_id for d in doors.values() if d.unlock_schedule_id)
    schedules = Schedule.objects.filter(pk__in=schedule_pks).order_by("pk")

    areas = {}
    for door in doors.values():
        for area in (door.area_inside, door.area_outside):
            if area is not None:
                areas[area.code] = edge.AntiPassbackArea(
                    id=area.code, mode=edge.AntiPassbackMode(area.mode), reentry_s=area.reentry_s
                )

    return edge.RuleSnapshot(
        version=version,
        site_id=site.code,
        timezone=site.timezone,
        issued_at=issued_at or clock.now(),
        holidays=tuple(
            Holiday.objects.filter(site=site).order_by("date").values_list("date", flat=True)
        ),
        pin_salt=pin_policy.salt,
        pin_iterations=pin_policy.iterations,
        schedules=tuple(
            edge.Schedule(
                id=schedule_id(s.pk), windows=s.windows, holiday_windows=s.holiday_windows
            )
            for s in schedules
        ),
        levels=tuple(
            edge.AccessLevel(
                id=level_id(lv.pk),
                doors=tuple(sorted(level_doors.get(lv.pk, ()))),
                schedule_id=schedule_id(lv.schedule_id),
            )
            for lv in levels
        ),
        doors=tuple(
            _door(d, lockdown, first_levels[pk], lockdown_levels[pk])
            for pk, d in sorted(doors.items(), key=lambda kv: kv[1].code)
        ),
        readers=tuple(_reader(r) for r in readers),
        areas=tuple(areas[code] for code in sorted(areas)),
        credentials=_credentials(wanted_levels),
    )


def _door(
    door: Door, site_lockdown: bool, first_levels: list[int], lockdown_levels: list[int]
) -> edge.Door:
    # A site lockdown overrides each door's own mode in what is sent, and leaves the mode
    # stored, so lifting it brings every door back as it was.
    mode = edge.DoorMode.LOCKDOWN if site_lockdown else edge.DoorMode(door.mode)
    return edge.Door(
        id=door.code,
        mode=mode,
        unlock_schedule_id=schedule_id(door.unlock_schedule_id)
        if door.unlock_schedule_id
        else None,
        two_person=edge.TwoPersonRule(window_s=door.two_person_window_s)
        if door.two_person_window_s
        else None,
        first_person_in=edge.FirstPersonIn(
            levels=tuple(level_id(pk) for pk in sorted(first_levels)),
            others_wait=door.first_person_others_wait,
        )
        if first_levels
        else None,
        lockdown_levels=tuple(level_id(pk) for pk in sorted(lockdown_levels)),
    )


def _reader(reader: Reader) -> edge.Reader:
    door = reader.door
    outside = door.area_outside.code if door.area_outside else None
    inside = door.area_inside.code if door.area_inside else None
    if reader.direction == Direction.OUT:
        outside, inside = inside, outside
    return edge.Reader(id=reader.code, door_id=door.code, area_from=outside, area_to=inside)


def _credentials(level_pks: set[int]) -> tuple[edge.CredentialEntry, ...]:
    through = CredentialRow.levels.through.objects
    held: dict[int, list[int]] = defaultdict(list)
    for credential_pk, level_pk in through.filter(
        accesslevel_id__in=level_pks, credential__revoked_at__isnull=True
    ).values_list("credential_id", "accesslevel_id"):
        held[credential_pk].append(level_pk)
    rows = CredentialRow.objects.filter(pk__in=held).order_by("pk")
    entries = []
    for row in rows.iterator(chunk_size=2000):
        common: dict[str, Any] = {
            "id": credential_id(row.pk),
            "holder_id": holder_id(row.holder_id),
            "levels": tuple(level_id(pk) for pk in sorted(held[row.pk])),
            "valid_from": row.valid_from.astimezone(UTC) if row.valid_from else None,
            "valid_until": row.valid_until.astimezone(UTC) if row.valid_until else None,
        }
        if row.kind == CredentialKind.PIN:
            entries.append(edge.CredentialEntry(pin_hash=row.pin_hash, **common))
            continue
        # Card + PIN: the card goes with its PIN hash, and the edge asks for the PIN after the
        # card before it opens. One without a PIN hash (never issued so) is sent disabled, so it
        # fails closed rather than opening on the card alone.
        with_pin = row.kind == CredentialKind.CARD_AND_PIN
        entries.append(
            edge.CredentialEntry(
                format=WiegandFormat(row.format),
                facility=row.facility,
                card=row.card,
                pin_hash=(row.pin_hash or None) if with_pin else None,
                enabled=not with_pin or bool(row.pin_hash),
                **common,
            )
        )
    return tuple(entries)


# ----------------------------------------------------------------------------- versions


_VOLATILE = ("version", "issued_at")
_FIXED = ("site_id", "timezone", "pin_salt", "pin_iterations")


def content_hash(snapshot: edge.RuleSnapshot) -> str:
    """A hash of what the rules say, leaving out the version and the time they were issued."""
    body = snapshot.model_dump(mode="json", exclude=set(_VOLATILE))
    return hashlib.sha256(canonical_json(body)).hexdigest()


def delta(base: dict[str, Any], target: dict[str, Any]) -> edge.RuleDelta | None:
    """The delta that turns ``base`` into ``target`` (both snapshot JSON), or None where a
    delta cannot say it: more than one version apart, or a change to the fields a delta keeps
    from its base (site, time zone, PIN salt)."""
    if target["version"] != base["version"] + 1:
        return None
    if any(base.get(name) != target.get(name) for name in _FIXED):
        return None
    added: dict[str, list[Any]] = {}
    changed: dict[str, list[Any]] = {}
    removed: dict[str, list[str]] = {}
    for collection in edge.Collection:
        name = collection.value
        old = {e["id"]: e for e in base.get(name, [])}
        new = {e["id"]: e for e in target.get(name, [])}
        added[name] = [e for i, e in new.items() if i not in old]
        changed[name] = [e for i, e in new.items() if i in old and old[i] != e]
        gone = [i for i in old if i not in new]
        if gone:
            removed[name] = gone
    holidays = target.get("holidays", [])
    return edge.RuleDelta.model_validate(
        {
            "base_version": base["version"],
            "version": target["version"],
            "issued_at": target["issued_at"],
            "holidays": holidays if holidays != base.get("holidays", []) else None,
            "added": added,
            "changed": changed,
            "removed": removed,
        }
    )
