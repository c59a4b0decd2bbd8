"""What a report chart holds, whatever draws it: a title, what it shows in words, its axes, the
categories along them and a series of values per legend entry. The console page, the CSV and PDF
exports, the API and the weekly email all read this one shape, so they always agree."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    COLUMNS = "columns"  # stacked columns over the categories (days, weeks, time bands)
    LINE = "line"  # a line per series over the categories
    ROWS = "rows"  # stacked horizontal bars, one per category (a door)


@dataclass(frozen=True)
class Series:
    key: str  # stable, for CSS classes and the API ("ups", "held_open")
    name: str  # the legend's words
    # None where there is no value (a line's gap: a week with no hand-over has no median).
    values: tuple[float | None, ...]

    @property
    def total(self) -> float:
        return sum(v for v in self.values if v is not None)


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    description: str  # what the chart shows, in a sentence or two: also its accessible text
    kind: Kind
    x_label: str
    y_label: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    # Figures in words beside the chart ("Median: 1 day 4 h"), in the table and the exports too.
    notes: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not any(v for s in self.series for v in s.values if v is not None)

    @property
    def header(self) -> list[str]:
        return [self.x_label, *(s.name for s in self.series)]

    @property
    def rows(self) -> list[list[str]]:
        """The table behind the chart: a row per category, a column per series."""
        return [
            [label, *(number(s.values[i]) for s in self.series)]
            for i, label in enumerate(self.categories)
        ]

    @property
    def summable(self) -> bool:
        """Whether a total row means anything: counts add up, medians on a line do not."""
        return self.kind != Kind.LINE

    @property
    def totals(self) -> list[str]:
        return [number(s.total) for s in self.series]


def number(value: float | None) -> str:
    """A count as a whole number, anything else to one decimal place; no value as nothing."""
    if value is None:
        return ""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.1f}"
