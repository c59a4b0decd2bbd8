"""Screening rules: items released from quarantine sooner than the site expects, and items handed
over without a screening decision."""

from __future__ import annotations

from collections.abc import Iterator

from mailwarden.risk.rules import Context, Proposed, rule
from mailwarden.screening import queries

_SHOWN = 20  # item references listed in a finding's evidence


@rule(
    "fast-quarantine-release",
    "Items released from quarantine sooner than expected",
    uses=("quarantine_min_hours",),
)
def fast_quarantine_release(ctx: Context) -> Iterator[Proposed]:
    hours = float(ctx.thresholds["quarantine_min_hours"])
    for release in queries.quarantine_releases(ctx.site, ctx.period_start, ctx.period_end):
        dwell = release.dwell
        if dwell is None or dwell.total_seconds() >= hours * 3600:
            continue
        held = round(dwell.total_seconds() / 3600, 2)
        yield Proposed(
            subject=f"item:{release.item.uid}",
            title=f"{release.item.uid} left quarantine after {held} hours",
            evidence={
                "item": release.item.uid,
                "entered_at": release.entered_at.isoformat() if release.entered_at else "",
                "released_at": release.released_at.isoformat(),
                "hours_held": held,
                "expected_hours": hours,
                "proposed_by": release.request.proposed_by,
                "confirmed_by": release.request.confirmed_by,
            },
            suggested_treatment=(
                "Review why the item was released early and remind the quarantine team of the "
                "minimum holding time; confirm the release reason was recorded."
            ),
            threat="suspicious-package",
        )


@rule(
    "unscreened-deliveries",
    "Items handed over without screening",
    uses=("unscreened_share_max",),
)
def unscreened_deliveries(ctx: Context) -> Iterator[Proposed]:
    most = float(ctx.thresholds["unscreened_share_max"])
    found = queries.handed_over(ctx.site, ctx.period_start, ctx.period_end)
    share = found.share_unscreened
    if share is None or share <= most:
        return
    yield Proposed(
        subject=f"site:{ctx.site.code}",
        title=f"{share:.1%} of items handed over at {ctx.site.name} were not screened",
        evidence={
            "handed_over": found.total,
            "unscreened": len(found.unscreened),
            "share": round(share, 4),
            "allowed_share": most,
            "items": ", ".join(found.unscreened[:_SHOWN]),
        },
        suggested_treatment=(
            "Make screening a step no item can skip before hand-over, and check with the "
            "clerks why these items were cleared without a screener's decision."
        ),
        threat="suspicious-package",
    )
