"""Schedules, site holidays and access levels (doors x schedule)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from mailwarden.access import queries
from mailwarden.access.models import AccessLevel, Holiday, Schedule
from mailwarden.access.services.common import authorise, rule_changed
from mailwarden.contracts import events
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.validation import check_text
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
    site: str,
    name: str,
    windows: Iterable[Any],
    holiday_windows: Iterable[Any] = (),
) -> Schedule:
    """``windows``: ``{"days": ["mon", ...], "start": "08:00", "end": "18:00"}`` in the time of
    the site with code ``site``."""
    authorise(actor, "creating a schedule")
    at = queries.site_named(site)
    name = check_text(name, "name", max_length=100, required=True)
    weekly = _windows(windows, WeeklyWindow, "windows")
    holidays = _windows(holiday_windows, TimeWindow, "holiday_windows")
    with transaction.atomic():
        if Schedule.objects.filter(site=at, name=name).exists():
            raise Conflict(f"a schedule named {name!r} exists already at {at.code}", "name")
        schedule = Schedule.objects.create(
            site=at, name=name, windows=weekly, holiday_windows=holidays
        )
        rule_changed(actor, at, events.ScheduleCreated, "schedule", str(schedule.pk))
    return schedule


def update_schedule(
    actor: Actor,
    site: str,
    schedule_id: int,
    *,
    windows: Iterable[Any],
    holiday_windows: Iterable[Any] = (),
) -> Schedule:
    """Replace the windows of schedule ``schedule_id`` at the site with code ``site``."""
    authorise(actor, "changing a schedule")
    found = queries.schedule_at(queries.site_named(site), schedule_id, "schedule_id")
    weekly = _windows(windows, WeeklyWindow, "windows")
    holidays = _windows(holiday_windows, TimeWindow, "holiday_windows")
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=found.pk)
        schedule.windows, schedule.holiday_windows = weekly, holidays
        schedule.save(update_fields=["windows", "holiday_windows"])
        rule_changed(actor, found.site, events.ScheduleUpdated, "schedule", str(schedule.pk))
    return schedule


def add_holiday(actor: Actor, *, site: str, day: date, name: str = "") -> Holiday:
    authorise(actor, "adding a holiday")
    at = queries.site_named(site)
    name = check_text(name, "name", max_length=100)
    with transaction.atomic():
        if Holiday.objects.filter(site=at, date=day).exists():
            raise Conflict(f"{day.isoformat()} is already a holiday at {at.code}", "date")
        holiday = Holiday.objects.create(site=at, date=day, name=name)
        rule_changed(actor, at, events.HolidayAdded, "holiday", f"{at.code}/{day.isoformat()}")
    return holiday


def remove_holiday(actor: Actor, *, site: str, day: date) -> None:
    authorise(actor, "removing a holiday")
    at = queries.site_named(site)
    with transaction.atomic():
        deleted, _ = Holiday.objects.filter(site=at, date=day).delete()
        if not deleted:
            raise NotFound(f"{day.isoformat()} is not a holiday at {at.code}", "date")
        rule_changed(actor, at, events.HolidayRemoved, "holiday", f"{at.code}/{day.isoformat()}")


# ----------------------------------------------------------------------------- levels


def create_level(
    actor: Actor, *, site: str, name: str, schedule_id: int, doors: Sequence[str] = ()
) -> AccessLevel:
    """A level at the site with code ``site``: its doors (by code) on schedule ``schedule_id``."""
    authorise(actor, "creating an access level")
    at = queries.site_named(site)
    schedule = queries.schedule_at(at, schedule_id, "schedule_id")
    opens = queries.doors_at(at, doors)
    name = check_text(name, "name", max_length=100, required=True)
    with transaction.atomic():
        if AccessLevel.objects.filter(site=at, name=name).exists():
            raise Conflict(f"an access level named {name!r} exists already", "name")
        level = AccessLevel.objects.create(site=at, name=name, schedule=schedule)
        level.doors.set(opens)
        rule_changed(
            actor,
            at,
            events.LevelCreated,
            "level",
            str(level.pk),
            name=name,
            schedule=schedule.pk,
            doors=sorted(d.code for d in opens),
        )
    return level


def set_level(
    actor: Actor, site: str, level_id: int, *, schedule_id: int, doors: Sequence[str]
) -> AccessLevel:
    """Level ``level_id`` at the site with code ``site`` opens ``doors`` (codes) on schedule
    ``schedule_id`` from now on."""
    authorise(actor, "changing an access level")
    at = queries.site_named(site)
    [found] = queries.levels_with_ids([level_id], "level_id", at)
    schedule = queries.schedule_at(at, schedule_id, "schedule_id")
    opens = queries.doors_at(at, doors)
    with transaction.atomic():
        level = AccessLevel.objects.select_for_update().get(pk=found.pk)
        level.schedule = schedule
        level.save(update_fields=["schedule"])
        level.doors.set(opens)
        rule_changed(
            actor,
            at,
            events.LevelUpdated,
            "level",
            str(level.pk),
            schedule=schedule.pk,
            doors=sorted(d.code for d in opens),
        )
    return level
