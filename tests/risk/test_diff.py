"""A re-assessment shows what changed since the last one: risks up, down, new and closed."""

from __future__ import annotations

import pytest

from mailwarden.risk.models import RiskState
from mailwarden.risk.queries.diff import Change, diff
from tests.factories import make_site
from tests.risk.report_fixtures import add_risk, make_assessment

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    site = make_site()
    before = make_assessment(site, title="2025", final=True)
    after = make_assessment(site, title="2026", previous=before)
    return before, after


def by_key(result):
    return {c.key: c for c in result.changes}


def test_each_risk_is_up_down_new_closed_or_unchanged(pair) -> None:
    before, after = pair
    add_risk(before, "tailgating", (2, 3))
    add_risk(after, "tailgating", (4, 4))
    add_risk(before, "powder", (4, 5), (3, 3))
    add_risk(after, "powder", (4, 5), (2, 2))
    add_risk(after, "insider", (3, 3))
    add_risk(before, "theft", (3, 2))
    add_risk(before, "ied", (2, 5))
    add_risk(after, "ied", (2, 5), state=RiskState.CLOSED)
    add_risk(before, "disruption", (2, 2))
    add_risk(after, "disruption", (4, 1))  # another cell, the same score

    result = diff(after)

    changes = by_key(result)
    assert changes["tailgating"].change == Change.UP
    assert changes["tailgating"].delta == pytest.approx((16 - 6) / 25)
    # The residual score is compared when there is one.
    assert changes["powder"].change == Change.DOWN
    assert changes["powder"].before.score == 9
    assert changes["powder"].after.score == 4
    assert changes["insider"].change == Change.NEW
    assert changes["insider"].before is None
    assert changes["theft"].change == Change.CLOSED
    assert changes["theft"].risk_id is None
    assert changes["ied"].change == Change.CLOSED
    assert changes["disruption"].change == Change.UNCHANGED
    assert result.counts == {"up": 1, "down": 1, "new": 1, "closed": 2, "unchanged": 1}
    assert result.previous_id == before.pk
    # Ups first, then new, down, closed, unchanged.
    assert [c.change for c in result.changes][:3] == [Change.UP, Change.NEW, Change.DOWN]


def test_methods_of_another_size_compare_on_the_normalised_scale() -> None:
    site = make_site()
    before = make_assessment(site, final=True, size=5)
    after = make_assessment(site, previous=before, size=10)
    add_risk(before, "tailgating", (5, 5))  # 25 of 25
    add_risk(after, "tailgating", (10, 5))  # 50 of 100: half as bad
    add_risk(before, "powder", (1, 5))  # 5 of 25
    add_risk(after, "powder", (2, 10))  # 20 of 100: the same share

    changes = by_key(diff(after))

    assert changes["tailgating"].change == Change.DOWN
    assert changes["tailgating"].after.normalised == pytest.approx(0.5)
    assert changes["powder"].change == Change.UNCHANGED


def test_a_risk_closed_before_and_open_again_is_new(pair) -> None:
    before, after = pair
    add_risk(before, "theft", (3, 3), state=RiskState.CLOSED)
    add_risk(after, "theft", (3, 3))

    assert by_key(diff(after))["theft"].change == Change.NEW


def test_an_unscored_risk_reads_as_unchanged(pair) -> None:
    before, after = pair
    add_risk(before, "theft", (3, 3))
    add_risk(after, "theft", None)

    change = by_key(diff(after))["theft"]
    assert change.change == Change.UNCHANGED
    assert change.after is None
    assert change.delta is None


def test_a_first_assessment_has_nothing_to_compare() -> None:
    first = make_assessment(make_site())
    add_risk(first, "theft", (3, 3))

    result = diff(first)

    assert result.previous_id is None
    assert result.changes == ()
