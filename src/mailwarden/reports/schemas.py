"""The reports API's shapes: a period in, a chart's figures out (the same as the page's)."""

from __future__ import annotations

from typing import Literal

from ninja import Field, Schema

from mailwarden.core.api import Input, IsoDate
from mailwarden.directory.schemas import SiteCode
from mailwarden.reports.figures import Figure

ChartKey = Literal[
    "intake-carrier",
    "intake-kind",
    "dwell",
    "dwell-median",
    "overdue",
    "screening-time",
    "tiers",
    "quarantine",
    "door-alarms",
]


class PeriodFilter(Input):
    start: IsoDate | None = Field(
        None, description="The first day (YYYY-MM-DD); four weeks before the end by default."
    )
    end: IsoDate | None = Field(None, description="The last day, included; today by default.")
    site: SiteCode | None = Field(
        None, description="Only this site (its code); every site if left out."
    )
    per: Literal["day", "week"] = Field("day", description="Count per day or per week (Monday on).")


class ChartOut(Schema):
    key: ChartKey
    title: str


class SeriesOut(Schema):
    key: str
    name: str = Field(description="The legend's words.")
    values: list[float | None] = Field(
        description="One per category; null where there is no value (a line's gap)."
    )


class FigureOut(Schema):
    key: ChartKey
    title: str
    description: str
    kind: Literal["columns", "line", "rows"]
    x_label: str
    y_label: str
    site: str | None = Field(description="The site's code; null for every site.")
    start: str = Field(description="The first day, YYYY-MM-DD.")
    end: str = Field(description="The last day, YYYY-MM-DD, included.")
    per: Literal["day", "week"]
    categories: list[str] = Field(description="Along the chart: days, weeks, bands or doors.")
    series: list[SeriesOut]
    notes: list[str] = Field(description="Figures in words, such as the median.")


def figure_out(figure: Figure, *, site: str | None, start: str, end: str, per: str) -> FigureOut:
    return FigureOut(
        key=figure.key,  # type: ignore[arg-type]
        title=figure.title,
        description=figure.description,
        kind=figure.kind.value,
        x_label=figure.x_label,
        y_label=figure.y_label,
        site=site,
        start=start,
        end=end,
        per=per,  # type: ignore[arg-type]
        categories=list(figure.categories),
        series=[SeriesOut(key=s.key, name=s.name, values=list(s.values)) for s in figure.series],
        notes=list(figure.notes),
    )
