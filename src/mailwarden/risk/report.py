"""The assessment report: the heatmap, the register, the treatment plan and what changed since
the last assessment, as one HTML document and as an A4 PDF made from it (WeasyPrint).

The console pages, the API and the PDF all build on :func:`report_context`, so they agree.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from mailwarden.core import clock
from mailwarden.risk.heatmap import heatmap_svg
from mailwarden.risk.models import Assessment, Risk
from mailwarden.risk.queries.diff import Change, diff
from mailwarden.risk.queries.register import RegisterRow, register, treatment_plan
from mailwarden.risk.scoring import Level, Method, MethodError, method


def scorer_of(assessment: Assessment) -> Method | None:
    """The assessment's scoring method, or None when its slug or parameters are no longer valid
    (the pages then say so instead of failing)."""
    try:
        return method(assessment.method, assessment.method_params)
    except MethodError:
        return None


def heatmap_of(assessment: Assessment, *, ident: str = "heatmap") -> SafeString:
    scorer = scorer_of(assessment)
    if scorer is None:
        return mark_safe("")
    # heatmap_svg escapes every text it writes.
    return mark_safe(heatmap_svg(scorer, Risk.objects.filter(assessment=assessment), ident=ident))


def level_counts(rows: list[RegisterRow]) -> list[dict[str, Any]]:
    """How many open or treated risks sit at each level, inherent and residual."""
    live = [r for r in rows if r.state != "closed"]
    return [
        {
            "level": level,
            "inherent": sum(1 for r in live if r.inherent_level == level),
            "residual": sum(1 for r in live if r.residual_level == level),
        }
        for level in reversed(Level.ORDER)
    ]


def report_context(assessment: Assessment, *, now: datetime | None = None) -> dict[str, Any]:
    """Everything the report shows, for the console pages and the PDF alike."""
    now = now or clock.now()
    tz = zoneinfo.ZoneInfo(assessment.site.timezone)
    scorer = scorer_of(assessment)
    rows = register(assessment, now=now)
    plan = treatment_plan(assessment, now=now, rows=rows)
    changes = diff(assessment)
    return {
        "assessment": assessment,
        "site": assessment.site,
        "method_title": scorer.title if scorer else assessment.method,
        "method_ok": scorer is not None,
        "factors": scorer.factors if scorer else (),
        "heatmap": heatmap_of(assessment),
        "rows": rows,
        "plan": plan,
        "levels": level_counts(rows),
        "flagged": [r for r in rows if r.flagged],
        "overdue": [t for t in plan if t.overdue],
        "diff": changes,
        "changed": {c.value: changes.of(c) for c in Change},
        "generated_at": now.astimezone(tz),
        "tz": tz.key,
    }


def report_html(assessment: Assessment, *, now: datetime | None = None) -> str:
    """The report as a standalone HTML document (what the PDF is made from)."""
    return render_to_string("risk/report/document.html", report_context(assessment, now=now))


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The document embeds everything it shows; a fetch could only come from injected markup.
    raise ValueError(f"the report may not load {url}")


def report_pdf(assessment: Assessment, *, now: datetime | None = None) -> bytes:
    """The report as an A4 PDF."""
    import weasyprint  # heavy (Pango); loaded only when a PDF is asked for

    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    fetcher = fetcher_class(allowed_protocols=()) if fetcher_class else _refuse_fetch
    html = report_html(assessment, now=now)
    pdf = weasyprint.HTML(string=html, url_fetcher=fetcher).write_pdf()
    if not isinstance(pdf, bytes):
        raise RuntimeError("WeasyPrint returned no PDF bytes for a risk report")
    return pdf
