"""The heatmap of an assessment: its method's two axes, how many risks fall in each cell,
inherent and residual side by side. An SVG drawn on the server, so the console, the API and the
PDF show the same picture and nothing is fetched.

A cell takes the colour of the highest level among the risks in it; an empty cell is grey.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from mailwarden.risk.models import Risk, RiskState
from mailwarden.risk.scoring import Level, Method, MethodError

COLOURS = {
    Level.LOW: "#2f855a",
    Level.MEDIUM: "#d69e2e",
    Level.HIGH: "#dd6b20",
    Level.CRITICAL: "#c53030",
}
EMPTY = "#edf2f7"
# Counts on the darker colours are written in white to stay legible.
TEXT_ON = {Level.LOW: "#ffffff", Level.HIGH: "#ffffff", Level.CRITICAL: "#ffffff"}
PANEL = 300  # the grid's side at most, in SVG units
CELL_MAX = 44
LEFT = 56
TOP = 48
GAP = 96
BOTTOM = 64
LEGEND_H = 28


@dataclass
class Grid:
    """Risk counts per (row, column), and the highest level seen in each cell."""

    rows: int
    cols: int
    counts: dict[tuple[int, int], int] = field(default_factory=dict)
    levels: dict[tuple[int, int], str] = field(default_factory=dict)
    unplaced: int = 0

    def add(self, cell: tuple[int, int], level: str) -> None:
        row, col = cell
        if not (0 <= row < self.rows and 0 <= col < self.cols):
            self.unplaced += 1
            return
        self.counts[cell] = self.counts.get(cell, 0) + 1
        seen = self.levels.get(cell)
        if seen is None or _rank(level) > _rank(seen):
            self.levels[cell] = level

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _rank(level: str) -> int:
    return Level.ORDER.index(level) if level in Level.ORDER else -1


def _place(grid: Grid, scorer: Method, values: Mapping[str, int], level: str) -> None:
    if not values or not level:
        grid.unplaced += 1
        return
    try:
        cell = scorer.cell(values)
    except (MethodError, KeyError, TypeError, ValueError):
        grid.unplaced += 1  # factor values the method no longer accepts
        return
    grid.add(cell, level)


def grids(scorer: Method, risks: Iterable[Risk]) -> tuple[Grid, Grid]:
    """Inherent and residual grids of the risks still on the register (closed ones are left out;
    a risk without complete values is counted as unplaced)."""
    (_, rows), (_, cols) = scorer.axes
    inherent, residual = Grid(rows, cols), Grid(rows, cols)
    for risk in risks:
        if risk.state == RiskState.CLOSED:
            continue
        _place(inherent, scorer, risk.inherent, risk.inherent_level)
        _place(residual, scorer, risk.residual, risk.residual_level)
    return inherent, residual


def _label_step(cell: float) -> int:
    """Label every row and column when the cells are wide enough, else every few, so the
    numbers of a long axis do not overlap."""
    for step in (1, 2, 5, 10):
        if cell * step >= 14:
            return step
    return 20


def _panel(grid: Grid, x0: float, name: str, axes: tuple[tuple[str, int], tuple[str, int]]) -> str:
    (row_title, rows), (col_title, cols) = axes
    cell = min(CELL_MAX, PANEL / max(rows, cols))
    width, height = cell * cols, cell * rows
    parts = [
        f'<g class="heat-panel" data-panel="{name}">',
        f'<text x="{x0 + width / 2:g}" y="{TOP - 14}" text-anchor="middle" font-weight="bold">'
        f"{name.capitalize()}</text>",
    ]
    every = _label_step(cell)
    for row in range(rows):
        # Row 0 at the bottom: the higher the row, the more likely (or severe) the risk.
        y = TOP + height - (row + 1) * cell
        if (row + 1) % every == 0 or row == 0:
            parts.append(
                f'<text x="{x0 - 6:g}" y="{y + cell / 2 + 4:g}" text-anchor="end">{row + 1}</text>'
            )
        for col in range(cols):
            x = x0 + col * cell
            count = grid.counts.get((row, col), 0)
            level = grid.levels.get((row, col), "")
            fill = COLOURS.get(level, EMPTY)
            label = f"{name}, {row_title} {row + 1}, {col_title} {col + 1}: " + (
                f"{count} risk{'s' if count != 1 else ''}, highest {level}" if count else "none"
            )
            parts.append(
                f'<rect class="heat-cell" x="{x:g}" y="{y:g}" width="{cell:g}" height="{cell:g}" '
                f'fill="{fill}" stroke="#ffffff" stroke-width="2" data-row="{row}" '
                f'data-col="{col}" data-count="{count}" data-level={quoteattr(level)}>'
                f"<title>{escape(label)}</title></rect>"
            )
            if count:
                parts.append(
                    f'<text class="heat-count" x="{x + cell / 2:g}" y="{y + cell / 2 + 5:g}" '
                    f'text-anchor="middle" font-size="14" font-weight="bold" '
                    f'fill="{TEXT_ON.get(level, "#1a202c")}">{count}</text>'
                )
    for col in range(cols):
        if (col + 1) % every and col:
            continue
        parts.append(
            f'<text x="{x0 + col * cell + cell / 2:g}" y="{TOP + height + 16:g}" '
            f'text-anchor="middle">{col + 1}</text>'
        )
    parts.append(
        f'<text x="{x0 + width / 2:g}" y="{TOP + height + 36:g}" text-anchor="middle">'
        f"{escape(col_title)} \u2192</text>"
    )
    mid = TOP + height / 2
    parts.append(
        f'<text x="{x0 - 34:g}" y="{mid:g}" text-anchor="middle" '
        f'transform="rotate(-90 {x0 - 34:g} {mid:g})">{escape(row_title)} \u2192</text>'
    )
    parts.append("</g>")
    return "".join(parts)


def _legend(y: float) -> str:
    parts = []
    x = float(LEFT)
    for level in Level.ORDER:
        parts.append(
            f'<rect x="{x:g}" y="{y:g}" width="12" height="12" fill="{COLOURS[level]}"/>'
            f'<text x="{x + 16:g}" y="{y + 10:g}">{level}</text>'
        )
        x += 80
    parts.append(
        f'<rect x="{x:g}" y="{y:g}" width="12" height="12" fill="{EMPTY}" stroke="#cbd5e0"/>'
        f'<text x="{x + 16:g}" y="{y + 10:g}">no risk</text>'
    )
    return "".join(parts)


def heatmap_svg(scorer: Method, risks: Iterable[Risk], *, ident: str = "heatmap") -> str:
    """The inherent and residual heatmaps of ``risks`` as one SVG; ``ident`` keeps the ids of
    its title and description unique on a page that shows several."""
    inherent, residual = grids(scorer, list(risks))
    axes = scorer.axes
    (row_title, rows), (col_title, cols) = axes
    cell = min(CELL_MAX, PANEL / max(rows, cols))
    panel_w, panel_h = cell * cols, cell * rows
    width = LEFT + panel_w + GAP + panel_w + 24
    height = TOP + panel_h + BOTTOM + LEGEND_H
    unplaced = max(inherent.unplaced, residual.unplaced)
    desc = (
        f"{scorer.title}: risks counted by {row_title} (rows, 1 at the bottom) and {col_title} "
        f"(columns), before controls (inherent: {inherent.total} placed) and after them "
        f"(residual: {residual.total} placed). A cell is coloured by the highest level of the "
        "risks in it."
    )
    if unplaced:
        desc += " Risks not yet scored, or scored outside the method's scales, are left out "
        desc += f"(inherent {inherent.unplaced}, residual "
        desc += f"{residual.unplaced})."
    ident = "".join(ch for ch in ident if ch.isalnum() or ch in "-_") or "heatmap"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="risk-heatmap" width="{width:g}" '
        f'height="{height:g}" viewBox="0 0 {width:g} {height:g}" role="img" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="sans-serif" font-size="11">',
        f'<title id="{ident}-title">Risk heatmap, inherent and residual</title>',
        f'<desc id="{ident}-desc">{escape(desc)}</desc>',
        _panel(inherent, LEFT, "inherent", axes),
        _panel(residual, LEFT + panel_w + GAP, "residual", axes),
        _legend(TOP + panel_h + BOTTOM - 8),
        "</svg>",
    ]
    return "".join(parts)
