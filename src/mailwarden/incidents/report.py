"""The after-action report (AAR/IP) of an incident, exercise or real, as HTML and PDF, with its
timeline chart: an SVG drawn here on the server, so the console page and the PDF show the same
picture and the PDF needs nothing fetched."""

from __future__ import annotations

import math
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from mailwarden.core import clock
from mailwarden.incidents.models import (
    CorrectiveAction,
    Exercise,
    ExerciseType,
    Incident,
    ObjectiveRating,
    TimelineEntry,
)
from mailwarden.incidents.queries.exercises import StepTiming, step_timings
from mailwarden.incidents.services.exercises import draft_report

WIDTH = 760
LABEL_W = 230
RIGHT_PAD = 24
ROW_H = 28
TOP = 40
TARGET_FILL = "#b8c2cc"
ON_TIME_FILL = "#2f855a"
LATE_FILL = "#c53030"
EVENT_FILL = "#2b6cb0"
_NICE_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 720, 1440)


@dataclass(frozen=True)
class Event:
    number: int
    minutes: float
    entry: TimelineEntry


def _tick_step(span: float) -> int:
    for step in _NICE_STEPS:
        if span / step <= 8:
            return step
    return math.ceil(span / 8 / 1440) * 1440


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def timeline_svg(timings: list[StepTiming], events: list[Event], now_minutes: float) -> str:
    """Steps' target and actual bars, and the timeline's events, on one axis of minutes from
    the incident's opening."""
    reach = [t.target_minutes for t in timings]
    reach += [t.actual_minutes for t in timings if t.actual_minutes is not None]
    reach += [e.minutes for e in events]
    if any(t.actual_minutes is None and t.late for t in timings):
        reach.append(now_minutes)
    step = _tick_step(max([*reach, 1.0]))
    span = step * max(1, math.ceil(max([*reach, 1.0]) / step))
    plot_w = WIDTH - LABEL_W - RIGHT_PAD
    height = TOP + ROW_H * (len(timings) + 1) + 44

    def x(minutes: float) -> float:
        return round(LABEL_W + plot_w * max(0.0, min(minutes, span)) / span, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline-chart" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        'aria-labelledby="chart-title chart-desc" font-family="sans-serif" font-size="11">',
        '<title id="chart-title">Timeline chart</title>',
        '<desc id="chart-desc">Each step\'s target time (grey) against the time it was done '
        "(green on time, red late), and the timeline's events (numbered dots), in minutes "
        "from the incident's opening.</desc>",
        f'<rect x="12" y="8" width="12" height="8" fill="{TARGET_FILL}"/>'
        '<text x="28" y="16">target</text>'
        f'<rect x="80" y="8" width="12" height="8" fill="{ON_TIME_FILL}"/>'
        '<text x="96" y="16">done on time</text>'
        f'<rect x="180" y="8" width="12" height="8" fill="{LATE_FILL}"/>'
        '<text x="196" y="16">late or overdue</text>'
        f'<circle cx="300" cy="12" r="4" fill="{EVENT_FILL}"/>'
        '<text x="308" y="16">timeline event</text>',
    ]
    axis_y = TOP + ROW_H * (len(timings) + 1)
    for tick in range(0, int(span) + 1, step):
        tx = x(tick)
        parts.append(
            f'<line x1="{tx}" y1="{TOP - 4}" x2="{tx}" y2="{axis_y}" stroke="#e2e8f0"/>'
            f'<text x="{tx}" y="{axis_y + 14}" text-anchor="middle">{tick}</text>'
        )
    parts.append(
        f'<line x1="{LABEL_W}" y1="{axis_y}" x2="{WIDTH - RIGHT_PAD}" y2="{axis_y}" '
        'stroke="#4a5568"/>'
        f'<text x="{LABEL_W + plot_w / 2}" y="{axis_y + 30}" text-anchor="middle">'
        "minutes from the opening</text>"
    )
    lane_y = TOP + ROW_H / 2
    parts.append(f'<text x="8" y="{lane_y + 4}">Timeline events</text>')
    for event in events:
        ex = x(event.minutes)
        label = escape(f"{event.number}. {_short(event.entry.text, 120)}")
        parts.append(
            f'<circle cx="{ex}" cy="{lane_y}" r="5" fill="{EVENT_FILL}"><title>{label}</title>'
            f'</circle><text x="{ex}" y="{lane_y - 8}" text-anchor="middle" font-size="9">'
            f"{event.number}</text>"
        )
    for row, timing in enumerate(timings, start=1):
        top = TOP + ROW_H * row
        name = escape(_short(f"{timing.position}. {timing.title}", 36))
        parts.append(f'<text x="8" y="{top + 16}">{name}</text>')
        parts.append(
            f'<rect class="bar-target" x="{LABEL_W}" y="{top + 4}" '
            f'width="{x(timing.target_minutes) - LABEL_W}" height="8" fill="{TARGET_FILL}">'
            f"<title>target {timing.target_minutes:g} min</title></rect>"
        )
        if timing.actual_minutes is not None:
            fill = LATE_FILL if timing.late else ON_TIME_FILL
            parts.append(
                f'<rect class="bar-actual" x="{LABEL_W}" y="{top + 14}" '
                f'width="{max(1.0, x(timing.actual_minutes) - LABEL_W)}" height="8" '
                f'fill="{fill}"><title>done at {timing.actual_minutes:g} min ({timing.state})'
                "</title></rect>"
            )
        elif timing.late:
            parts.append(
                f'<rect class="bar-overdue" x="{LABEL_W}" y="{top + 14}" '
                f'width="{max(1.0, x(now_minutes) - LABEL_W)}" height="8" fill="none" '
                f'stroke="{LATE_FILL}" stroke-dasharray="4 2"><title>not done, overdue</title>'
                "</rect>"
            )
    parts.append("</svg>")
    return "".join(parts)


def report_context(incident: Incident, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the report shows, for the console page and the PDF alike."""
    now = now or clock.now()
    tz = zoneinfo.ZoneInfo(incident.site.timezone)
    report = draft_report(incident)
    plan = Exercise.objects.filter(incident=incident).first()
    timings = step_timings(incident, now)
    entries = list(TimelineEntry.objects.filter(incident=incident).order_by("at", "id"))
    events = [
        Event(n, round((e.at - incident.opened_at).total_seconds() / 60, 1), e)
        for n, e in enumerate(entries, start=1)
    ]
    ended = incident.closed_at or incident.resolved_at
    end = ended or now
    now_minutes = (end - incident.opened_at).total_seconds() / 60
    actions: list[CorrectiveAction] = list(report.actions.all()) if report.pk else []
    ratings = dict(ObjectiveRating.choices)
    return {
        "incident": incident,
        "exercise": plan,
        "exercise_type": ExerciseType(incident.exercise_type).label
        if incident.exercise_type
        else "",
        "report": report,
        "objectives": [
            {**o, "rating_label": ratings.get(o.get("rating", ""), "Not rated yet")}
            for o in report.objectives
        ],
        "actions": actions,
        "timings": timings,
        "late_count": sum(1 for t in timings if t.late),
        "events": [
            {
                "number": e.number,
                "minutes": e.minutes,
                "at": e.entry.at.astimezone(tz),
                "kind": e.entry.kind,
                "text": e.entry.text,
                "by": e.entry.by,
            }
            for e in events
        ],
        # Drawn by timeline_svg, which escapes every text it writes.
        "chart": mark_safe(timeline_svg(timings, events, now_minutes)),
        "title": (
            "After-action report and improvement plan"
            if incident.exercise
            else "Incident report and improvement plan"
        ),
        "opened_at": incident.opened_at.astimezone(tz),
        "ended_at": ended.astimezone(tz) if ended else None,
        "generated_at": now.astimezone(tz),
        "tz": tz.key,
    }


def report_html(incident: Incident) -> str:
    """The report as a standalone HTML document (what the PDF is made from)."""
    return render_to_string("incidents/exercises/report_document.html", report_context(incident))


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The document embeds everything it shows; a fetch could only come from injected markup.
    raise ValueError(f"the report may not load {url}")


def report_pdf(incident: Incident) -> bytes:
    """The report as an A4 PDF."""
    import weasyprint  # heavy (Pango); loaded only when a PDF is asked for

    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    fetcher = fetcher_class(allowed_protocols=()) if fetcher_class else _refuse_fetch
    pdf = weasyprint.HTML(string=report_html(incident), url_fetcher=fetcher).write_pdf()
    if not isinstance(pdf, bytes):
        raise RuntimeError("WeasyPrint returned no PDF bytes for a report")
    return pdf
