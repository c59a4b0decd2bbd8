"""A report chart as SVG text: the plot from ``reports.charts``, its axes with their titles,
and a legend. Colours come from CSS classes (``rc-s0`` ... for the series), never from inline
styles, so the console's Content-Security-Policy holds; the PDF passes the same stylesheet.

Every text written is escaped; the SVG names itself with ``role="img"`` and an ``aria-label``,
and carries its description as ``<title>``/``<desc>``.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from mailwarden.reports import charts
from mailwarden.reports.figures import Figure, Kind

LEGEND_GAP = 18
SWATCH = 10


def plot_of(figure: Figure) -> charts.Plot:
    categories = list(figure.categories)
    if figure.kind == Kind.LINE:
        return charts.lines(categories, [(s.name, list(s.values)) for s in figure.series])
    data = [(s.name, list(s.values)) for s in figure.series]
    if figure.kind == Kind.ROWS:
        return charts.stacked_rows(categories, data)
    return charts.stacked_columns(categories, data)


def _series_class(figure: Figure, index: int) -> str:
    return f"rc-s{index % 8} rc-{figure.series[index].key}"


def render(figure: Figure, *, ident: str | None = None) -> str:
    """The figure as one ``<svg>`` element."""
    plot = plot_of(figure)
    frame = plot.frame
    legend_y = frame.height - 12
    ident = ident or f"chart-{figure.key}"
    out = [
        f'<svg class="report-chart rc-{figure.kind.value}" xmlns="http://www.w3.org/2000/svg" '
        f'viewBox="0 0 {frame.width} {frame.height}" role="img" '
        f"aria-labelledby={quoteattr(ident + '-t')} aria-describedby={quoteattr(ident + '-d')}>",
        f"<title id={quoteattr(ident + '-t')}>{escape(figure.title)}</title>",
        f"<desc id={quoteattr(ident + '-d')}>{escape(figure.description)}</desc>",
    ]
    # Grid lines and value ticks.
    if plot.horizontal:
        for t in plot.x_ticks:
            out.append(
                f'<line class="rc-grid" x1="{t.at}" x2="{t.at}" y1="{frame.top}" '
                f'y2="{frame.bottom}"/>'
                f'<text class="rc-tick" x="{t.at}" y="{frame.bottom + 14}" '
                f'text-anchor="middle">{escape(t.label)}</text>'
            )
        for t in plot.y_ticks:
            out.append(
                f'<text class="rc-tick rc-name" x="{frame.left - 8}" y="{t.at}" '
                f'text-anchor="end" dominant-baseline="middle">{escape(t.label)}</text>'
            )
    else:
        for t in plot.y_ticks:
            out.append(
                f'<line class="rc-grid" x1="{frame.left}" x2="{frame.right}" y1="{t.at}" '
                f'y2="{t.at}"/>'
                f'<text class="rc-tick" x="{frame.left - 6}" y="{t.at}" text-anchor="end" '
                f'dominant-baseline="middle">{escape(t.label)}</text>'
            )
        for t in plot.x_ticks:
            out.append(
                f'<text class="rc-tick" x="{t.at}" y="{frame.bottom + 14}" '
                f'text-anchor="middle">{escape(t.label)}</text>'
            )
    # The axes themselves.
    out.append(
        f'<line class="rc-axis" x1="{frame.left}" x2="{frame.left}" y1="{frame.top}" '
        f'y2="{frame.bottom}"/>'
        f'<line class="rc-axis" x1="{frame.left}" x2="{frame.right}" y1="{frame.bottom}" '
        f'y2="{frame.bottom}"/>'
    )
    for r in plot.rects:
        out.append(
            f'<rect class="{_series_class(figure, r.series)}" x="{r.x}" y="{r.y}" '
            f'width="{r.width}" height="{r.height}"><title>{escape(r.title)}</title></rect>'
        )
    for series, points in plot.lines:
        out.append(f'<polyline class="rc-line {_series_class(figure, series)}" points="{points}"/>')
    for series, x, y, title in plot.dots:
        out.append(
            f'<circle class="rc-dot {_series_class(figure, series)}" cx="{x}" cy="{y}" r="3">'
            f"<title>{escape(title)}</title></circle>"
        )
    # Axis titles: the value axis's along its side, the category axis's below it.
    value_label, category_label = (
        (figure.x_label, figure.y_label) if plot.horizontal else (figure.y_label, figure.x_label)
    )
    middle_y = round((frame.top + frame.bottom) / 2, 2)
    middle_x = round((frame.left + frame.right) / 2, 2)
    if plot.horizontal:
        out.append(
            f'<text class="rc-label" x="{middle_x}" y="{frame.bottom + 32}" '
            f'text-anchor="middle">{escape(value_label)}</text>'
            # The rows' names stand on the left, under their heading.
            f'<text class="rc-label" x="{frame.left - 8}" y="{frame.top - 2}" '
            f'text-anchor="end">{escape(category_label)}</text>'
        )
    else:
        out.append(
            f'<text class="rc-label" x="14" y="{middle_y}" text-anchor="middle" '
            f'transform="rotate(-90 14 {middle_y})">{escape(value_label)}</text>'
            f'<text class="rc-label" x="{middle_x}" y="{frame.bottom + 32}" '
            f'text-anchor="middle">{escape(category_label)}</text>'
        )
    # The legend, along the bottom.
    x = float(frame.left)
    for k, s in enumerate(figure.series):
        out.append(
            f'<rect class="rc-swatch {_series_class(figure, k)}" x="{x}" '
            f'y="{legend_y - SWATCH + 1}" width="{SWATCH}" height="{SWATCH}"/>'
            f'<text class="rc-legend" x="{x + SWATCH + 4}" y="{legend_y}">{escape(s.name)}</text>'
        )
        x += SWATCH + 4 + 7 * len(s.name) + LEGEND_GAP
    if figure.empty:
        out.append(
            f'<text class="rc-empty" x="{middle_x}" y="{middle_y}" text-anchor="middle">'
            "Nothing in this period</text>"
        )
    out.append("</svg>")
    return "".join(out)
