"""The reports in the API: the same figures as the Reports page, per chart, for a period and
a site; managers and auditors only."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Query, Router

from mailwarden.core.api import ERRORS, allow
from mailwarden.reports import queries
from mailwarden.reports.period import period_of
from mailwarden.reports.permissions import VIEW_REPORTS
from mailwarden.reports.schemas import ChartKey, ChartOut, FigureOut, PeriodFilter, figure_out

router = Router(tags=["reports"])


@router.get(
    "/reports",
    response={200: list[ChartOut], **ERRORS},
    summary="The report charts there are",
)
@allow(VIEW_REPORTS, "reading the reports")
def charts(request: HttpRequest) -> list[ChartOut]:
    return [ChartOut(key=c.key, title=c.title) for c in queries.CHARTS]  # type: ignore[arg-type]


@router.get(
    "/reports/{chart}",
    response={200: FigureOut, **ERRORS},
    summary="One report chart's figures over a period and a site",
)
@allow(VIEW_REPORTS, "reading the reports")
def chart(request: HttpRequest, chart: Path[ChartKey], filters: Query[PeriodFilter]) -> FigureOut:
    period = period_of(filters.start, filters.end, filters.site, filters.per)
    figure = queries.figure(chart, period)
    return figure_out(
        figure,
        site=period.site_code or None,
        start=period.first.isoformat(),
        end=period.last.isoformat(),
        per=period.per.value,
    )
