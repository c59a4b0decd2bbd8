"""The Reports page: every chart over a period and a site, each with its description, figures,
table, and CSV and PDF exports."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from mailwarden.core.errors import ServiceError
from mailwarden.core.views import console_page
from mailwarden.directory.models import Site
from mailwarden.reports import export, queries, svg
from mailwarden.reports.period import MAX_DAYS, Per, period_from
from mailwarden.reports.permissions import VIEW_REPORTS


def _error_text(exc: ServiceError) -> str:
    return f"{exc.field}: {exc.message}" if exc.field else exc.message


@console_page(VIEW_REPORTS, "the reports")
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    context: dict[str, Any] = {
        "sites": list(Site.objects.order_by("name")),
        "pers": list(Per),
        "max_days": MAX_DAYS,
        "form": {k: request.GET.get(k, "") for k in ("start", "end", "site", "per")},
    }
    status = 200
    try:
        period = period_from(request.GET)
    except ServiceError as exc:
        context["error"] = _error_text(exc)
        status = 400
    else:
        figures = queries.figures(period)
        waiting, longest = queries.overdue_now(period, limit=20)
        context.update(
            period=period,
            form=period.query(),
            query=urlencode(period.query()),
            charts=[
                # svg.render escapes every text it writes.
                {"figure": f, "svg": mark_safe(svg.render(f))}
                for f in figures
            ],
            waiting=waiting,
            longest=longest,
            overdue_days=queries.overdue_days(),
        )
    return render(request, "reports/index.html", context, status=status)


def _export(request: HttpRequest, key: str, extension: str) -> HttpResponse:
    if key not in queries.BY_KEY:
        raise Http404("no such chart")
    try:
        period = period_from(request.GET)
    except ServiceError as exc:
        return HttpResponse(
            f"{_error_text(exc)}\n", status=exc.status, content_type="text/plain; charset=utf-8"
        )
    figure = queries.figure(key, period)
    if extension == "csv":
        response = HttpResponse(export.figure_csv(figure), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(export.figure_pdf(figure, period), content_type="application/pdf")
    name = export.file_name(figure, period, extension)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@console_page(VIEW_REPORTS, "exporting a report")
@require_GET
def chart_csv(request: HttpRequest, key: str) -> HttpResponse:
    return _export(request, key, "csv")


@console_page(VIEW_REPORTS, "exporting a report")
@require_GET
def chart_pdf(request: HttpRequest, key: str) -> HttpResponse:
    return _export(request, key, "pdf")
