"""Read-side queries of the alarm console: what needs attention, and which rule decides."""

from __future__ import annotations

import zoneinfo
from datetime import datetime, time

from django.db.models import Q, QuerySet

from mailwarden.directory.models import Site
from mailwarden.incidents.models import Alarm, AlarmRule, AlarmSource, RuleAction


def needing_attention() -> QuerySet[Alarm]:
    """Alarms still to deal with, the most severe and newest first: not acknowledged yet, or an
    access condition still going on (a door still forced open after someone acknowledged it).
    The door board lists its access alarms by the same rule, so both show the same ones."""
    going_on = Q(source=AlarmSource.ACCESS, cleared_at__isnull=True)
    return (
        Alarm.objects.filter(Q(acknowledged_at__isnull=True) | going_on)
        .select_related("site")
        .order_by("-severity", "-last_seen", "-id")
    )


def in_window(at: time, starts_at: time | None, ends_at: time | None) -> bool:
    """Whether a wall-clock time falls in ``[starts_at, ends_at)``; the window may wrap
    midnight, and a missing end means all day from the start (a missing start, from midnight)."""
    if starts_at is None and ends_at is None:
        return True
    start = starts_at or time(0, 0)
    if ends_at is None:
        return at >= start
    if start <= ends_at:
        return start <= at < ends_at
    return at >= start or at < ends_at


def matching_rule(
    alarm_type: str, site: Site | None, severity: int, at: datetime
) -> AlarmRule | None:
    """The first active rule for an alarm of this type, site and severity raised at ``at``;
    the time of day is read in the site's time zone (UTC without a site)."""
    rules = AlarmRule.objects.filter(active=True, min_severity__lte=severity).filter(
        Q(alarm_type="") | Q(alarm_type=alarm_type)
    )
    rules = rules.filter(Q(site__isnull=True) | Q(site=site)) if site else rules.filter(site=None)
    zone = zoneinfo.ZoneInfo(site.timezone if site else "UTC")
    local = at.astimezone(zone).time()
    for rule in rules.order_by("position", "id"):
        if in_window(local, rule.starts_at, rule.ends_at):
            return rule
    return None


def decide(
    alarm_type: str, site: Site | None, severity: int, at: datetime
) -> tuple[AlarmRule | None, RuleAction]:
    rule = matching_rule(alarm_type, site, severity, at)
    return rule, RuleAction(rule.action) if rule else RuleAction.LOG
