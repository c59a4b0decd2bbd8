"""Schedules, site holidays and access levels (doors x schedule)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from mailwarden.access.models import (
    AccessLevel,
    Door,
    Holiday,
    Schedule,
)
from mailwarden.access.services.common import authorise, check_same_site, check_text, rule_changed
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.custody.models import Site
from mailwarden.edge.rules import TimeWindow, WeeklyWindow

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
    authorise(actor, "creating a schedule")
    name = check_text(name, "name", max_length=100, required=True)
    weekly = _windows(windows, WeeklyWindow, "windows")
    holidays = _windows(holiday_windows, TimeWindow, "holiday_windows")
    with transaction.atomic():
        if Schedule.objects.filter(site=site, name=name).exists():
            raise Conflict(f"a schedule named {name!r} exists already at {site.code}", "name")
        schedule = Schedule.objects.create(
            site=site, name=name, windows=weekly, holiday_windows=holidays
        )
        rule_changed(actor, site, "access.schedule.create", "schedule", str(schedule.pk))
    return schedule


def update_schedule(
    actor: Actor,
    schedule: Schedule,
    *,
    windows: Iterable[Any],
    holiday_windows: Iterable[Any] = (),
) -> Schedule:
    authorise(actor, "changing a schedule")
    weekly = _windows(windows, WeeklyWindow, "windows")
    holidays = _windows(holiday_windows, TimeWindow, "holiday_windows")
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
        schedule.windows, schedule.holiday_windows = weekly, holidays
        schedule.save(update_fields=["windows", "holiday_windows"])
        rule_changed(actor, schedule.site, "access.schedule.update", "schedule", str(schedule.pk))
    return schedule


def add_holiday(actor: Actor, *, site: Site, day: date, name: str = "") -> Holiday:
    authorise(actor, "adding a holiday")
    name = check_text(name, "name", max_length=100)
    with transaction.atomic():
        if Holiday.objects.filter(site=site, date=day).exists():
            raise Conflict(f"{day.isoformat()} is already a holiday at {site.code}", "date")
        holiday = Holiday.objects.create(site=site, date=day, name=name)
        rule_changed(actor, site, "access.holiday.add", "holiday", f"{site.code}/{day.isoformat()}")
    return holiday


def remove_holiday(actor: Actor, *, site: Site, day: date) -> None:
    authorise(actor, "removing a holiday")
    with transaction.atomic():
        deleted, _ = Holiday.objects.filter(site=site, date=day).delete()
        if not deleted:
            raise NotFound(f"{day.isoformat()} is not a holiday at {site.code}", "date")
        rule_changed(
            actor, site, "access.holiday.remove", "holiday", f"{site.code}/{day.isoformat()}"
        )


# ----------------------------------------------------------------------------- levels


def create_level(
    actor: Actor, *, site: Site, name: str, schedule: Schedule, doors: Sequence[Door] = ()
) -> AccessLevel:
    authorise(actor, "creating an access level")
    name = check_text(name, "name", max_length=100, required=True)
    check_same_site(site, schedule, "schedule")
    for door in doors:
        check_same_site(site, door, "doors")
    with transaction.atomic():
        if AccessLevel.objects.filter(site=site, name=name).exists():
            raise Conflict(f"an access level named {name!r} exists already", "name")
        level = AccessLevel.objects.create(site=site, name=name, schedule=schedule)
        level.doors.set(doors)
        rule_changed(
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
    authorise(actor, "changing an access level")
    check_same_site(level.site, schedule, "schedule")
    for door in doors:
        check_same_site(level.site, door, "doors")
    with transaction.atomic():
        level = AccessLevel.objects.select_for_update().get(pk=level.pk)
        level.schedule = schedule
        level.save(update_fields=["schedule"])
        level.doors.set(doors)
        rule_changed(
            actor,
            level.site,
            "access.level.update",
            "level",
            str(level.pk),
            {"schedule": schedule.pk, "doors": sorted(d.code for d in doors)},
        )
    return level
