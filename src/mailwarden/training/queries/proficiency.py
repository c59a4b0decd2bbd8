"""Screener proficiency from TIP trials, training and live: per screener and per threat category
the hit and false-alarm rates, d′, c, A′ and the median response time, and the same by week.

A noise trial (an image with no threat) says nothing about any one category, so it counts in
every category's false-alarm rate, as :func:`queries.tip.screener_measures` counts it. Live
trials are all signal trials: on a real bag nobody knows whether a "threat" answer was false.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Q

from mailwarden.core.errors import NotFound
from mailwarden.core.roles import Role
from mailwarden.directory.models import Recipient
from mailwarden.training.measures import Measures
from mailwarden.training.models import TipMode, TipOutcome, TipTrial
from mailwarden.xray.tip import CATEGORIES

NO_TRIALS = "no trials yet"


@dataclass(frozen=True)
class Answered:
    """One answered trial, as the measures need it."""

    category: str
    outcome: str
    response_ms: int | None
    answered_at: datetime
    mode: str


@dataclass(frozen=True)
class Proficiency:
    """Measures over a set of answered trials, with the median response time."""

    measures: Measures
    median_ms: int | None
    live_trials: int = 0

    @property
    def trials(self) -> int:
        return self.measures.trials

    @property
    def has_trials(self) -> bool:
        return self.measures.trials > 0


@dataclass(frozen=True)
class CategoryRow:
    category: str
    proficiency: Proficiency


@dataclass(frozen=True)
class WeekPoint:
    week: date  # the Monday the week starts on
    proficiency: Proficiency


@dataclass(frozen=True)
class ScreenerRow:
    user_id: int
    username: str
    name: str
    proficiency: Proficiency
    last_answered: datetime | None


@dataclass(frozen=True)
class ScreenerDetail:
    row: ScreenerRow
    categories: list[CategoryRow]
    weeks: list[WeekPoint]


def measures_of(trials: Iterable[Answered]) -> Proficiency:
    counts: dict[str, int] = defaultdict(int)
    times: list[int] = []
    live = 0
    for trial in trials:
        counts[trial.outcome] += 1
        if trial.response_ms is not None:
            times.append(trial.response_ms)
        live += trial.mode == TipMode.LIVE
    measures = Measures(
        signal_trials=counts[TipOutcome.HIT] + counts[TipOutcome.MISS],
        noise_trials=counts[TipOutcome.FALSE_ALARM] + counts[TipOutcome.CORRECT_REJECTION],
        hits=counts[TipOutcome.HIT],
        false_alarms=counts[TipOutcome.FALSE_ALARM],
    )
    median = round(statistics.median(times)) if times else None
    return Proficiency(measures, median, live)


def _answered(user_ids: Sequence[int] | None = None, since: datetime | None = None) -> Q:
    query = Q(answered_at__isnull=False) & ~Q(outcome="")
    if user_ids is not None:
        query &= Q(user_id__in=list(user_ids))
    if since is not None:
        query &= Q(answered_at__gte=since)
    return query


def _trials_by_user(
    user_ids: Sequence[int] | None = None, since: datetime | None = None
) -> dict[int, list[Answered]]:
    found: dict[int, list[Answered]] = defaultdict(list)
    rows = TipTrial.objects.filter(_answered(user_ids, since)).values_list(
        "user_id", "category", "outcome", "response_ms", "answered_at", "mode"
    )
    for user_id, category, outcome, response_ms, answered_at, mode in rows.order_by(
        "answered_at", "id"
    ):
        if answered_at is not None:
            found[user_id].append(Answered(category, outcome, response_ms, answered_at, mode))
    return found


def _name(user: object) -> str:
    full = getattr(user, "get_full_name", lambda: "")()
    return str(full or getattr(user, "username", ""))


def screeners(since: datetime | None = None) -> list[ScreenerRow]:
    """Everyone who screens or has answered TIP trials, most trials first, then by name; those
    with no trials are listed too, so a manager sees who has not started."""
    by_user = _trials_by_user(since=since)
    users = get_user_model().objects.filter(
        Q(pk__in=list(by_user)) | Q(is_active=True, groups__name=Role.SCREENER.value)
    )
    rows = []
    for user in users.distinct():
        trials = by_user.get(user.pk, [])
        rows.append(
            ScreenerRow(
                user_id=user.pk,
                username=user.get_username(),
                name=_name(user),
                proficiency=measures_of(trials),
                last_answered=trials[-1].answered_at if trials else None,
            )
        )
    rows.sort(key=lambda r: (-r.proficiency.trials, r.name.casefold(), r.user_id))
    return rows


def _monday(when: datetime) -> date:
    day = when.date()
    return day - timedelta(days=day.weekday())


def weekly(trials: Sequence[Answered]) -> list[WeekPoint]:
    """Each week's measures, from the first week with an answer to the last, weeks without
    answers left out."""
    weeks: dict[date, list[Answered]] = defaultdict(list)
    for trial in trials:
        weeks[_monday(trial.answered_at)].append(trial)
    return [WeekPoint(week, measures_of(weeks[week])) for week in sorted(weeks)]


def by_category(trials: Sequence[Answered]) -> list[CategoryRow]:
    noise = [t for t in trials if not t.category]
    return [
        CategoryRow(category, measures_of([*(t for t in trials if t.category == category), *noise]))
        for category in CATEGORIES
    ]


def screener(user_id: int, since: datetime | None = None) -> ScreenerDetail:
    """One screener's proficiency: overall, per threat category, and by week."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound(f"no person {user_id}", "user_id")
    trials = _trials_by_user([user_id], since).get(user_id, [])
    row = ScreenerRow(
        user_id=user.pk,
        username=user.get_username(),
        name=_name(user),
        proficiency=measures_of(trials),
        last_answered=trials[-1].answered_at if trials else None,
    )
    return ScreenerDetail(row, by_category(trials), weekly(trials))


def site_screener_ids(site_id: int, since: datetime | None = None) -> set[int]:
    """Who screens at the site: people with TIP trials there (since ``since``), and active
    screeners whose directory entry is at the site."""
    trials = TipTrial.objects.filter(site_id=site_id)
    if since is not None:
        trials = trials.filter(presented_at__gte=since)
    found = set(trials.values_list("user_id", flat=True).distinct())
    found |= set(
        Recipient.objects.filter(
            site_id=site_id,
            user__is_active=True,
            user__groups__name=Role.SCREENER.value,
        ).values_list("user_id", flat=True)
    )
    return {pk for pk in found if pk is not None}
