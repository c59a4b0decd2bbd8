"""The reports' figures from real rows: a known week's items, decisions, quarantine outcomes and
door alarms, counted in the site's own days."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.reports import queries
from mailwarden.reports.period import Per, Period, period_of
from tests.factories import make_site
from tests.reports.mailroom import WEEK, build

pytestmark = pytest.mark.django_db


def week(room, per: Per = Per.DAY, site=True) -> Period:
    return Period(WEEK[0], WEEK[1], room.site if site else None, per)


def values(figure, key: str) -> list[float | None]:
    return list(next(s for s in figure.series if s.key == key).values)


def test_items_per_day_by_carrier_and_by_type(room):
    by_carrier = queries.intake_by_carrier(week(room))
    assert by_carrier.categories[:3] == ("2 Mar", "3 Mar", "4 Mar")
    [ups] = [s for s in by_carrier.series if s.key not in ("none", "other")]
    assert ups.values[:3] == (1, 0, 1)
    assert (ups.key, ups.name) == ("ups", "UPS")
    assert values(by_carrier, "none")[:3] == [1, 2, 0]
    assert by_carrier.notes == ("5 items received",)

    by_kind = queries.intake_by_kind(week(room))
    assert values(by_kind, "parcel")[:3] == [1, 2, 1]
    assert values(by_kind, "letter")[:3] == [1, 0, 0]
    assert [s.key for s in by_kind.series] == ["letter", "flat", "parcel", "pallet"]


def test_per_week_adds_the_days_up(room):
    figure = queries.intake_by_kind(week(room, Per.WEEK))
    assert figure.categories == ("w/c 2 Mar",)
    assert values(figure, "parcel") == [4]


def test_dwell_distribution_and_median(room):
    figure = queries.dwell(week(room))
    bands = dict(zip(figure.categories, figure.series[0].values, strict=True))
    assert bands["1 to 4 h"] == 1  # collected two hours after arrival
    assert bands["1 to 2 days"] == 1  # collected a day after arrival
    assert sum(bands.values()) == 2
    assert "Median: 13 hours" in figure.notes

    trend = queries.dwell_trend(week(room))
    assert trend.series[0].values[:3] == (None, 24.0, 2.0)  # a gap where nothing was collected


def test_overdue_counts_items_still_here_after_the_reminder_days(room):
    figure = queries.overdue(week(room))
    # The letter (Mon) is overdue from Thursday; the released parcel (Tue) from Friday; the
    # collected and destroyed items never are.
    assert figure.series[0].values == (0, 0, 0, 1, 2, 2, 2)
    assert figure.notes == ("1 item waiting on the shelf for pickup more than 3 days now",)
    count, longest = queries.overdue_now(week(room))
    assert count == 1
    assert [i.uid for i in longest] == [room.uids["letter"]]


def test_overdue_leaves_days_still_to_come_empty(room):
    room.at(room.clock.current - timedelta(days=5))  # Wednesday of that week
    figure = queries.overdue(week(room))
    assert figure.series[0].values[3:] == (None, None, None, None)


def test_screening_time_and_tier_mix(room):
    figure = queries.screening_time(week(room))
    bands = dict(zip(figure.categories, figure.series[0].values, strict=True))
    assert bands["30 s to 1 min"] == 1
    assert bands["1 to 2 min"] == 1
    assert sum(bands.values()) == 2  # the decision without a workstation time is left out
    assert "3 screening decisions, 2 timed at the workstation" in figure.notes
    assert "Median time on the item: 1 minute 10 seconds" in figure.notes

    tiers = queries.tier_mix(week(room))
    assert sum(s.total for s in tiers.series) == 3
    assert [s.key for s in tiers.series] == ["low", "elevated", "high", "critical"]


def test_quarantine_outcomes(room):
    figure = queries.quarantine(week(room))
    assert values(figure, "destroyed")[1] == 1
    assert values(figure, "released")[1] == 1
    assert values(figure, "handed_to_authorities") == [0] * 7
    assert "In quarantine now: 0" in figure.notes


def test_door_alarms_per_door(room):
    figure = queries.door_alarms(week(room))
    assert figure.categories == ("cage", "Dock door")
    assert values(figure, "held_open") == [0, 2]
    assert values(figure, "forced_open") == [1, 1]


def test_all_sites_add_up_and_name_each_door_with_its_site(db, frozen_clock):
    build(frozen_clock, "hq")
    other = build(frozen_clock, "annex")
    both = Period(WEEK[0], WEEK[1], None, Per.WEEK)
    assert values(queries.intake_by_kind(both), "parcel") == [8]
    assert "annex: Dock door" in queries.door_alarms(both).categories
    one = Period(WEEK[0], WEEK[1], other.site, Per.WEEK)
    assert values(queries.intake_by_kind(one), "parcel") == [4]


def test_a_site_with_nothing_gives_empty_figures(db, frozen_clock):
    quiet = make_site("quiet")
    for figure in queries.figures(Period(WEEK[0], WEEK[1], quiet)):
        assert figure.empty, figure.key


def test_the_period_is_checked_field_by_field(db):
    today = date(2026, 3, 9)
    default = period_of(None, None, None, today=today)
    assert (default.first, default.last, default.site) == (date(2026, 2, 10), today, None)
    cases = [
        ((date(2026, 3, 9), date(2026, 3, 1), None, None), "end", "on or after"),
        ((date(2025, 1, 1), date(2026, 3, 1), None, None), "start", "at most 366 days"),
        ((None, None, None, "month"), "per", "day or week"),
        ((date(1, 1, 1), None, None, None), "start", "between"),
    ]
    for args, field, words in cases:
        with pytest.raises(ServiceError) as refused:
            period_of(*args, today=today)
        assert refused.value.field == field
        assert words in refused.value.message
    with pytest.raises(NotFound) as missing:
        period_of(None, None, "nowhere", today=today)
    assert missing.value.field == "site"
