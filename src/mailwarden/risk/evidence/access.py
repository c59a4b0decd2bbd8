"""Evidence from access control: doors forced or held open."""

from __future__ import annotations

from datetime import datetime

from mailwarden.access.models import AccessAlarm, AlarmKind, Door
from mailwarden.directory.models import Site
from mailwarden.risk.evidence import Measurement, measure

DOOR_ALARMS = (AlarmKind.FORCED_OPEN, AlarmKind.HELD_OPEN)


@measure("door_alarms", "Doors forced or held open", "count", {"max": 2}, ref_kind="access.door")
def door_alarms(site: Site, start: datetime, end: datetime, ref: str) -> Measurement:
    """Forced-open and held-open alarms in the period, at the site or at the linked door."""
    alarms = AccessAlarm.objects.filter(
        site=site, kind__in=list(DOOR_ALARMS), occurred_at__gte=start, occurred_at__lt=end
    )
    where = f"site {site.code}"
    if ref:
        door = Door.objects.filter(site=site, code=ref).first()
        if door is None:
            return Measurement(None, "count", f"no door {ref!r} at site {site.code}")
        alarms = alarms.filter(door=door)
        where = f"door {door.name or door.code}"
    forced = alarms.filter(kind=AlarmKind.FORCED_OPEN).count()
    held = alarms.filter(kind=AlarmKind.HELD_OPEN).count()
    return Measurement(
        float(forced + held),
        "count",
        f"{forced} forced-open and {held} held-open alarms at {where}",
        {"forced_open": forced, "held_open": held},
    )
