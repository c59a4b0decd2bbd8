"""Screener proficiency: the measures per screener, per category and by week, the pages and the
API, who may see them, the live TIP settings page, and a screener with no trials."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from mailwarden.core.roles import Role
from mailwarden.training import proficiency_plots as plots
from mailwarden.training.measures import Measures
from mailwarden.training.models import TipMode, TipOutcome, TipSitePolicy, TipTrial
from mailwarden.training.queries import proficiency as queries
from tests.api.conftest import Api, token_for
from tests.training.conftest_e import *  # noqa: F403

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def answered(
    user,
    outcome: str,
    *,
    category: str = "knife",
    at: datetime = MONDAY,
    ms: int = 2000,
    mode: str = TipMode.TRAINING,
) -> TipTrial:
    """An answered trial as the TIP services leave one (only the fields the measures read)."""
    signal = outcome in (TipOutcome.HIT, TipOutcome.MISS)
    return TipTrial.objects.create(
        user=user,
        mode=mode,
        category=category if signal else "",
        background="simulated",
        image_sha256="0" * 64,
        width=512,
        height=384,
        presented_at=at - timedelta(milliseconds=ms),
        answered_at=at,
        response="threat" if outcome in (TipOutcome.HIT, TipOutcome.FALSE_ALARM) else "clear",
        outcome=outcome,
        response_ms=ms,
    )


@pytest.fixture
def sam(person):
    user = person(Role.SCREENER, "sam")
    # Week 1: knife 3 hits 1 miss, gun 1 hit 1 miss; 4 clean: 1 false alarm.
    for outcome in ["hit", "hit", "hit", "miss"]:
        answered(user, outcome, category="knife", ms=1000)
    for outcome in ["hit", "miss"]:
        answered(user, outcome, category="gun", ms=3000)
    for outcome in ["false_alarm", "correct_rejection", "correct_rejection", "correct_rejection"]:
        answered(user, outcome, ms=2000)
    # Week 2: two knife hits, one live, two clean.
    later = MONDAY + timedelta(days=8)
    answered(user, "hit", category="knife", at=later, ms=4000)
    answered(user, "hit", category="knife", at=later, ms=4000, mode=TipMode.LIVE)
    answered(user, "correct_rejection", at=later)
    answered(user, "correct_rejection", at=later)
    return user


def test_a_screeners_measures_are_the_signal_detection_measures(sam):
    detail = queries.screener(sam.pk)
    m = detail.row.proficiency.measures
    assert m == Measures(signal_trials=8, noise_trials=6, hits=6, false_alarms=1)
    assert detail.row.proficiency.live_trials == 1
    assert detail.row.proficiency.median_ms == 2000
    knife = next(c for c in detail.categories if c.category == "knife")
    # Clean images count in every category.
    assert knife.proficiency.measures == Measures(6, 6, 5, 1)
    gun = next(c for c in detail.categories if c.category == "gun")
    assert gun.proficiency.measures == Measures(2, 6, 1, 1)
    ied = next(c for c in detail.categories if c.category == "ied")
    assert ied.proficiency.measures.dprime is None
    assert [w.week.isoformat() for w in detail.weeks] == ["2026-03-02", "2026-03-09"]
    assert detail.weeks[0].proficiency.measures == Measures(6, 4, 4, 1)
    assert detail.weeks[1].proficiency.measures == Measures(2, 2, 2, 0)
    assert detail.weeks[1].proficiency.measures.dprime is not None


def test_since_keeps_only_recent_answers(sam):
    recent = queries.screener(sam.pk, MONDAY + timedelta(days=7))
    assert recent.row.proficiency.trials == 4


def test_a_screener_with_no_trials_is_listed_with_no_trials_yet(person, signed_in, sam):
    idle = person(Role.SCREENER, "idle")
    rows = {r.username: r for r in queries.screeners()}
    assert not rows["idle"].proficiency.has_trials
    assert rows["idle"].proficiency.measures.dprime is None
    assert rows["idle"].proficiency.median_ms is None
    assert rows["sam"].proficiency.trials == 14
    body = signed_in(Role.SECURITY_MANAGER).get("/training/proficiency/").content.decode()
    assert "No trials yet" in body
    detail = signed_in(Role.AUDITOR).get(f"/training/proficiency/{idle.pk}/")
    assert detail.status_code == 200
    assert "No trials yet" in detail.content.decode()


def test_the_screener_page_draws_the_plots(signed_in, sam):
    response = signed_in(Role.SECURITY_MANAGER).get(f"/training/proficiency/{sam.pk}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-plot="d′ by week"' in body
    assert 'data-plot="Hit rate by week"' in body
    assert body.count("<polyline") == 2
    assert 'data-bars="d′"' in body
    assert 'data-tile="dprime">' + f"{Measures(8, 6, 6, 1).dprime:.2f}" in body


def test_who_sees_proficiency(signed_in, person, sam):
    assert signed_in(Role.CLERK, "cleo").get("/training/proficiency/").status_code == 403
    assert signed_in(Role.SCREENER, "sky").get("/training/proficiency/").status_code == 403
    # A screener sees their own page, not another's.
    own = signed_in(Role.SCREENER, "sam").get(f"/training/proficiency/{sam.pk}/")
    assert own.status_code == 200
    sky = person(Role.SCREENER, "sky")
    other = signed_in(Role.SCREENER, "sam").get(f"/training/proficiency/{sky.pk}/")
    assert other.status_code == 403
    assert signed_in(Role.AUDITOR).get("/training/proficiency/").status_code == 200
    assert signed_in(Role.AUDITOR).get("/training/proficiency/999999/").status_code == 404


def test_the_api_gives_the_same_figures(person, sam):
    manager = Api(token_for(Role.SECURITY_MANAGER))
    listed = manager.get("/api/training/proficiency")
    assert listed.status_code == 200
    row = next(r for r in listed.json() if r["username"] == "sam")
    assert row["measures"]["hits"] == 6
    assert math.isclose(row["measures"]["dprime"], Measures(8, 6, 6, 1).dprime)
    detail = manager.get(f"/api/training/proficiency/{sam.pk}")
    assert detail.status_code == 200
    assert [c["category"] for c in detail.json()["categories"]] == [
        "knife",
        "gun",
        "ied",
        "explosive",
    ]
    assert len(detail.json()["weeks"]) == 2
    idle = person(Role.SCREENER, "idle")
    empty = manager.get(f"/api/training/proficiency/{idle.pk}").json()
    assert empty["measures"]["note"] == "no trials yet"
    assert empty["measures"]["dprime"] is None
    assert Api(token_for(Role.CLERK)).get("/api/training/proficiency").status_code == 403
    own = Api(token_for(Role.SCREENER, sam)).get(f"/api/training/proficiency/{sam.pk}")
    assert own.status_code == 200
    assert (
        Api(token_for(Role.SCREENER, sam)).get(f"/api/training/proficiency/{idle.pk}").status_code
        == 403
    )


# ----------------------------------------------------------------------------- TIP settings


def test_a_manager_sets_live_tip_on_the_page(site, signed_in):
    client = signed_in(Role.SECURITY_MANAGER)
    assert client.get("/training/tip-policy/").status_code == 200
    response = client.post(
        "/training/tip-policy/",
        {"site": site.code, "enabled": "on", "rate_percent": "5", "categories": ["knife", "ied"]},
    )
    assert response.status_code == 302
    row = TipSitePolicy.objects.get(site=site)
    assert (row.enabled, row.rate_percent, row.categories) == (True, 5.0, ["knife", "ied"])
    assert "On · 5 %" in client.get("/training/tip-policy/").content.decode()


def test_a_rate_over_twenty_percent_is_refused_on_the_page(site, signed_in):
    response = signed_in(Role.SECURITY_MANAGER).post(
        "/training/tip-policy/", {"site": site.code, "enabled": "on", "rate_percent": "35"}
    )
    assert response.status_code == 400
    assert "must be from 0 to 20 %" in response.content.decode()
    assert not TipSitePolicy.objects.exists()


def test_only_managers_change_live_tip(site, signed_in):
    auditor = signed_in(Role.AUDITOR)
    assert auditor.get("/training/tip-policy/").status_code == 200
    refused = auditor.post("/training/tip-policy/", {"site": site.code, "rate_percent": "5"})
    assert refused.status_code == 403
    assert signed_in(Role.SCREENER).get("/training/tip-policy/").status_code == 403
    assert not TipSitePolicy.objects.exists()


def test_the_api_sets_and_lists_live_tip(site):
    manager = Api(token_for(Role.SECURITY_MANAGER))
    saved = manager.put(
        f"/api/training/tip-policy/{site.code}",
        {"enabled": True, "rate_percent": 2.5, "categories": ["gun"]},
    )
    assert saved.status_code == 200
    assert saved.json()["categories"] == ["gun"]
    assert manager.get("/api/training/tip-policy").json()[0]["rate_percent"] == 2.5
    too_high = manager.put(
        f"/api/training/tip-policy/{site.code}", {"enabled": True, "rate_percent": 50}
    )
    assert too_high.status_code in (400, 422)
    unknown = manager.put(
        f"/api/training/tip-policy/{site.code}",
        {"enabled": True, "rate_percent": 5, "categories": ["sword"]},
    )
    assert unknown.status_code in (400, 422)
    auditor = Api(token_for(Role.AUDITOR))
    assert (
        auditor.put(
            f"/api/training/tip-policy/{site.code}", {"enabled": False, "rate_percent": 0}
        ).status_code
        == 403
    )
    assert TipSitePolicy.objects.get().rate_percent == 2.5


# ----------------------------------------------------------------------------- plots


def test_a_line_breaks_where_a_week_has_no_value():
    chart = plots.line_chart(
        "d′", [("a", 1.0), ("b", None), ("c", 2.0), ("d", 2.5)], lo=0, hi=4, fmt=str
    )
    assert len(chart.lines) == 2
    assert len(chart.dots) == 3
    assert plots.line_chart("d′", [], lo=0, hi=4, fmt=str).empty


def test_bars_take_missing_and_negative_values():
    found = plots.bars(
        [("knife", 2.0, ""), ("gun", None, "none"), ("ied", -0.5, "")], hi=4, fmt=str
    )
    assert [b.percent for b in found] == [50.0, 0.0, 0.0]
    assert found[1].missing and not found[2].missing
    assert found[2].text == "-0.5"
