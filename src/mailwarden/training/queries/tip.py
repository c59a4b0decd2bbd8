"""Read-side queries on TIP trials: a screener's measures. (Helper C fills this in.)"""

from __future__ import annotations

from datetime import datetime

from mailwarden.training.measures import Measures
from mailwarden.training.models import TipOutcome, TipTrial


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
