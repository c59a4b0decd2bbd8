"""The compliance dashboard's chart: one stacked bar per site and department, split into current,
due soon, expired and never completed, drawn as SVG on the server (no chart library in the
browser). Each bar is a share of its own people, so a small department reads like a large one;
the count stands at the bar's end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailwarden.training.queries.compliance import Counts, Standing

WIDTH = 720
LABEL_WIDTH = 220
COUNT_WIDTH = 70
BAR_HEIGHT = 22
GAP = 10
TOP = 6
# The bars' order, left to right: what is fine first, what needs doing last.
ORDER = (Standing.CURRENT, Standing.DUE_SOON, Standing.EXPIRED, Standing.NEVER)


@dataclass(frozen=True)
class Segment:
    standing: Standing
    x: float
    width: float
    count: int
    percent: float

    @property
    def label(self) -> str:
        return self.standing.label


@dataclass(frozen=True)
class Bar:
    label: str
    y: float
    total: int
    segments: tuple[Segment, ...]

    @property
    def text_y(self) -> float:
        return self.y + BAR_HEIGHT * 0.7

    @property
    def description(self) -> str:
        parts = ", ".join(f"{s.count} {s.label.lower()}" for s in self.segments)
        return f"{self.label}: {parts or 'nobody'}"


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    width: int = WIDTH
    label_width: int = LABEL_WIDTH
    bar_height: int = BAR_HEIGHT

    @property
    def bar_width(self) -> int:
        return self.width - self.label_width - COUNT_WIDTH

    @property
    def height(self) -> float:
        return TOP * 2 + len(self.bars) * (BAR_HEIGHT + GAP)

    @property
    def count_x(self) -> float:
        return self.width - COUNT_WIDTH + 8

    @property
    def label_x(self) -> float:
        return self.label_width - 8

    @property
    def legend(self) -> tuple[Standing, ...]:
        return ORDER


def stacked(rows: Sequence[tuple[str, Counts]]) -> Chart:
    """A bar per (label, counts); a row of nobody draws an empty track, never divides by 0."""
    bar_width = WIDTH - LABEL_WIDTH - COUNT_WIDTH
    bars = []
    for n, (label, counts) in enumerate(rows):
        x = float(LABEL_WIDTH)
        segments = []
        for standing in ORDER:
            count = getattr(counts, standing.value)
            if not count or not counts.total:
                continue
            width = bar_width * count / counts.total
            segments.append(
                Segment(standing, round(x, 2), round(width, 2), count, counts.percent(standing))
            )
            x += width
        bars.append(Bar(label, TOP + n * (BAR_HEIGHT + GAP), counts.total, tuple(segments)))
    return Chart(tuple(bars))
