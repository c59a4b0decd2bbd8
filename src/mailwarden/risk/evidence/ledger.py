"""Evidence from the ledger: no failed verification, the newest entries intact, and a recent
signed checkpoint."""

from __future__ import annotations

from datetime import datetime, timedelta

from mailwarden.config import get_settings
from mailwarden.contracts.events import LedgerVerifyFailed
from mailwarden.core import checkpoints, ledger
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.directory.models import Site
from mailwarden.risk.evidence import Measurement, measure

# The newest entries re-hashed on each evaluation: enough to catch a recent edit, quick enough
# for the periodic job (the full walk is `mailwarden ledger verify`'s work).
RECENT_ENTRIES = 500
# When checkpoints are not scheduled, one a day is what an auditor expects.
DEFAULT_MAX_AGE = timedelta(hours=25)


def max_checkpoint_age() -> timedelta:
    interval = get_settings().ledger_checkpoint_interval_s
    # Twice the schedule: one missed tick is noise, two are a stopped writer.
    return timedelta(seconds=2 * interval) if interval else DEFAULT_MAX_AGE


@measure("ledger_status", "Ledger verification and checkpoints", "ok", {"min": 1.0})
def ledger_status(site: Site, start: datetime, end: datetime, ref: str) -> Measurement:
    """1 when no check of the ledger failed in the period, the newest entries hash and link up,
    and the newest checkpoint is recent at the end of the period; 0 otherwise."""
    failed = OutboxEvent.objects.filter(
        topic=LedgerVerifyFailed.TOPIC, created_at__gte=start, created_at__lt=end
    ).count()
    recent = list(LedgerEntry.objects.filter(created_at__lt=end).order_by("-seq")[:RECENT_ENTRIES])
    problems = ledger.check_entries(recent)
    newest = (
        LedgerEntry.objects.filter(action=checkpoints.ACTION, created_at__lt=end)
        .order_by("-seq")
        .values_list("created_at", flat=True)
        .first()
    )
    age_hours = round((end - newest).total_seconds() / 3600, 2) if newest else None
    fresh = newest is not None and end - newest <= max_checkpoint_age()
    ok = not failed and not problems and fresh
    reasons = []
    if failed:
        reasons.append(f"{failed} failed verifications")
    if problems:
        reasons.append(f"entry {problems[0].seq} {problems[0].detail}")
    if newest is None:
        reasons.append("no checkpoint")
    elif not fresh:
        reasons.append(f"newest checkpoint {age_hours} h old")
    summary = "ledger verified, newest checkpoint recent" if ok else "; ".join(reasons)
    if ok and age_hours is not None:
        summary = f"ledger verified; newest checkpoint {age_hours} h old"
    return Measurement(
        1.0 if ok else 0.0,
        "ok",
        summary,
        {
            "failed_verifications": failed,
            "recent_entries_checked": len(recent),
            "recent_problems": len(problems),
            "checkpoint_age_hours": age_hours,
            "checkpoint_max_age_hours": max_checkpoint_age().total_seconds() / 3600,
        },
    )
