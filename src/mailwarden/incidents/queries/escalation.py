"""Read-side of escalation and on-call: who is on call when (the schedule maths), who a target
reaches, which policy an incident or alarm pages with, and what is still paging."""

from __future__ import annotations

import itertools
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from mailwarden.core.roles import Role
from mailwarden.directory.models import Site
from mailwarden.incidents.models import (
    Alarm,
    Escalation,
    EscalationPolicy,
    EscalationState,
    EscalationTarget,
    Incident,
    OnCallOverride,
    OnCallRotation,
    OnCallSchedule,
    PolicyMatch,
    RoleScope,
    RotationKind,
    TargetKind,
)
from mailwarden.incidents.queries.alarms import in_window

# ----------------------------------------------------------------------------- schedule maths


@dataclass(frozen=True)
class OnCall:
    """Who is on call at a moment, and why (a layer's name, or ``override``)."""

    user_id: int
    source: str


def _zone(schedule: OnCallSchedule) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(schedule.timezone)


def _local_days(rotation: OnCallRotation) -> int:
    return 7 if rotation.kind == RotationKind.WEEKLY else 1


def _handoff(day: date, at: time, zone: zoneinfo.ZoneInfo) -> datetime:
    # A wall-clock handoff on a local day: the same local time whatever the UTC offset that day.
    return datetime.combine(day, at, tzinfo=zone)


def shift_index(rotation: OnCallRotation, zone: zoneinfo.ZoneInfo, at: datetime) -> int | None:
    """Which shift of the rotation ``at`` falls in (0 is the first), or None before it starts."""
    if at < rotation.starts_at:
        return None
    if rotation.kind == RotationKind.HOURS:
        # N-hour shifts count real hours: a night with a clock change is an hour longer or shorter.
        length = timedelta(hours=rotation.length_hours)
        return int((at - rotation.starts_at) // length)
    start = rotation.starts_at.astimezone(zone)
    local = at.astimezone(zone)
    days = (local.date() - start.date()).days
    if at < _handoff(local.date(), start.timetz().replace(tzinfo=None), zone):
        days -= 1
    return days // _local_days(rotation)


def shift_start(rotation: OnCallRotation, zone: zoneinfo.ZoneInfo, index: int) -> datetime:
    """When shift ``index`` of the rotation begins."""
    if rotation.kind == RotationKind.HOURS:
        return rotation.starts_at + index * timedelta(hours=rotation.length_hours)
    start = rotation.starts_at.astimezone(zone)
    day = start.date() + timedelta(days=index * _local_days(rotation))
    return _handoff(day, start.timetz().replace(tzinfo=None), zone)


def layer_on_call(rotation: OnCallRotation, zone: zoneinfo.ZoneInfo, at: datetime) -> int | None:
    members: list[int] = list(rotation.members or [])
    if not members:
        return None
    windowed = rotation.window_from is not None or rotation.window_until is not None
    local = at.astimezone(zone).time()
    if windowed and not in_window(local, rotation.window_from, rotation.window_until):
        return None
    index = shift_index(rotation, zone, at)
    if index is None:
        return None
    return members[index % len(members)]


def _layers(schedule: OnCallSchedule) -> list[OnCallRotation]:
    return sorted(schedule.layers.all(), key=lambda r: r.position, reverse=True)


def _overrides(schedule: OnCallSchedule) -> list[OnCallOverride]:
    return list(schedule.overrides.all())


def who_is_on_call(schedule: OnCallSchedule, at: datetime) -> OnCall | None:
    """Who is on call on ``schedule`` at ``at``: the newest override covering the moment, else
    the top layer with someone on call then, else nobody."""
    return _on_call(_zone(schedule), _layers(schedule), _overrides(schedule), at)


def _on_call(
    zone: zoneinfo.ZoneInfo,
    layers: Sequence[OnCallRotation],
    overrides: Sequence[OnCallOverride],
    at: datetime,
) -> OnCall | None:
    covering = [o for o in overrides if o.starts_at <= at < o.ends_at]
    if covering:
        newest = max(covering, key=lambda o: (o.starts_at, o.pk or 0))
        return OnCall(newest.user_id, "override")
    for layer in layers:
        user_id = layer_on_call(layer, zone, at)
        if user_id is not None:
            return OnCall(user_id, layer.name)
    return None


@dataclass(frozen=True)
class Shift:
    """A stretch of time with one person (or nobody) on call."""

    starts_at: datetime
    ends_at: datetime
    user_id: int | None
    source: str


def _boundaries(
    zone: zoneinfo.ZoneInfo,
    layers: Iterable[OnCallRotation],
    overrides: Iterable[OnCallOverride],
    start: datetime,
    end: datetime,
) -> list[datetime]:
    found = {start, end}
    for layer in layers:
        found.add(layer.starts_at)
        first = shift_index(layer, zone, max(start, layer.starts_at)) or 0
        index = first
        while (moment := shift_start(layer, zone, index)) < end:
            found.add(moment)
            index += 1
        day = start.astimezone(zone).date() - timedelta(days=1)
        while day <= end.astimezone(zone).date():
            for wall in (layer.window_from, layer.window_until):
                if wall is not None:
                    found.add(_handoff(day, wall, zone))
            day += timedelta(days=1)
    for override in overrides:
        found.update((override.starts_at, override.ends_at))
    return sorted(m for m in found if start <= m <= end)


def shifts(schedule: OnCallSchedule, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call from ``start`` to ``end``, as consecutive stretches (nobody included)."""
    zone, layers, overrides = _zone(schedule), _layers(schedule), _overrides(schedule)
    moments = _boundaries(zone, layers, overrides, start, end)
    found: list[Shift] = []
    for begin, finish in itertools.pairwise(moments):
        if begin >= finish:
            continue
        who = _on_call(zone, layers, overrides, begin)
        user_id, source = (who.user_id, who.source) if who else (None, "")
        if found and found[-1].user_id == user_id and found[-1].source == source:
            found[-1] = Shift(found[-1].starts_at, finish, user_id, source)
        else:
            found.append(Shift(begin, finish, user_id, source))
    return found


def current_and_next(
    schedule: OnCallSchedule, at: datetime, horizon: timedelta = timedelta(days=7)
) -> tuple[Shift | None, Shift | None]:
    """The stretch on call at ``at`` and the next one with someone else, within ``horizon``."""
    found = shifts(schedule, at, at + horizon)
    if not found:
        return None, None
    current = found[0]
    following = next((s for s in found[1:] if s.user_id != current.user_id), None)
    return current, following


def schedules() -> QuerySet[OnCallSchedule]:
    return OnCallSchedule.objects.prefetch_related("layers", "overrides")


# ----------------------------------------------------------------------------- people


def users_by_id(ids: Iterable[int]) -> dict[int, AbstractBaseUser]:
    wanted = {i for i in ids if i is not None}
    return {u.pk: u for u in get_user_model().objects.filter(pk__in=wanted)}


def users_with_role(role: str, site: Site | None) -> list[AbstractBaseUser]:
    """Active people holding ``role``; with a site, those who hold a live access credential
    there (the directory keeps no other tie between a staff user and a site)."""
    users = get_user_model().objects.filter(groups__name=role, is_active=True)
    if site is not None:
        users = users.filter(
            cardholders__credentials__levels__site=site,
            cardholders__credentials__revoked_at__isnull=True,
        )
    return list(users.distinct().order_by("username"))


def webhook_endpoint_names() -> set[str] | None:
    """The webhook endpoints messages may name, or None while no endpoint table exists (the
    delivery channels own it); then any slug-shaped name is taken."""
    try:
        model = apps.get_model("incidents", "WebhookEndpoint")
    except LookupError:
        return None
    return set(model.objects.values_list("name", flat=True))


# ----------------------------------------------------------------------------- policies


def target_label(target: EscalationTarget) -> str:
    if target.kind == TargetKind.USER:
        return target.user.get_username() if target.user else "a removed person"
    if target.kind == TargetKind.ROLE:
        where = "at the site" if target.role_scope == RoleScope.SITE else "everywhere"
        return f"every {Role(target.role).title.lower()} {where}"
    if target.kind == TargetKind.SCHEDULE:
        return f"on call: {target.schedule.name if target.schedule else '?'}"
    if target.kind == TargetKind.WEBHOOK:
        return f"webhook {target.address}"
    return f"MQTT {target.address}"


def policy_for_incident(incident: Incident) -> EscalationPolicy | None:
    """The policy of the first match for the incident's type, site and severity."""
    match = (
        PolicyMatch.objects.filter(
            Q(incident_type="") | Q(incident_type=incident.type),
            Q(site__isnull=True) | Q(site_id=incident.site_id),
            min_severity__gte=incident.severity,
        )
        .select_related("policy")
        .order_by("position", "id")
        .first()
    )
    return match.policy if match else None


def policy_for_alarm(alarm: Alarm) -> EscalationPolicy | None:
    """A notify rule's own policy pages about its alarms."""
    rule = alarm.rule
    return rule.escalation_policy if rule is not None else None


def policies() -> QuerySet[EscalationPolicy]:
    return EscalationPolicy.objects.prefetch_related(
        "levels__targets__user", "levels__targets__schedule", "matches__site"
    )


def active_escalations() -> QuerySet[Escalation]:
    return Escalation.objects.filter(state=EscalationState.ACTIVE).select_related(
        "incident", "alarm", "site"
    )


def escalation_about(ref: str) -> Escalation | None:
    """The escalation started for ``incident:12`` or ``alarm:7``, if one was (one per thing)."""
    return Escalation.objects.filter(ref=ref).first()


def recent_escalations(limit: int = 50) -> list[Escalation]:
    """Active ones first, then the latest finished (exhausted ones stay visible)."""
    active = list(active_escalations().order_by("-started_at", "-id"))
    finished = list(
        Escalation.objects.exclude(state=EscalationState.ACTIVE)
        .select_related("incident", "alarm", "site")
        .order_by("-started_at", "-id")[:limit]
    )
    return active + finished


def paged_user_ids(escalation: Escalation) -> set[int]:
    return set(
        escalation.pages.filter(user__isnull=False).values_list("user_id", flat=True).distinct()
    )
