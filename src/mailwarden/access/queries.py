"""Read-side questions about access: who went in where, the log, open alarms, device config.

Nothing here writes. Callers check the reader's role (``services.VIEW_ACCESS``) first.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Count, Max, Q, QuerySet

from mailwarden.access.models import (
    AccessAlarm,
    AccessController,
    AccessEvent,
    AccessLevel,
    AntiPassbackArea,
    Cardholder,
    Credential,
    Direction,
    Door,
    Reader,
    Schedule,
    SiteRules,
)
from mailwarden.contracts.access import ACCESS_DECISION, READER_STATUS
from mailwarden.core.errors import NotFound
from mailwarden.directory.models import Location, LocationKind, Recipient, Site


@dataclass(frozen=True)
class Entry:
    """One person passing into a room. ``with_holder`` names the other half of a two-person
    entry; ``via`` is "card" or "pin"."""

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


def who_entered(
    location_kind: str = LocationKind.QUARANTINE,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    site: Site | None = None,
) -> list[Entry]:
    """Who entered a room of this kind (the quarantine room by default), and when, oldest first.

    Counts granted decisions at doors into such a location, from entry readers or readers the
    server no longer knows (so an unknown direction is shown rather than hidden). At a
    two-person door both people are listed: the engine lets them in together.
    """
    events = (
        AccessEvent.objects.filter(
            type=ACCESS_DECISION, granted=True, door__location__kind=location_kind
        )
        .filter(Q(reader__isnull=True) | Q(reader__direction=Direction.IN))
        .select_related("door__location", "door__site", "cardholder", "companion")
        .order_by("occurred_at", "id")
    )
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    if site is not None:
        events = events.filter(site=site)
    rows = []
    for event in events:
        door = event.door
        assert door is not None and door.location is not None
        card = event.payload.get("card") if isinstance(event.payload, dict) else None
        holder = event.cardholder.name if event.cardholder else event.holder_ref or "unknown"
        companion = event.companion.name if event.companion else None
        if companion is None and event.payload.get("companion_id"):
            companion = str(event.payload["companion_id"])
        entry = Entry(
            at=event.occurred_at,
            site=door.site.code,
            door=door.code,
            door_name=str(door),
            location=door.location.name,
            reader=event.reader_ref,
            cardholder_id=event.cardholder_id,
            cardholder=holder,
            credential_id=event.credential_id,
            via="card" if card else "pin",
            reason=event.reason,
            with_holder=companion,
            event_key=str(event.key),
        )
        rows.append(entry)
        if companion is not None:
            rows.append(
                replace(
                    entry,
                    cardholder_id=event.companion_id,
                    cardholder=companion,
                    credential_id=None,
                    with_holder=holder,
                )
            )
    return rows


@dataclass(frozen=True)
class Grant:
    """A badge grant at a door's entry reader: the access event's ID, when, and how many people
    it let in (two at a two-person door, where one decision admits both)."""

    event_id: int
    at: datetime
    admits: int


def entry_grants(door: Door, since: datetime, until: datetime) -> list[Grant]:
    """The granted decisions at ``door`` from ``since`` to ``until`` (both included), oldest
    first: from its entry readers, or from a reader the server no longer knows (as
    :func:`who_entered` counts them, so a grant is never hidden for want of its reader)."""
    rows = (
        AccessEvent.objects.filter(
            type=ACCESS_DECISION,
            granted=True,
            door=door,
            occurred_at__gte=since,
            occurred_at__lte=until,
        )
        .filter(Q(reader__isnull=True) | Q(reader__direction=Direction.IN))
        .order_by("occurred_at", "id")
        .values_list("id", "occurred_at", "companion_id", "payload")
    )
    grants = []
    for pk, at, companion_id, payload in rows:
        pair = companion_id is not None or (
            isinstance(payload, dict) and bool(payload.get("companion_id"))
        )
        grants.append(Grant(event_id=pk, at=at, admits=2 if pair else 1))
    return grants


def access_log(
    *,
    site: Site | None = None,
    door_code: str | None = None,
    granted: bool | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[AccessEvent]:
    """The access log, newest first; slice it for a page."""
    events = AccessEvent.objects.select_related(
        "site", "door", "reader", "cardholder", "credential", "controller"
    )
    if site is not None:
        events = events.filter(site=site)
    if door_code:
        events = events.filter(door__code=door_code)
    if granted is not None:
        events = events.filter(granted=granted)
    if since is not None:
        events = events.filter(occurred_at__gte=since)
    if until is not None:
        events = events.filter(occurred_at__lt=until)
    return events.order_by("-occurred_at", "-id")


def open_alarms(site: Site | None = None) -> QuerySet[AccessAlarm]:
    """Alarms an operator still has to deal with: not acknowledged, or still going on."""
    alarms = AccessAlarm.objects.filter(
        Q(acknowledged_at__isnull=True) | Q(cleared_at__isnull=True)
    )
    if site is not None:
        alarms = alarms.filter(site=site)
    return alarms.select_related("site", "door", "reader", "controller").order_by("-raised_at")


@dataclass(frozen=True)
class DoorHardware:
    door_id: str
    unlock_s: int
    held_open_s: int
    fail_mode: str


@dataclass(frozen=True)
class ReaderHardware:
    reader_id: str
    door_id: str
    osdp_address: int
    direction: str


@dataclass(frozen=True)
class ControllerConfig:
    """What the edge's own configuration file needs and the rule snapshot does not carry."""

    name: str
    site: str
    fail_mode: str
    doors: tuple[DoorHardware, ...]
    readers: tuple[ReaderHardware, ...]


def controller_config(controller: AccessController) -> ControllerConfig:
    readers = list(
        Reader.objects.filter(controller=controller).select_related("door").order_by("code")
    )
    doors = {r.door.code: r.door for r in readers}
    return ControllerConfig(
        name=controller.name,
        site=controller.site.code,
        fail_mode=controller.fail_mode,
        doors=tuple(
            DoorHardware(code, d.unlock_s, d.held_open_s, d.fail_mode)
            for code, d in sorted(doors.items())
        ),
        readers=tuple(
            ReaderHardware(r.code, r.door.code, r.osdp_address, r.direction) for r in readers
        ),
    )


def site_rules(site: Site) -> SiteRules:
    """The site's rule state (version, lockdown, alarm thresholds); its defaults where nothing has
    been set yet. Nothing is written."""
    return SiteRules.objects.filter(site=site).first() or SiteRules(site=site)


def controller_named(name: str, field: str = "name") -> AccessController:
    controller = AccessController.objects.select_related("site").filter(name=name).first()
    if controller is None:
        raise NotFound(f"no controller {name!r}", field)
    return controller


# ----------------------------------------------------------------------------- lookups
# The access services name what they change by its identifier; these find it, or refuse naming
# the input (``field``) that named it.


def site_named(code: str, field: str = "site") -> Site:
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site {code!r}", field)
    return site


def door_at(site: Site, code: str, field: str = "door") -> Door:
    door = Door.objects.filter(site=site, code=code).first()
    if door is None:
        raise NotFound(f"no door {code!r} at {site.code}", field)
    return door


def doors_at(site: Site, codes: Iterable[str], field: str = "doors") -> list[Door]:
    """Each door once, in the order first named."""
    return [door_at(site, code, field) for code in dict.fromkeys(codes)]


def schedule_at(site: Site, pk: int, field: str) -> Schedule:
    schedule = Schedule.objects.filter(pk=pk, site=site).first()
    if schedule is None:
        raise NotFound(f"no schedule {pk} at {site.code}", field)
    return schedule


def area_at(site: Site, code: str, field: str) -> AntiPassbackArea:
    area = AntiPassbackArea.objects.filter(site=site, code=code).first()
    if area is None:
        raise NotFound(f"no anti-passback area {code!r} at {site.code}", field)
    return area


def location_at(site: Site, code: str, field: str = "location") -> Location:
    location = Location.objects.filter(site=site, code=code).first()
    if location is None:
        raise NotFound(f"no location {code!r} at {site.code}", field)
    return location


def levels_with_ids(ids: Iterable[int], field: str, site: Site | None = None) -> list[AccessLevel]:
    """Each level once; at ``site`` only, when one is given."""
    wanted = list(dict.fromkeys(ids))
    levels = AccessLevel.objects.filter(pk__in=wanted).select_related("site")
    if site is not None:
        levels = levels.filter(site=site)
    found = {lv.pk: lv for lv in levels}
    missing = set(wanted) - set(found)
    if missing:
        where = f" at {site.code}" if site is not None else ""
        raise NotFound(f"no access level {min(missing)}{where}", field)
    return [found[pk] for pk in wanted]


def cardholder_with_id(pk: int, field: str = "holder_id") -> Cardholder:
    holder = Cardholder.objects.filter(pk=pk).first()
    if holder is None:
        raise NotFound(f"no cardholder {pk}", field)
    return holder


def credential_with_id(pk: int, field: str = "credential_id") -> Credential:
    credential = Credential.objects.filter(pk=pk).first()
    if credential is None:
        raise NotFound(f"no credential {pk}", field)
    return credential


def recipient_with_employee_id(employee_id: str, field: str = "employee_id") -> Recipient:
    recipient = Recipient.objects.filter(employee_id=employee_id).first()
    if recipient is None:
        raise NotFound(f"no recipient with employee id {employee_id}", field)
    return recipient


# ----------------------------------------------------------------------------- for risk rules


def site_credentials(site: Site, now: datetime) -> list[tuple[Credential, datetime | None]]:
    """Credentials that open a door at the site now (not revoked, not expired), each with the
    time of its newest granted entry at the site (None: never used there)."""
    credentials = (
        Credential.objects.filter(levels__site=site, revoked_at__isnull=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("holder")
        .distinct()
        .order_by("id")
    )
    found = list(credentials)
    last_use = dict(
        AccessEvent.objects.filter(
            site=site, type=ACCESS_DECISION, granted=True, credential__in=found
        )
        .values("credential")
        .annotate(last=Max("occurred_at"))
        .values_list("credential", "last")
        .order_by()
    )
    return [(c, last_use.get(c.pk)) for c in found]


def door_alarm_counts(
    site: Site, kinds: Iterable[str], since: datetime, until: datetime
) -> list[tuple[Door, dict[str, int]]]:
    """Per door of the site, how many alarms of each of ``kinds`` were raised in the period
    (doors without any left out)."""
    rows = (
        AccessAlarm.objects.filter(
            site=site, door__isnull=False, kind__in=list(kinds), occurred_at__gte=since
        )
        .filter(occurred_at__lt=until)
        .values_list("door", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {}
    for door_id, kind, n in rows:
        counts.setdefault(door_id, {})[kind] = n
    doors = Door.objects.filter(pk__in=list(counts)).order_by("code")
    return [(door, counts[door.pk]) for door in doors]


@dataclass(frozen=True)
class ReaderChannel:
    """A reader and what its newest status report said (None: it never reported)."""

    reader: Reader
    online: bool | None
    secure: bool | None
    reported_at: datetime | None


def reader_channels(site: Site) -> list[ReaderChannel]:
    """Every reader at the site with its newest status report: online, and on Secure Channel."""
    found = []
    readers = Reader.objects.filter(door__site=site).select_related("door", "controller")
    for reader in readers.order_by("door__code", "code"):
        status = (
            # Status reports carry no decision: granted IS NULL keeps to the reader index.
            AccessEvent.objects.filter(reader=reader, granted__isnull=True, type=READER_STATUS)
            .order_by("-occurred_at", "-id")
            .only("reason", "payload", "occurred_at")
            .first()
        )
        if status is None:
            found.append(ReaderChannel(reader, None, None, None))
            continue
        found.append(
            ReaderChannel(
                reader,
                status.reason == "online",
                bool(status.payload.get("secure")),
                status.occurred_at,
            )
        )
    return found


def holders_with_access(
    site: Site, location_kind: str, now: datetime
) -> list[tuple[Cardholder, list[Door]]]:
    """Cardholders whose live credentials open a door into a room of ``location_kind`` at the
    site (e.g. the quarantine room), with those doors."""
    doors = list(Door.objects.filter(site=site, location__kind=location_kind).order_by("code"))
    credentials = (
        Credential.objects.filter(levels__doors__in=doors, revoked_at__isnull=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("holder", "holder__recipient")
        .prefetch_related("levels__doors")
        .distinct()
        .order_by("holder_id", "id")
    )
    wanted = {d.pk for d in doors}
    by_holder: dict[int, tuple[Cardholder, dict[int, Door]]] = {}
    for credential in credentials:
        _, opened = by_holder.setdefault(credential.holder_id, (credential.holder, {}))
        for level in credential.levels.all():
            for door in level.doors.all():
                if door.pk in wanted:
                    opened[door.pk] = door
    return [
        (holder, sorted(opened.values(), key=lambda d: d.code))
        for holder, opened in by_holder.values()
    ]
