"""The weekly summary email: a site's week in figures (what came in, how long it waited, what
screening found, what left quarantine, which doors alarmed), built from the same figures as the
Reports page, and rendered afresh on every try as the notification machinery asks."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.template.loader import render_to_string

from mailwarden.config import get_settings
from mailwarden.core import notify
from mailwarden.core.errors import NotFound
from mailwarden.directory import queries as directory
from mailwarden.reports import queries
from mailwarden.reports.figures import Figure
from mailwarden.reports.period import Per, Period

KIND = "reports.weekly_summary"
# The figures the email carries, in its order.
SHOWN = ("intake-kind", "dwell", "overdue", "tiers", "quarantine", "door-alarms")


def subject_ref(site_code: str, week_start: date) -> str:
    return f"{site_code}:{week_start.isoformat()}"


def _period(ref: str) -> Period:
    code, _, week = ref.partition(":")
    try:
        start = date.fromisoformat(week)
    except ValueError:
        raise NotFound(f"no week {week!r} in summary {ref!r}", "subject_ref") from None
    site = directory.site_by_code(code)
    return Period(start, start + timedelta(days=6), site, Per.DAY)


def summary_context(period: Period) -> dict[str, Any]:
    figures: list[Figure] = [queries.figure(key, period) for key in SHOWN]
    url = f"{get_settings().base_url.rstrip('/')}/reports/?{urlencode(period.query())}"
    return {"period": period, "figures": figures, "url": url}


@notify.renders(KIND)
def weekly_summary_message(ref: str) -> notify.Message:
    period = _period(ref)
    context = summary_context(period)
    subject = f"Weekly mailroom summary: {period.site_name}, week of {period.first:%-d %b %Y}"
    return notify.Message(
        subject=subject,
        text=render_to_string("reports/email/weekly_summary.txt", context),
        html=render_to_string("reports/email/weekly_summary.html", context),
    )
