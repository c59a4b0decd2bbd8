"""Evidence from training: who holds a current certificate, and how well screeners detect
threats in TIP trials (d′)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime

from django.contrib.auth import get_user_model

from mailwarden.directory.models import Site
from mailwarden.risk.evidence import Measurement, measure, percent
from mailwarden.training.models import TipTrial
from mailwarden.training.queries.compliance import Filters, Standing, standings
from mailwarden.training.queries.proficiency import Answered, measures_of

# Holding a certificate today: due soon is still compliant.
COMPLIANT = (Standing.CURRENT, Standing.DUE_SOON)


@measure(
    "training_compliance",
    "Training compliance",
    "share",
    {"min": 0.95},
    ref_kind="training.course",
)
def training_compliance(site: Site, start: datetime, end: datetime, ref: str) -> Measurement:
    """The share of the people at the site who need a course (the linked one, or every active
    course) and held a current certificate at the end of the period."""
    rows = standings(Filters(site=site.code, course=ref or None), now=end)
    if not rows:
        return Measurement(None, "share", "nobody at the site needs the training")
    counts = {s.value: 0 for s in Standing}
    for row in rows:
        counts[row.standing.value] += 1
    compliant = sum(counts[s.value] for s in COMPLIANT)
    share = compliant / len(rows)
    what = f"course {ref}" if ref else "their courses"
    return Measurement(
        share,
        "share",
        f"{percent(share)} of {len(rows)} required trainings current ({what})",
        {"required": len(rows), "compliant": compliant, **counts},
    )


def _name(user: object) -> str:
    full = getattr(user, "get_full_name", lambda: "")()
    return str(full or getattr(user, "username", ""))


@measure("screener_dprime", "Screener d′", "d′", {"min": 1.5})
def screener_dprime(site: Site, start: datetime, end: datetime, ref: str) -> Measurement:
    """The lowest d′ among the screeners who answered TIP trials at the site in the period (each
    needs threat and clear trials for a d′); the median is in the detail."""
    by_user: dict[int, list[Answered]] = defaultdict(list)
    for user_id, category, outcome, response_ms, answered_at, mode in (
        TipTrial.objects.filter(site=site, answered_at__gte=start, answered_at__lt=end)
        .exclude(outcome="")
        .values_list("user_id", "category", "outcome", "response_ms", "answered_at", "mode")
    ):
        if answered_at is not None:
            by_user[user_id].append(Answered(category, outcome, response_ms, answered_at, mode))
    names = {u.pk: _name(u) for u in get_user_model().objects.filter(pk__in=list(by_user))}
    scored: list[tuple[float, str, int]] = []
    for user_id, trials in by_user.items():
        proficiency = measures_of(trials)
        dprime = proficiency.measures.dprime
        if dprime is not None:
            scored.append((round(dprime, 2), names.get(user_id, str(user_id)), proficiency.trials))
    if not scored:
        return Measurement(None, "d′", "no screener has a d′ from trials in the period")
    scored.sort()
    lowest, who, _ = scored[0]
    median = round(statistics.median(d for d, _, _ in scored), 2)
    return Measurement(
        lowest,
        "d′",
        f"lowest d′ {lowest} ({who}) among {len(scored)} screeners; median {median}",
        {
            "screeners": [{"name": n, "dprime": d, "trials": t} for d, n, t in scored],
            "median": median,
        },
    )
