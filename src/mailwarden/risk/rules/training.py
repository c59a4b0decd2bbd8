"""Training rule: screeners whose TIP d′ is below the site's bar."""

from __future__ import annotations

from collections.abc import Iterator

from mailwarden.risk.rules import Context, Proposed, rule
from mailwarden.training.queries import compliance, proficiency


def bar(ctx: Context) -> tuple[float, str]:
    """The d′ a screener should reach, and where the figure comes from."""
    if ctx.thresholds.get("dprime_bar") is not None:
        return float(ctx.thresholds["dprime_bar"]), "site threshold"
    course_bars = [
        (c.min_dprime, c.slug)
        for c in compliance.duty_courses("screening")
        if c.min_dprime is not None
    ]
    if course_bars:
        value, slug = max(course_bars)
        return float(value), f"course {slug}"
    return float(ctx.thresholds["dprime_fallback"]), "default"


@rule(
    "low-dprime",
    "Screeners whose d′ is below the bar",
    uses=("dprime_bar", "dprime_fallback", "dprime_min_trials"),
)
def low_dprime(ctx: Context) -> Iterator[Proposed]:
    wanted, source = bar(ctx)
    least = int(ctx.thresholds["dprime_min_trials"])
    at_site = proficiency.site_screener_ids(ctx.site.pk, ctx.period_start)
    for row in proficiency.screeners(since=ctx.period_start):
        measures = row.proficiency.measures
        dprime = measures.dprime
        if row.user_id not in at_site or measures.trials < least or dprime is None:
            continue
        if dprime >= wanted:
            continue
        yield Proposed(
            subject=f"user:{row.user_id}",
            title=f"{row.name or row.username}'s d′ is {dprime:.2f}, below the bar of {wanted:g}",
            evidence={
                "screener": row.name or row.username,
                "dprime": round(dprime, 2),
                "bar": wanted,
                "bar_from": source,
                "trials": measures.trials,
                "hit_rate": round(measures.hit_rate or 0.0, 3),
                "false_alarm_rate": round(measures.false_alarm_rate or 0.0, 3),
            },
            suggested_treatment=(
                "Give the screener refresher training and more TIP practice; pair them with an "
                "experienced screener until their d′ reaches the bar."
            ),
            threat="suspicious-package",
        )
