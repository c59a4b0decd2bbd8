"""The reports' figures, gathered site by site from the apps below through their ``queries``
modules and shaped as :class:`~mailwarden.reports.figures.Figure` for every reader.

Nothing here writes. Callers check the reader's role (``permissions.VIEW_REPORTS``) first.
"""

from __future__ import annotations

import statistics
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils.text import slugify

from mailwarden.access import queries as access
from mailwarden.config import get_settings
from mailwarden.core import clock
from mailwarden.core.durations import spoken
from mailwarden.custody import queries as custody
from mailwarden.directory.models import Site
from mailwarden.reports.figures import Figure, Kind, Series
from mailwarden.reports.period import Per, Period
from mailwarden.screening import queries as screening

# Carriers beyond this many share one "Other carriers" series, so the legend stays readable.
TOP_CARRIERS = 6
KINDS = ("letter", "flat", "parcel", "pallet")
TIERS = ("low", "elevated", "high", "critical")
OUTCOMES = ("released", "destroyed", "handed_to_authorities")
DOOR_ALARMS = (("held_open", "Held open"), ("forced_open", "Forced open"))
HOUR = 3600.0
DAY = 24 * HOUR
# Bands of the time from arrival to hand-over: (upper bound in seconds, label).
DWELL_BANDS = (
    (HOUR, "Under 1 h"),
    (4 * HOUR, "1 to 4 h"),
    (DAY, "4 to 24 h"),
    (2 * DAY, "1 to 2 days"),
    (3 * DAY, "2 to 3 days"),
    (7 * DAY, "3 to 7 days"),
    (float("inf"), "Over 7 days"),
)
# Bands of the time a screener spent on an item at the workstation.
SCREENING_BANDS = (
    (30.0, "Under 30 s"),
    (60.0, "30 s to 1 min"),
    (120.0, "1 to 2 min"),
    (300.0, "2 to 5 min"),
    (900.0, "5 to 15 min"),
    (float("inf"), "Over 15 min"),
)


def words(code: str) -> str:
    """A stored code as a legend reads it: "handed_to_authorities" -> "Handed to authorities"."""
    return code.replace("_", " ").capitalize() if code else "None given"


def counted(n: float, word: str) -> str:
    """ "1 item", "2 items"."""
    return f"{n:g} {word}" if n == 1 else f"{n:g} {word}s"


def overdue_days() -> int:
    """After how many days an item counts as overdue: when its recipient is reminded."""
    return get_settings().notifications.reminder_after_days


def _bands(values: Iterable[float], bands: tuple[tuple[float, str], ...]) -> list[int]:
    counts = [0] * len(bands)
    for value in values:
        counts[next(i for i, (upper, _) in enumerate(bands) if value < upper)] += 1
    return counts


def _per_bucket(
    period: Period, rows: Iterable[tuple[date, str, float]], order: Iterable[str]
) -> dict[str, list[float]]:
    """(local day, series key, amount) summed per bucket: one list per series, in bucket order."""
    buckets = period.buckets()
    index = {b: i for i, b in enumerate(buckets)}
    found: dict[str, list[float]] = {key: [0.0] * len(buckets) for key in order}
    for day, key, amount in rows:
        at = index.get(period.bucket_of(day))
        if at is None:
            continue
        found.setdefault(key, [0.0] * len(buckets))[at] += amount
    return found


def _categories(period: Period) -> tuple[str, ...]:
    return tuple(period.label(b) for b in period.buckets())


# ----------------------------------------------------------------------------- intake


def _received(period: Period) -> list[tuple[date, str, str, int]]:
    return [
        row
        for site in period.sites
        for row in custody.received_per_day(site, period.first, period.last)
    ]


# Series of the carrier chart that are not a carrier; no carrier's name is empty or starts so.
OTHER, NONE = "\x00other", ""


def intake_by_carrier(period: Period) -> Figure:
    rows = _received(period)
    totals: Counter[str] = Counter()
    for _, carrier, _, n in rows:
        totals[carrier or NONE] += n
    named = [c for c, _ in totals.most_common() if c][:TOP_CARRIERS]
    keyed = [
        (day, carrier if carrier in named else (carrier and OTHER), float(n))
        for day, carrier, _, n in rows
    ]
    per = _per_bucket(period, keyed, [*named, OTHER, NONE])
    known = custody.carrier_names()
    names = {**{c: known.get(c, c) for c in named}, OTHER: "Other carriers", NONE: "No carrier"}
    keys = {**{c: slugify(c) or "carrier" for c in named}, OTHER: "other", NONE: "none"}
    series = tuple(
        Series(keys[key], names[key], tuple(values))
        for key, values in per.items()
        if any(values) or key in named
    )
    return Figure(
        "intake-carrier",
        "Items received by carrier",
        f"How many items were logged at intake each {period.per.value}, stacked by carrier "
        f"({period.text}).",
        Kind.COLUMNS,
        period.per_word,
        "Items received",
        _categories(period),
        series,
        (f"{counted(sum(totals.values()), 'item')} received",),
    )


def intake_by_kind(period: Period) -> Figure:
    rows = [(day, kind, float(n)) for day, _, kind, n in _received(period)]
    per = _per_bucket(period, rows, KINDS)
    series = tuple(
        Series(key, words(key), tuple(values))
        for key, values in per.items()
        if any(values) or key in KINDS
    )
    total = int(sum(s.total for s in series))
    return Figure(
        "intake-kind",
        "Items received by type",
        f"How many letters, flats, parcels and pallets were logged at intake each "
        f"{period.per.value} ({period.text}).",
        Kind.COLUMNS,
        period.per_word,
        "Items received",
        _categories(period),
        series,
        (f"{counted(total, 'item')} received",),
    )


# ----------------------------------------------------------------------------- dwell


def _handovers(period: Period) -> list[tuple[date, float]]:
    return [
        (period.local_day(site, at), seconds)
        for site in period.sites
        for at, seconds in custody.handover_waits(site, period.first, period.last)
    ]


def _median_note(label: str, values: list[float]) -> str:
    if not values:
        return f"{label}: none in this period"
    return f"{label}: {spoken(statistics.median(values))}"


def dwell(period: Period) -> Figure:
    waits = [seconds for _, seconds in _handovers(period)]
    counts = _bands(waits, DWELL_BANDS)
    return Figure(
        "dwell",
        "Time from arrival to hand-over",
        f"How long items picked up or delivered in the period had been in the mailroom since "
        f"they arrived, in bands ({period.text}).",
        Kind.COLUMNS,
        "Time from arrival to hand-over",
        "Items handed over",
        tuple(label for _, label in DWELL_BANDS),
        (Series("handed_over", "Items handed over", tuple(float(c) for c in counts)),),
        (f"{counted(len(waits), 'item')} handed over", _median_note("Median", waits)),
    )


def dwell_trend(period: Period) -> Figure:
    grouped: dict[date, list[float]] = defaultdict(list)
    for day, seconds in _handovers(period):
        grouped[period.bucket_of(day)].append(seconds)
    medians = tuple(
        round(statistics.median(grouped[b]) / HOUR, 1) if grouped.get(b) else None
        for b in period.buckets()
    )
    return Figure(
        "dwell-median",
        "Median time from arrival to hand-over",
        f"The median hours from arrival to hand-over of the items handed over each "
        f"{period.per.value}; a gap is a {period.per.value} with no hand-over ({period.text}).",
        Kind.LINE,
        period.per_word,
        "Hours (median)",
        _categories(period),
        (Series("median_hours", "Median hours", medians),),
    )


# ----------------------------------------------------------------------------- overdue


def _bucket_ends(period: Period, site: Site) -> list[datetime]:
    """When each day or week of the period ends where the site is (a week cut at the end)."""
    ends = []
    for bucket in period.buckets():
        last = bucket if period.per == Per.DAY else min(bucket + timedelta(days=6), period.last)
        ends.append(custody.local_window(site, last, last)[1])
    return ends


def overdue(period: Period, *, now: datetime | None = None) -> Figure:
    """Items overdue at the end of each day or week: in the mailroom for more than the reminder
    days since they arrived, and not yet handed over, returned or destroyed."""
    now = now or clock.now()
    days = overdue_days()
    wait = timedelta(days=days)
    buckets = period.buckets()
    counts: list[float | None] = [0.0] * len(buckets)
    for site in period.sites:
        ends = _bucket_ends(period, site)
        since, until = custody.local_window(site, period.first, period.last)
        # An item is overdue from ``wait`` after it arrived until it leaves: count the
        # intervals that cover each moment by two sorted lists.
        starts, stops = [], []
        for came, left in custody.custody_spans(site, since - wait, until):
            begins = came + wait
            if left is not None and left <= begins:
                continue
            starts.append(begins)
            stops.append(left)
        starts.sort()
        ended = sorted(s for s in stops if s is not None)
        for i, end in enumerate(ends):
            start_of_bucket = ends[i - 1] if i else since
            if start_of_bucket > now:
                counts[i] = None  # still to come: no made-up zero
                continue
            at = min(end, now)
            value = bisect_right(starts, at) - bisect_right(ended, at)
            current = counts[i]
            counts[i] = (current or 0.0) + value
    waiting, _ = custody.waiting_longer_than(period.site, now, days, limit=0)
    return Figure(
        "overdue",
        "Overdue items",
        f"How many items were still in the mailroom more than {days} days after they arrived, "
        f"at the end of each {period.per.value} ({period.text}).",
        Kind.LINE,
        period.per_word,
        "Items overdue",
        _categories(period),
        (Series("overdue", f"Overdue (over {days} days)", tuple(counts)),),
        (f"{counted(waiting, 'item')} waiting on the shelf for pickup more than {days} days now",),
    )


def overdue_now(
    period: Period, *, now: datetime | None = None, limit: int = 50
) -> tuple[int, list[object]]:
    """How many items wait for pickup longer than the reminder days now, and the longest
    waiting of them."""
    count, items = custody.waiting_longer_than(
        period.site, now or clock.now(), overdue_days(), limit
    )
    return count, list(items)


# ----------------------------------------------------------------------------- screening


def _decisions(period: Period) -> list[tuple[date, screening.DecisionTime]]:
    found = []
    for site in period.sites:
        since, until = custody.local_window(site, period.first, period.last)
        found += [
            (period.local_day(site, d.decided_at), d)
            for d in screening.decision_times(site, since, until)
        ]
    return found


def screening_time(period: Period) -> Figure:
    decisions = [d for _, d in _decisions(period)]
    timed = [float(d.seconds_on_item) for d in decisions if d.seconds_on_item is not None]
    waits = [d.since_arrival_s for d in decisions]
    counts = _bands(timed, SCREENING_BANDS)
    return Figure(
        "screening-time",
        "Screening time",
        f"How long screeners spent on each item at the workstation before deciding, in bands "
        f"({period.text}). Decisions made through other clients carry no time and are left out.",
        Kind.COLUMNS,
        "Time on the item",
        "Decisions",
        tuple(label for _, label in SCREENING_BANDS),
        (Series("decisions", "Decisions", tuple(float(c) for c in counts)),),
        (
            f"{counted(len(decisions), 'screening decision')}, {len(timed)} timed at the "
            "workstation",
            _median_note("Median time on the item", timed),
            _median_note("Median from arrival to decision", waits),
        ),
    )


def tier_mix(period: Period) -> Figure:
    rows = [(day, d.tier, 1.0) for day, d in _decisions(period)]
    per = _per_bucket(period, rows, TIERS)
    series = tuple(Series(key, words(key), tuple(values)) for key, values in per.items())
    return Figure(
        "tiers",
        "Screening decisions by risk tier",
        f"How many screening decisions were made each {period.per.value}, stacked by the risk "
        f"tier they found ({period.text}).",
        Kind.COLUMNS,
        period.per_word,
        "Decisions",
        _categories(period),
        series,
        tuple(f"{s.name}: {int(s.total)}" for s in series),
    )


# ----------------------------------------------------------------------------- quarantine


def quarantine(period: Period) -> Figure:
    rows = []
    for site in period.sites:
        since, until = custody.local_window(site, period.first, period.last)
        rows += [
            (period.local_day(site, at), outcome, 1.0)
            for at, outcome in screening.quarantine_outcomes(site, since, until)
        ]
    per = _per_bucket(period, rows, OUTCOMES)
    series = tuple(Series(key, words(key), tuple(values)) for key, values in per.items())
    return Figure(
        "quarantine",
        "Quarantine outcomes",
        f"How many quarantined items left quarantine each {period.per.value} on a confirmed "
        f"two-person decision, by outcome ({period.text}).",
        Kind.COLUMNS,
        period.per_word,
        "Items",
        _categories(period),
        series,
        (
            *(f"{s.name}: {int(s.total)}" for s in series),
            f"In quarantine now: {screening.quarantined_now(period.site)}",
        ),
    )


# ----------------------------------------------------------------------------- doors


def door_alarms(period: Period) -> Figure:
    labels: list[str] = []
    values: dict[str, list[float]] = {kind: [] for kind, _ in DOOR_ALARMS}
    for site in period.sites:
        since, until = custody.local_window(site, period.first, period.last)
        rows = access.door_alarm_counts(site, [k for k, _ in DOOR_ALARMS], since, until)
        for door, counts in rows:
            name = door.name or door.code
            labels.append(name if period.site is not None else f"{site.code}: {name}")
            for kind, _ in DOOR_ALARMS:
                values[kind].append(float(counts.get(kind, 0)))
    series = tuple(Series(kind, name, tuple(values[kind])) for kind, name in DOOR_ALARMS)
    return Figure(
        "door-alarms",
        "Door alarms per door",
        f"How many held-open and forced-open alarms each door raised ({period.text}); doors "
        "without either are left out.",
        Kind.ROWS,
        "Alarms",
        "Door",
        tuple(labels),
        series,
        tuple(f"{s.name}: {int(s.total)}" for s in series),
    )


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    build: Callable[[Period], Figure]


CHARTS: tuple[Chart, ...] = (
    Chart("intake-carrier", "Items received by carrier", intake_by_carrier),
    Chart("intake-kind", "Items received by type", intake_by_kind),
    Chart("dwell", "Time from arrival to hand-over", dwell),
    Chart("dwell-median", "Median time from arrival to hand-over", dwell_trend),
    Chart("overdue", "Overdue items", overdue),
    Chart("screening-time", "Screening time", screening_time),
    Chart("tiers", "Screening decisions by risk tier", tier_mix),
    Chart("quarantine", "Quarantine outcomes", quarantine),
    Chart("door-alarms", "Door alarms per door", door_alarms),
)
BY_KEY = {c.key: c for c in CHARTS}


def figure(key: str, period: Period) -> Figure:
    return BY_KEY[key].build(period)


def figures(period: Period) -> list[Figure]:
    return [c.build(period) for c in CHARTS]
