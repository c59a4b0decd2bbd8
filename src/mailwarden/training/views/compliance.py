"""The training compliance dashboard: per site, department and course, who is current, due soon,
expired or has never completed, with a chart, the people to follow up, drill participation and
test-parcel results per site; and the same list of people as a CSV file."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from mailwarden.core import clock
from mailwarden.core.csvsafe import csv_text
from mailwarden.core.errors import ServiceError
from mailwarden.core.views import console_page
from mailwarden.directory.models import Department, Site
from mailwarden.training import compliance_chart
from mailwarden.training.models import Course
from mailwarden.training.permissions import VIEW_COMPLIANCE
from mailwarden.training.queries import compliance as queries

# The page lists this many people to follow up; the CSV file has everyone.
PEOPLE_SHOWN = 200
DRILLS_SHOWN = 20


def filters_of(request: HttpRequest) -> queries.Filters:
    """The filters as typed; a department that is not a number is refused like an unknown one."""
    department = request.GET.get("department", "").strip()
    if department and not department.isdigit():
        raise ServiceError("choose a department from the list", "department")
    return queries.Filters(
        site=request.GET.get("site", "").strip() or None,
        department=int(department) if department else None,
        course=request.GET.get("course", "").strip() or None,
        standing=request.GET.get("standing", "").strip() or None,
    )


def _choices() -> dict[str, Any]:
    return {
        "sites": list(Site.objects.order_by("name")),
        "departments": list(Department.objects.order_by("name")),
        "courses": list(Course.objects.filter(active=True).order_by("title")),
        "standings": list(queries.Standing),
    }


@console_page(VIEW_COMPLIANCE, "the training compliance dashboard")
@require_GET
def compliance(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {**_choices(), "filters": queries.Filters()}
    status = 200
    try:
        filters = filters_of(request)
        context["filters"] = filters
        board = queries.board(filters)
    except ServiceError as exc:
        context["error"] = f"{exc.field}: {exc.message}" if exc.field else exc.message
        status = 400
    else:
        context.update(
            board=board,
            chart=compliance_chart.stacked(board.by_place),
            people=board.people[:PEOPLE_SHOWN],
            people_total=len(board.people),
            recent_drills=queries.participation(filters.site, limit=DRILLS_SHOWN),
            participation_days=queries.PARTICIPATION_DAYS,
            query=request.GET.urlencode(),
        )
    return render(request, "training/compliance_dashboard.html", context, status=status)


CSV_COLUMNS = (
    "username",
    "name",
    "site",
    "department",
    "course",
    "standing",
    "certificate_expires_at",
    "enrolment_due_at",
)


@console_page(VIEW_COMPLIANCE, "exporting training compliance")
@require_GET
def compliance_csv(request: HttpRequest) -> HttpResponse:
    try:
        rows = queries.standings(filters_of(request))
    except ServiceError as exc:
        where = f"{exc.field}: " if exc.field else ""
        return HttpResponse(f"{where}{exc.message}\n", status=exc.status, content_type="text/plain")
    text = csv_text(
        CSV_COLUMNS,
        (
            [
                r.person.username,
                r.person.name,
                r.site,
                r.department,
                r.course.slug,
                r.standing.value,
                r.expires_at.astimezone(UTC).isoformat() if r.expires_at else "",
                r.due_at.astimezone(UTC).isoformat() if r.due_at else "",
            ]
            for r in rows
        ),
    )
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = f"training-compliance-{clock.now():%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


urls: list[URLPattern] = [
    path("compliance/", compliance, name="compliance"),
    path("compliance/export.csv", compliance_csv, name="compliance_csv"),
]
