"""Each live-evidence measure on data made for it: the figure it reads, its summary, what it
leaves out (other sites, outside the period, another door), and None when there is nothing to
measure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.access.models import AlarmKind
from mailwarden.core.roles import Role
from mailwarden.risk.evidence import MODULES, Measurement, measures, meets
from tests.factories import make_site
from tests.risk import evidence_data as made
from tests.training.helpers_b import (
    assign,
    certify,
    fast_passwords,  # noqa: F401
    person,
    screener_course,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def hq(frozen_clock):
    return make_site("hq")


@pytest.fixture
def period(frozen_clock):
    end = frozen_clock.current
    return end - timedelta(days=30), end


def read(slug, site, period, ref=""):
    return measures()[slug].read(site, *period, ref)


def test_every_module_registers_its_measures():
    assert len(MODULES) == 6
    assert set(measures()) == {
        "screened_before_delivery",
        "door_alarms",
        "tailgating",
        "training_compliance",
        "screener_dprime",
        "quarantine_dwell",
        "drill_results",
        "ledger_status",
    }


def test_meets_compares_with_min_and_max_and_says_nothing_without_a_value():
    assert meets(Measurement(0.5, "share", ""), {"min": 0.9}) is False
    assert meets(Measurement(3, "count", ""), {"max": 3}) is True
    assert meets(Measurement(None, "count", ""), {"max": 0}) is None


def test_screened_before_delivery_counts_a_decision_made_before_the_hand_over(hq, period):
    start, end = period
    made.handed_over(hq, end - timedelta(days=2), screened_at=end - timedelta(days=3))
    made.handed_over(hq, end - timedelta(days=2))  # never screened
    made.handed_over(hq, end - timedelta(days=2), screened_at=end - timedelta(days=1))  # after
    made.handed_over(hq, start - timedelta(days=1))  # before the period
    found = read("screened_before_delivery", hq, period)
    assert found.value == pytest.approx(1 / 3)
    assert found.detail["handed_over"] == 3 and found.detail["screened"] == 1
    assert len(found.detail["unscreened"]) == 2
    assert found.summary == "33.3% of 3 items screened before delivery"


def test_screened_before_delivery_has_nothing_to_measure_without_hand_overs(hq, period):
    assert read("screened_before_delivery", hq, period).value is None


def test_door_alarms_count_forced_and_held_at_the_site_or_at_one_door(hq, period):
    _, end = period
    cage, dock = made.door(hq), made.door(hq, "dock-door")
    made.alarm(hq, AlarmKind.FORCED_OPEN, end - timedelta(days=1), cage)
    made.alarm(hq, AlarmKind.HELD_OPEN, end - timedelta(days=2), cage)
    made.alarm(hq, AlarmKind.HELD_OPEN, end - timedelta(days=3), dock)
    made.alarm(hq, AlarmKind.TAMPER, end - timedelta(days=3), cage)  # not a door alarm
    made.alarm(hq, AlarmKind.FORCED_OPEN, end - timedelta(days=40), cage)  # too old
    site_wide = read("door_alarms", hq, period)
    assert (site_wide.value, site_wide.detail) == (3, {"forced_open": 1, "held_open": 2})
    one = read("door_alarms", hq, period, "quarantine-door")
    assert one.value == 2
    assert one.summary == "1 forced-open and 1 held-open alarms at door Quarantine Door"


def test_door_alarms_are_quiet_on_a_clean_site(hq, period):
    made.door(hq)
    assert read("door_alarms", hq, period).value == 0


def test_tailgating_counts_events_less_false_positives(hq, period):
    _, end = period
    cam, cage = made.camera(hq), made.door(hq)
    made.tailgate(cam, end - timedelta(days=1), cage)
    made.tailgate(cam, end - timedelta(days=2))
    made.tailgate(cam, end - timedelta(days=2), cage, state="false_positive")
    assert read("tailgating", hq, period).value == 2
    assert read("tailgating", hq, period, "quarantine-door").value == 1
    assert read("tailgating", make_site("annex"), period).value == 0


def test_training_compliance_is_the_share_holding_a_current_certificate(hq, period):
    course = screener_course()
    assign(course, role="screener")
    sam = person("sam", Role.SCREENER, site="hq")
    certify(course, sam)
    person("nat", Role.SCREENER, site="hq")  # never trained
    found = read("training_compliance", hq, period, course.slug)
    assert found.value == 0.5
    assert found.detail["current"] == 1 and found.detail["never"] == 1
    assert "50.0% of 2" in found.summary


def test_training_compliance_has_nothing_to_measure_when_nobody_needs_training(hq, period):
    assert read("training_compliance", hq, period).value is None


def test_screener_dprime_is_the_lowest_with_the_median_in_the_detail(hq, period):
    _, end = period
    good = person("good", Role.SCREENER)
    weak = person("weak", Role.SCREENER)
    at = end - timedelta(days=1)
    made.trials(good, hq, at, hits=9, misses=1, fas=1, crs=9)
    made.trials(weak, hq, at, hits=5, misses=5, fas=5, crs=5)
    found = read("screener_dprime", hq, period)
    assert found.value == pytest.approx(0.0, abs=0.01)
    assert [s["name"] for s in found.detail["screeners"]] == ["weak", "good"]
    assert found.detail["screeners"][1]["dprime"] > 2
    assert "weak" in found.summary


def test_screener_dprime_needs_trials_in_the_period(hq, period):
    start, _ = period
    made.trials(
        person("old", Role.SCREENER), hq, start - timedelta(days=1), hits=5, misses=5, fas=1, crs=9
    )
    assert read("screener_dprime", hq, period).value is None


def test_quarantine_dwell_is_the_median_of_the_items_that_left(hq, period):
    _, end = period
    made.quarantined(hq, end - timedelta(days=5), end - timedelta(days=5) + timedelta(hours=2))
    made.quarantined(hq, end - timedelta(days=5), end - timedelta(days=4))
    made.quarantined(hq, end - timedelta(days=5), end - timedelta(days=2))
    found = read("quarantine_dwell", hq, period)
    assert found.value == 24.0
    assert (found.detail["min_hours"], found.detail["max_hours"]) == (2.0, 72.0)
    assert read("quarantine_dwell", make_site("annex"), period).value is None


def test_drill_results_share_of_steps_done_on_time(hq, period):
    _, end = period
    on_time, late = timedelta(minutes=-1), timedelta(minutes=5)
    made.drill(hq, end - timedelta(days=3), [on_time, on_time, late, None])
    made.drill(hq, end - timedelta(days=1), [on_time, on_time, on_time, on_time], "bomb_threat")
    found = read("drill_results", hq, period)
    assert found.value == pytest.approx(6 / 8)
    assert found.detail == {"drills": 2, "steps": 8, "done": 7, "on_time": 6}
    assert read("drill_results", hq, period, "suspicious_package").value == 0.5


def test_drill_results_with_no_drill_held_measures_zero(hq, period):
    found = read("drill_results", hq, period)
    assert found.value == 0.0 and found.summary == "no drill was held in the period"


def test_ledger_status_wants_a_recent_checkpoint_and_no_failed_verification(hq, period):
    _, end = period
    assert read("ledger_status", hq, period).value == 0.0  # no checkpoint yet
    made.checkpoint_entry(end - timedelta(minutes=30))
    found = read("ledger_status", hq, period)
    assert found.value == 1.0, found.summary
    assert found.detail["recent_problems"] == 0
    made.failed_verification()  # now, the period's end, which the period leaves out
    assert read("ledger_status", hq, period).value == 1.0
    failed = read("ledger_status", hq, (period[0], end + timedelta(minutes=1)))
    assert failed.value == 0.0 and "1 failed verifications" in failed.summary


def test_ledger_status_calls_an_old_checkpoint_stale(hq, period):
    _, end = period
    made.checkpoint_entry(end - timedelta(days=3))
    found = read("ledger_status", hq, period)
    assert found.value == 0.0 and "old" in found.summary
