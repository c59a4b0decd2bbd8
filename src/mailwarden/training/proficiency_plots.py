"""The geometry of the proficiency page's plots, drawn as SVG by its templates on the server (no
chart library in the browser): a line over the weeks for d′ and for the hit rate, and a bar per
threat category. Pure arithmetic; a value that is missing (a week with no noise trials has no d′)
leaves a gap in the line rather than a made-up zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 560
HEIGHT = 200
# Room for the axis labels on the left and below.
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 12, 28


@dataclass(frozen=True)
class Dot:
    x: float
    y: float
    label: str  # what the point's tooltip says


@dataclass(frozen=True)
class Tick:
    at: float
    label: str


@dataclass(frozen=True)
class LineChart:
    title: str
    width: int
    height: int
    lines: list[str]  # each an SVG polyline's points: a break in the data starts a new one
    dots: list[Dot]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    left: int = LEFT
    right: float = WIDTH - RIGHT
    top: int = TOP
    bottom: float = HEIGHT - BOTTOM

    @property
    def empty(self) -> bool:
        return not self.dots


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    span = hi - lo
    raw = span / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    value = first
    while value <= hi + 1e-9:
        ticks.append(round(value, 6))
        value += step
    return ticks


def line_chart(
    title: str,
    points: Sequence[tuple[str, float | None]],
    *,
    lo: float,
    hi: float,
    fmt: Callable[[float], str],
    grow: bool = False,
) -> LineChart:
    """``points`` are (x label, value or None) in order; the y axis runs from ``lo`` to ``hi``,
    widened to take every value when ``grow``."""
    values = [v for _, v in points if v is not None and math.isfinite(v)]
    if grow and values:
        lo, hi = min(lo, math.floor(min(values))), max(hi, math.ceil(max(values)))
    if hi <= lo:
        hi = lo + 1
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM
    n = len(points)

    def x_of(i: int) -> float:
        return LEFT + (plot_w * (i + 0.5) / n if n else 0)

    def y_of(v: float) -> float:
        return TOP + plot_h * (1 - (v - lo) / (hi - lo))

    lines: list[str] = []
    dots: list[Dot] = []
    current: list[str] = []
    for i, (label, value) in enumerate(points):
        if value is None or not math.isfinite(value):
            if current:
                lines.append(" ".join(current))
            current = []
            continue
        x, y = round(x_of(i), 1), round(y_of(value), 1)
        current.append(f"{x},{y}")
        dots.append(Dot(x, y, f"{label}: {fmt(value)}"))
    if current:
        lines.append(" ".join(current))
    # Label at most about eight weeks along the axis.
    every = max(1, math.ceil(n / 8))
    x_ticks = [
        Tick(round(x_of(i), 1), label) for i, (label, _) in enumerate(points) if i % every == 0
    ]
    y_ticks = [Tick(round(y_of(v), 1), fmt(v)) for v in _nice_ticks(lo, hi)]
    return LineChart(title, WIDTH, HEIGHT, lines, dots, y_ticks, x_ticks)


@dataclass(frozen=True)
class Bar:
    label: str
    percent: float  # of the bar's track, 0 to 100
    text: str  # the value, as shown beside the bar
    note: str  # "12 trials", or why there is no value
    missing: bool


def bars(
    rows: Sequence[tuple[str, float | None, str]], *, hi: float, fmt: Callable[[float], str]
) -> list[Bar]:
    """A bar per (label, value or None, note), scaled so ``hi`` (or the largest value) fills the
    track; a value below zero draws no bar but still shows its number."""
    values = [v for _, v, _ in rows if v is not None and math.isfinite(v)]
    top = max([hi, *values])
    found = []
    for label, value, note in rows:
        if value is None or not math.isfinite(value):
            found.append(Bar(label, 0.0, "\N{EN DASH}", note, True))
            continue
        percent = max(0.0, min(100.0, 100 * value / top)) if top > 0 else 0.0
        found.append(Bar(label, round(percent, 1), fmt(value), note, False))
    return found
