"""Incident-readiness rule: no drill or exercise at the site for too long."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from mailwarden.incidents.queries import exercises
from mailwarden.risk.rules import Context, Proposed, rule

_MONTH = timedelta(days=30)


@rule(
    "no-recent-drill",
    "No drill or exercise in the last months",
    uses=("drill_months",),
)
def no_recent_drill(ctx: Context) -> Iterator[Proposed]:
    months = int(ctx.thresholds["drill_months"])
    last = exercises.last_exercise(ctx.site, before=ctx.now)
    recent = ctx.now - months * _MONTH
    if last is not None and last.started_at is not None and last.started_at >= recent:
        return
    yield Proposed(
        subject=f"site:{ctx.site.code}",
        title=f"No drill or exercise at {ctx.site.name} in the last {months} months",
        evidence={
            "last_exercise": last.name if last else "none",
            "last_started_at": last.started_at.isoformat() if last and last.started_at else "",
            "months": months,
        },
        suggested_treatment=(
            "Plan and run a suspicious-mail drill (e.g. a tabletop or a functional exercise) "
            "and record its after-action report."
        ),
        threat="suspicious-package",
    )
