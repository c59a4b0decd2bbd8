"""Read-side queries on TIP trials: a screener's measures, and how a training session went."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime

from mailwarden.training.measures import Measures
from mailwarden.training.models import TipOutcome, TipSession, TipTrial


def screener_measures(
    user_id: int, *, since: datetime | None = None, category: str | None = None
) -> Measures:
    """The screener's measures over their answered trials (both modes), optionally since a time
    and for one threat category (noise trials count for every category)."""
    trials = TipTrial.objects.filter(user_id=user_id).exclude(outcome="")
    if since is not None:
        trials = trials.filter(answered_at__gte=since)
    if category:
        trials = trials.filter(category__in=[category, ""])
    counts = {o: 0 for o in TipOutcome.values}
    for outcome in trials.values_list("outcome", flat=True):
        counts[outcome] += 1
    return Measures(
        signal_trials=counts[TipOutcome.HIT] + counts[TipOutcome.MISS],
        noise_trials=counts[TipOutcome.FALSE_ALARM] + counts[TipOutcome.CORRECT_REJECTION],
        hits=counts[TipOutcome.HIT],
        false_alarms=counts[TipOutcome.FALSE_ALARM],
    )


@dataclass(frozen=True)
class SessionSummary:
    measures: Measures
    answered: int
    size: int
    # category -> (hits, threat images of that category)
    by_category: dict[str, tuple[int, int]]
    median_response_ms: int | None


def session_summary(session: TipSession) -> SessionSummary:
    """How a session went: its measures, hits per category and the median response time."""
    rows = list(
        session.trials.exclude(outcome="").values_list("category", "outcome", "response_ms")
    )
    outcomes = [o for _, o, _ in rows]
    by_category: dict[str, tuple[int, int]] = {}
    for category, outcome, _ in rows:
        if category:
            hits, shown = by_category.get(category, (0, 0))
            by_category[category] = (hits + (outcome == TipOutcome.HIT), shown + 1)
    times = [ms for _, _, ms in rows if ms is not None]
    return SessionSummary(
        measures=Measures(
            signal_trials=outcomes.count(TipOutcome.HIT) + outcomes.count(TipOutcome.MISS),
            noise_trials=outcomes.count(TipOutcome.FALSE_ALARM)
            + outcomes.count(TipOutcome.CORRECT_REJECTION),
            hits=outcomes.count(TipOutcome.HIT),
            false_alarms=outcomes.count(TipOutcome.FALSE_ALARM),
        ),
        answered=len(rows),
        size=session.size,
        by_category=dict(sorted(by_category.items())),
        median_response_ms=round(statistics.median(times)) if times else None,
    )
