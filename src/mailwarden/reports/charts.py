"""Chart geometry for the reports, drawn as SVG on the server (no chart library in the browser):
a plot frame with axes and ticks, stacked columns over time, lines, and stacked horizontal rows.

Pure arithmetic on numbers and labels: no Django, no SVG text. ``reports.svg`` writes the
shapes out; the unit tests hold the geometry to its numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 600
HEIGHT = 300
# Room for the y axis's tick labels and title on the left, the x axis's labels and title below.
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 14, 62
# A row chart names each row on the left, so it needs a wider margin there.
ROW_LABEL_WIDTH = 200
ROW_HEIGHT = 22
ROW_GAP = 8
# Columns fill this share of their slot; the rest is the gap between them.
COLUMN_FILL = 0.72
# A column no wider than this: one week alone would otherwise fill the plot like a wall.
COLUMN_MAX = 56.0
# At most this many labels along the x axis: more would overlap.
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Tick:
    at: float  # where along its axis, in SVG units
    label: str


@dataclass(frozen=True)
class Frame:
    """The plot area inside the SVG: everything between the axes."""

    width: int = WIDTH
    height: int = HEIGHT
    left: float = LEFT
    right: float = WIDTH - RIGHT
    top: float = TOP
    bottom: float = HEIGHT - BOTTOM

    @property
    def plot_width(self) -> float:
        return self.right - self.left

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top

    def y_of(self, value: float, hi: float) -> float:
        """The y of ``value`` on an axis from 0 (at the bottom) to ``hi`` (at the top)."""
        return round(self.bottom - self.plot_height * (value / hi if hi > 0 else 0.0), 2)

    def x_of(self, value: float, hi: float) -> float:
        """The x of ``value`` on an axis from 0 (at the left) to ``hi`` (at the right)."""
        return round(self.left + self.plot_width * (value / hi if hi > 0 else 0.0), 2)


def nice_step(span: float, count: int = 5, *, whole: bool = False) -> float:
    """A round step (1, 2, 2.5 or 5 times a power of ten) that cuts ``span`` into about
    ``count`` parts; never zero. With ``whole``, a whole number of at least 1, since counts
    come in whole numbers (2.5 is then skipped below 10)."""
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if whole and magnitude < 10 else (1, 2, 2.5, 5, 10)
    step = float(next(m * magnitude for m in steps if m * magnitude >= raw - 1e-12))
    return max(1.0, step) if whole else step


def nice_ceiling(value: float, count: int = 5, *, whole: bool = True) -> tuple[float, float]:
    """(top of the axis, step) for values up to ``value``: a round top at or above it."""
    step = nice_step(value, count, whole=whole)
    top = step * max(1, math.ceil(value / step - 1e-9))
    return top, step


def _fmt(value: float) -> str:
    return f"{value:.0f}" if float(value).is_integer() else f"{value:g}"


def value_ticks(
    hi: float, step: float, at: Callable[[float], float], fmt: Callable[[float], str] = _fmt
) -> list[Tick]:
    """Ticks from 0 to ``hi`` every ``step``, placed by ``at(value)``."""
    ticks = []
    n = 0
    while n * step <= hi + 1e-9:
        value = round(n * step, 9)
        ticks.append(Tick(at(value), fmt(value)))
        n += 1
    return ticks


def category_ticks(labels: Sequence[str], centres: Sequence[float]) -> list[Tick]:
    """A label under every column, or under every k-th so that at most ``MAX_X_LABELS`` show."""
    every = max(1, math.ceil(len(labels) / MAX_X_LABELS))
    return [
        Tick(x, label)
        for i, (label, x) in enumerate(zip(labels, centres, strict=True))
        if i % every == 0
    ]


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    series: int  # which series it draws, for its colour class and the legend
    title: str  # what its tooltip says: "2 Mar, UPS: 4"


@dataclass(frozen=True)
class Plot:
    """Shapes of one chart: rectangles (columns or rows), polylines, dots and the axes' ticks."""

    frame: Frame
    rects: tuple[Rect, ...]
    lines: tuple[tuple[int, str], ...]  # (series, SVG polyline points)
    dots: tuple[tuple[int, float, float, str], ...]  # (series, x, y, tooltip)
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    horizontal: bool = False  # rows: the values run along x, the categories down y

    @property
    def empty(self) -> bool:
        return not self.rects and not self.dots


def _slots(n: int, frame: Frame) -> list[float]:
    """The centre x of each of ``n`` equal slots across the plot."""
    width = frame.plot_width / n if n else 0.0
    return [round(frame.left + width * (i + 0.5), 2) for i in range(n)]


def stacked_columns(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    frame: Frame | None = None,
) -> Plot:
    """A column per category, its series stacked bottom up in the order given.

    ``series`` are (name, one value per category); zeros draw nothing, negatives count as 0.
    """
    frame = frame or Frame()
    n = len(categories)
    totals = [sum(max(0.0, float(s[1][i] or 0.0)) for s in series) for i in range(n)]
    hi, step = nice_ceiling(max(totals, default=0.0))
    centres = _slots(n, frame)
    width = round(min(frame.plot_width / n * COLUMN_FILL, COLUMN_MAX), 2) if n else 0.0
    rects = []
    for i, label in enumerate(categories):
        base = 0.0
        for k, (name, values) in enumerate(series):
            value = max(0.0, float(values[i] or 0.0))
            if not value:
                continue
            y_top, y_bottom = frame.y_of(base + value, hi), frame.y_of(base, hi)
            rects.append(
                Rect(
                    round(centres[i] - width / 2, 2),
                    y_top,
                    width,
                    round(y_bottom - y_top, 2),
                    k,
                    f"{label}, {name}: {_fmt(value)}",
                )
            )
            base += value
    return Plot(
        frame,
        tuple(rects),
        (),
        (),
        tuple(category_ticks(categories, centres)),
        tuple(value_ticks(hi, step, lambda v: frame.y_of(v, hi))),
    )


def lines(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    frame: Frame | None = None,
) -> Plot:
    """A line per series across the categories; a missing value (None) breaks the line rather
    than drawing a made-up zero."""
    frame = frame or Frame()
    n = len(categories)
    values = [float(v) for _, vs in series for v in vs if v is not None and math.isfinite(float(v))]
    hi, step = nice_ceiling(max(values, default=0.0))
    centres = _slots(n, frame)
    polylines: list[tuple[int, str]] = []
    dots: list[tuple[int, float, float, str]] = []
    for k, (name, vs) in enumerate(series):
        run: list[str] = []
        for i, v in enumerate(vs):
            if v is None or not math.isfinite(float(v)):
                if run:
                    polylines.append((k, " ".join(run)))
                run = []
                continue
            x, y = centres[i], frame.y_of(max(0.0, float(v)), hi)
            run.append(f"{x},{y}")
            dots.append((k, x, y, f"{categories[i]}, {name}: {_fmt(float(v))}"))
        if run:
            polylines.append((k, " ".join(run)))
    return Plot(
        frame,
        (),
        tuple(polylines),
        tuple(dots),
        tuple(category_ticks(categories, centres)),
        tuple(value_ticks(hi, step, lambda v: frame.y_of(v, hi))),
    )


def row_frame(rows: int) -> Frame:
    """A frame tall enough for ``rows`` horizontal bars, with room for their names."""
    height = TOP + BOTTOM + max(1, rows) * (ROW_HEIGHT + ROW_GAP)
    return Frame(height=height, left=ROW_LABEL_WIDTH, bottom=height - BOTTOM)


def stacked_rows(
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
) -> Plot:
    """A horizontal bar per category (named at its left), its series stacked left to right."""
    frame = row_frame(len(categories))
    totals = [sum(max(0.0, float(s[1][i] or 0.0)) for s in series) for i in range(len(categories))]
    hi, step = nice_ceiling(max(totals, default=0.0))
    rects = []
    y_ticks = []
    for i, label in enumerate(categories):
        y = round(frame.top + ROW_GAP / 2 + i * (ROW_HEIGHT + ROW_GAP), 2)
        y_ticks.append(Tick(round(y + ROW_HEIGHT / 2, 2), label))
        base = 0.0
        for k, (name, values) in enumerate(series):
            value = max(0.0, float(values[i] or 0.0))
            if not value:
                continue
            x0, x1 = frame.x_of(base, hi), frame.x_of(base + value, hi)
            rects.append(
                Rect(x0, y, round(x1 - x0, 2), ROW_HEIGHT, k, f"{label}, {name}: {_fmt(value)}")
            )
            base += value
    return Plot(
        frame,
        tuple(rects),
        (),
        (),
        tuple(value_ticks(hi, step, lambda v: frame.x_of(v, hi))),
        tuple(y_ticks),
        horizontal=True,
    )
