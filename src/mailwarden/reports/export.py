"""A report chart as a file: CSV (the table behind it, formula-safe) or an A4 PDF with the chart,
its description, its figures and the table (WeasyPrint, as the risk report is made)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from mailwarden.core import clock
from mailwarden.core.csvsafe import csv_text
from mailwarden.reports import svg
from mailwarden.reports.figures import Figure
from mailwarden.reports.period import Period

# The console's stylesheet for the charts, which the PDF embeds so both draw the same colours.
CHART_CSS = Path(__file__).parent / "static" / "reports" / "charts.css"


def figure_csv(figure: Figure) -> str:
    return csv_text(figure.header, figure.rows)


def file_name(figure: Figure, period: Period, extension: str) -> str:
    return f"{figure.key}-{period.slug}.{extension}"


def figure_html(figure: Figure, period: Period) -> str:
    context: dict[str, Any] = {
        "figure": figure,
        "period": period,
        # svg.render escapes every text it writes.
        "chart": mark_safe(svg.render(figure)),
        "chart_css": mark_safe(CHART_CSS.read_text(encoding="utf-8")),
        "generated_at": clock.now(),
    }
    return render_to_string("reports/document.html", context)


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The document embeds everything it shows; a fetch could only come from injected markup.
    raise ValueError(f"the report may not load {url}")


def figure_pdf(figure: Figure, period: Period) -> bytes:
    import weasyprint  # heavy (Pango); loaded only when a PDF is asked for

    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    fetcher = fetcher_class(allowed_protocols=()) if fetcher_class else _refuse_fetch
    pdf = weasyprint.HTML(string=figure_html(figure, period), url_fetcher=fetcher).write_pdf()
    if not isinstance(pdf, bytes):
        raise RuntimeError("WeasyPrint returned no PDF bytes for a report chart")
    return pdf
