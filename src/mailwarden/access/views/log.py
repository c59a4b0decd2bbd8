"""The access log and the quarantine-room report, on the page and as CSV."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from mailwarden.access import queries
from mailwarden.access.forms import LogFilterForm, ReportForm, day_bounds
from mailwarden.access.services import VIEW_ACCESS
from mailwarden.access.views.common import http_status, site_zone, with_query
from mailwarden.access.views.wording import EventRow, describe
from mailwarden.core import clock
from mailwarden.core.csvsafe import csv_text
from mailwarden.core.views import console_page
from mailwarden.directory.models import LocationKind, Site

PAGE_SIZE = 50
REPORT_DEFAULT_DAYS = 30


@console_page(VIEW_ACCESS, "the access log")
@require_GET
def access_log(request: HttpRequest) -> HttpResponse:
    form = LogFilterForm(request.GET or None)
    refused = form.is_bound and not form.is_valid()
    data: dict[str, Any] = {} if refused else (form.cleaned_data if form.is_bound else {})
    site = Site.objects.filter(code=data.get("site") or "").first()
    since, until = day_bounds(data.get("since"), data.get("until"), site_zone(site))
    granted = {"granted": True, "denied": False}.get(data.get("result") or "")
    page = data.get("page") or 1
    rows: list[EventRow] = []
    has_next = False
    if not refused:
        events = queries.access_log(site=site, granted=granted, since=since, until=until)
        events = events.select_related("companion")
        if data.get("door"):
            events = events.filter(door_id=int(data["door"]))
        if data.get("cardholder"):
            name = data["cardholder"]
            events = events.filter(
                Q(cardholder__name__icontains=name) | Q(companion__name__icontains=name)
            )
        # One row past the page says whether there is a next one, without counting them all.
        found = list(events[(page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1])
        has_next = len(found) > PAGE_SIZE
        rows = [describe(e) for e in found[:PAGE_SIZE]]
    params = {k: v for k, v in data.items() if k != "page" and v not in (None, "")}
    context = {
        "form": form,
        "rows": rows,
        "page": page,
        "has_next": has_next,
        "prev_query": urlencode({**params, "page": page - 1}),
        "next_query": urlencode({**params, "page": page + 1}),
        "many_sites": Site.objects.count() > 1,
        "tab": "log",
    }
    htmx = getattr(request, "htmx", None)
    template = (
        "access/_log_rows.html" if htmx and not htmx.history_restore_request else "access/log.html"
    )
    return render(request, template, context, status=400 if refused and not htmx else 200)


# ----------------------------------------------------------------------------- quarantine report


def _report_entries(request: HttpRequest) -> tuple[ReportForm, list[queries.Entry], dict[str, Any]]:
    today = timezone.localdate(clock.now())
    defaults = {"since": today - timedelta(days=REPORT_DEFAULT_DAYS), "until": today}
    form = ReportForm(request.GET or None, initial=defaults)
    if form.is_bound and not form.is_valid():
        return form, [], {}
    given = form.cleaned_data if form.is_bound else {}
    data = {**defaults, **{k: v for k, v in given.items() if v}}
    site = Site.objects.filter(code=data.get("site") or "").first()
    since, until = day_bounds(data["since"], data["until"], site_zone(site))
    entries = queries.who_entered(LocationKind.QUARANTINE, since, until, site=site)
    return form, entries, data


@dataclass(frozen=True)
class ReportRow:
    entry: queries.Entry
    at: datetime


def _report_rows(entries: Sequence[queries.Entry]) -> list[ReportRow]:
    zones = {s.code: site_zone(s) for s in Site.objects.filter(code__in={e.site for e in entries})}
    return [ReportRow(e, timezone.localtime(e.at, zones.get(e.site, UTC))) for e in entries]


@console_page(VIEW_ACCESS, "the quarantine room report")
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    form, entries, data = _report_entries(request)
    query = {
        k: v.isoformat() if isinstance(v, date) else v
        for k, v in data.items()
        if k in ("site", "since", "until") and v
    }
    context = {
        "form": form,
        "rows": _report_rows(entries),
        "people": len({(e.cardholder_id, e.cardholder) for e in entries}),
        "csv_url": with_query(reverse("access:report_csv"), **query),
        "range": data,
        "many_sites": Site.objects.count() > 1,
        "tab": "report",
    }
    failed = form.is_bound and bool(form.errors)
    return render(request, "access/report.html", context, status=http_status(failed))


CSV_COLUMNS = (
    "time",
    "time_utc",
    "person",
    "with",
    "site",
    "door",
    "room",
    "reader",
    "via",
    "reason",
    "event",
)


@console_page(VIEW_ACCESS, "the quarantine room report")
@require_GET
def report_csv(request: HttpRequest) -> HttpResponse:
    form, entries, data = _report_entries(request)
    if form.is_bound and form.errors:
        first = next(iter(form.errors.items()))
        return HttpResponse(f"{first[0]}: {first[1][0]}", status=400, content_type="text/plain")
    # Names and reasons come from people: csv_text keeps every cell from running as a formula.
    text = csv_text(
        CSV_COLUMNS,
        (
            [
                row.at.isoformat(),
                row.entry.at.astimezone(UTC).isoformat(),
                row.entry.cardholder,
                row.entry.with_holder or "",
                row.entry.site,
                row.entry.door_name,
                row.entry.location,
                row.entry.reader,
                row.entry.via,
                row.entry.reason,
                row.entry.event_key,
            ]
            for row in _report_rows(entries)
        ),
    )
    name = f"quarantine-entries-{data['since']:%Y%m%d}-{data['until']:%Y%m%d}.csv"
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
