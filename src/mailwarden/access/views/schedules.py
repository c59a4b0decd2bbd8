"""Schedules and holidays: the list, creating and changing a schedule, adding and removing a
holiday.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.access import services
from mailwarden.access.forms import DAY_LABELS, HolidayForm, ScheduleForm
from mailwarden.access.models import Holiday, Schedule
from mailwarden.access.services import MANAGE_ACCESS, VIEW_ACCESS
from mailwarden.access.views.common import (
    all_sites,
    chosen_site,
    http_status,
    perms,
    site_or_404,
    with_query,
)
from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page
from mailwarden.directory.models import Site
from mailwarden.edge.rules import WEEKDAYS

# Ranges are written with an en dash, as in "Mon\u2013Fri 08:00\u201318:00".
DASH = "\u2013"


def days_label(days: Sequence[str]) -> str:
    """``["mon", "tue", "wed"]`` as "Mon-Wed" (en dash): runs of consecutive days are shortened."""
    order = [d for d in WEEKDAYS if d in days]
    runs: list[list[str]] = []
    for day in order:
        if runs and WEEKDAYS.index(day) == WEEKDAYS.index(runs[-1][-1]) + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    words = [
        DAY_LABELS[r[0]] if len(r) == 1 else f"{DAY_LABELS[r[0]]}{DASH}{DAY_LABELS[r[-1]]}"
        for r in runs
    ]
    if len(order) == 7:
        return "Every day"
    return ", ".join(words)


@dataclass(frozen=True)
class ScheduleRow:
    schedule: Schedule
    windows: list[str]
    holiday_windows: list[str]
    levels: int


def schedule_rows(site: Site | None) -> list[ScheduleRow]:
    schedules = (
        Schedule.objects.filter(site=site)
        .annotate(n=Count("levels", distinct=True))
        .order_by("name")
    )
    return [
        ScheduleRow(
            s,
            [f"{days_label(w['days'])} {w['start']}{DASH}{w['end']}" for w in s.windows],
            [f"{w['start']}{DASH}{w['end']}" for w in s.holiday_windows],
            s.n,
        )
        for s in schedules
    ]


def _schedules_context(
    request: HttpRequest, site: Site | None, holiday_form: HolidayForm | None = None
) -> dict[str, Any]:
    return {
        "sites": all_sites(),
        "site": site,
        "rows": schedule_rows(site),
        "holidays": list(Holiday.objects.filter(site=site).order_by("date")),
        "holiday_form": holiday_form or HolidayForm(),
        "tab": "schedules",
        **perms(actor_of(request)),
    }


@console_page(VIEW_ACCESS, "schedules")
@require_GET
def schedules(request: HttpRequest) -> HttpResponse:
    site = chosen_site(request.GET.get("site"), all_sites())
    return render(request, "access/schedules.html", _schedules_context(request, site))


def _schedule_error(form: ScheduleForm, exc: ServiceError) -> None:
    form.add_error(form.field_for(exc.field, exc.message), exc.message)


@console_page(MANAGE_ACCESS, "creating a schedule")
@require_http_methods(["GET", "POST"])
def schedule_new(request: HttpRequest) -> HttpResponse:
    site = chosen_site(request.GET.get("site") or request.POST.get("site"), all_sites())
    if site is None:
        raise Http404("no site")
    form = ScheduleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        windows, holiday_windows = form.windows(), form.holiday_windows()
        try:
            schedule = services.levels.create_schedule(
                actor_of(request),
                site=site.code,
                name=form.cleaned_data["name"],
                windows=windows,
                holiday_windows=holiday_windows,
            )
        except ServiceError as exc:
            _schedule_error(form, exc)
        else:
            messages.success(request, f"Schedule {schedule.name} created.")
            return redirect(with_query(reverse("access:schedules"), site=site.code))
    context = {"form": form, "site": site, "schedule": None, "tab": "schedules"}
    return render(
        request, "access/schedule_form.html", context, status=http_status(bool(form.errors))
    )


@console_page(MANAGE_ACCESS, "changing a schedule")
@require_http_methods(["GET", "POST"])
def schedule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(Schedule.objects.select_related("site"), pk=pk)
    form = ScheduleForm(
        request.POST or None,
        windows=schedule.windows,
        holiday_windows=schedule.holiday_windows,
        editing=True,
    )
    if request.method == "POST" and form.is_valid():
        windows, holiday_windows = form.windows(), form.holiday_windows()
        try:
            services.levels.update_schedule(
                actor_of(request),
                schedule.site.code,
                schedule.pk,
                windows=windows,
                holiday_windows=holiday_windows,
            )
        except ServiceError as exc:
            _schedule_error(form, exc)
        else:
            messages.success(request, f"Schedule {schedule.name} saved.")
            return redirect(with_query(reverse("access:schedules"), site=schedule.site.code))
    context = {"form": form, "site": schedule.site, "schedule": schedule, "tab": "schedules"}
    return render(
        request, "access/schedule_form.html", context, status=http_status(bool(form.errors))
    )


@console_page(MANAGE_ACCESS, "adding a holiday")
@require_POST
def holiday_add(request: HttpRequest) -> HttpResponse:
    site = site_or_404(request.POST.get("site"))
    form = HolidayForm(request.POST)
    if form.is_valid():
        try:
            holiday = services.levels.add_holiday(
                actor_of(request),
                site=site.code,
                day=form.cleaned_data["date"],
                name=form.cleaned_data["name"],
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"day": "date"})
        else:
            messages.success(request, f"{holiday.date:%-d %B %Y} is a holiday at {site.name}.")
            return redirect(with_query(reverse("access:schedules"), site=site.code))
    context = _schedules_context(request, site, holiday_form=form)
    return render(request, "access/schedules.html", context, status=400)


@console_page(MANAGE_ACCESS, "removing a holiday")
@require_POST
def holiday_remove(request: HttpRequest) -> HttpResponse:
    site = site_or_404(request.POST.get("site"))
    try:
        day = date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        messages.error(request, "The holiday was not removed: its date could not be read.")
        return redirect(with_query(reverse("access:schedules"), site=site.code))
    try:
        services.levels.remove_holiday(actor_of(request), site=site.code, day=day)
    except ServiceError as exc:
        messages.error(request, f"The holiday was not removed: {exc.message}.")
    else:
        messages.success(request, f"{day:%-d %B %Y} is no longer a holiday at {site.name}.")
    return redirect(with_query(reverse("access:schedules"), site=site.code))
