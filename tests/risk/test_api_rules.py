"""The rules API: list the rules and thresholds, read and set a site's thresholds, run the rules
on an assessment; every refusal names its field and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mailwarden.core.roles import Role
from mailwarden.risk import rules
from mailwarden.risk.models import Finding, RiskSitePolicy
from mailwarden.risk.rules import Context, Proposed, rule
from tests.api.conftest import Api, assert_refused, token_for
from tests.factories import make_site
from tests.risk.assessment_helpers import complete
from tests.risk.test_rules import MANAGER, make_assessment


@pytest.fixture
def site(db, frozen_clock):
    return make_site()


@pytest.fixture
def manager(db) -> Api:
    return Api(token_for(Role.SECURITY_MANAGER))


@pytest.fixture
def auditor(db) -> Api:
    return Api(token_for(Role.AUDITOR))


@pytest.fixture
def clerk(db) -> Api:
    return Api(token_for(Role.CLERK))


def test_the_rules_are_listed_with_their_thresholds(auditor, clerk):
    response = auditor.get("/api/risk/rules")
    assert response.status_code == 200, response.content
    listed = {r["slug"]: r for r in response.json()}
    assert set(listed) == set(rules.load())
    stale = listed["stale-credentials"]
    assert stale["topic"] == "access"
    assert stale["title"] == "Credentials not used for a long time"
    assert [(t["name"], t["default"], t["whole_number"]) for t in stale["thresholds"]] == [
        ("stale_credential_days", 90, True)
    ]
    names = {t["name"] for t in auditor.get("/api/risk/thresholds").json()}
    assert {"door_alarm_repeats", "drill_months", "dprime_bar"} <= names
    assert_refused(clerk.get("/api/risk/rules"), 403, None)


def test_a_site_s_thresholds_are_read_and_set(site, manager, auditor):
    shown = auditor.get(f"/api/risk/sites/{site.code}/thresholds").json()
    assert shown["values"]["drill_months"] == 6 and shown["overrides"] == {}

    response = manager.put(
        f"/api/risk/sites/{site.code}/thresholds",
        {"thresholds": {"drill_months": 3, "unscreened_share_max": 0.05}},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["values"]["drill_months"] == 3
    assert body["overrides"] == {"drill_months": 3, "unscreened_share_max": 0.05}

    reset = manager.put(
        f"/api/risk/sites/{site.code}/thresholds", {"thresholds": {"drill_months": None}}
    )
    assert reset.json()["overrides"] == {"unscreened_share_max": 0.05}


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"thresholds": {"drill_weeks": 3}}, 400, "thresholds"),
        ({"thresholds": {"drill_months": 0}}, 400, "thresholds.drill_months"),
        ({"thresholds": {"drill_months": 2.5}}, 400, "thresholds.drill_months"),
        ({"thresholds": {"unscreened_share_max": 2}}, 400, "thresholds.unscreened_share_max"),
    ],
)
def test_bad_thresholds_are_refused_naming_the_field(site, manager, body, status, field):
    assert_refused(manager.put(f"/api/risk/sites/{site.code}/thresholds", body), status, field)
    assert not RiskSitePolicy.objects.exists()


def test_thresholds_of_a_text_value_or_an_unknown_site_are_refused(site, manager, auditor):
    response = manager.put(
        f"/api/risk/sites/{site.code}/thresholds", {"thresholds": {"drill_months": "3"}}
    )
    assert response.status_code in (400, 422), response.content
    assert "drill_months" in str(response.json())
    assert_refused(
        manager.put("/api/risk/sites/nowhere/thresholds", {"thresholds": {}}), 404, "site"
    )
    assert_refused(
        auditor.put(f"/api/risk/sites/{site.code}/thresholds", {"thresholds": {"drill_months": 3}}),
        403,
        None,
    )
    assert not RiskSitePolicy.objects.exists()


@pytest.fixture
def broken() -> Iterator[str]:
    @rule("test-api-broken", "A rule that always fails")
    def _broken(ctx: Context) -> Iterator[Proposed]:
        raise RuntimeError("boom")
        yield  # pragma: no cover

    try:
        yield "test-api-broken"
    finally:
        rules.RULES.pop("test-api-broken", None)


def test_running_the_rules_reports_findings_and_failed_rules(site, manager, broken):
    assessment = make_assessment(site)
    response = manager.post(
        f"/api/risk/assessments/{assessment.pk}/rules/run",
        {"only": ["no-recent-drill", broken]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["proposed"] == {"no-recent-drill": 1}
    assert [(f["rule"], f["subject"], f["state"]) for f in body["findings"]] == [
        ("no-recent-drill", f"site:{site.code}", "proposed")
    ]
    assert body["findings"][0]["suggested_treatment"]
    assert [f["rule"] for f in body["failed"]] == [broken]
    assert "boom" in body["failed"][0]["message"]

    everything = manager.post(f"/api/risk/assessments/{assessment.pk}/rules/run", {}).json()
    assert broken in everything["failed"][0]["rule"]
    assert set(everything["proposed"]) == set(rules.load()) - {broken}


def test_a_run_is_refused_naming_the_field(site, manager, auditor):
    assessment = make_assessment(site)
    path = f"/api/risk/assessments/{assessment.pk}/rules/run"
    assert_refused(manager.post(path, {"only": ["nope"]}), 400, "only")
    assert_refused(auditor.post(path, {}), 403, None)
    assert_refused(manager.post("/api/risk/assessments/999999/rules/run", {}), 404, "assessment_id")
    huge = manager.post("/api/risk/assessments/99999999999999/rules/run", {})
    assert huge.status_code in (400, 404, 422)
    complete(MANAGER, assessment)
    assert_refused(manager.post(path, {}), 409, "assessment_id")
    assert not Finding.objects.exists()


def test_odd_numbers_and_oversized_bodies_get_an_answer_not_a_500(site, manager):
    path = f"/api/risk/sites/{site.code}/thresholds"
    response = manager.client.put(
        path,
        '{"thresholds": {"drill_months": 1e999}}',
        content_type="application/json",
        headers=manager.headers,
    )
    assert response.status_code in (400, 422), response.content
    many = {f"name_{n}": 1 for n in range(200)}
    assert manager.put(path, {"thresholds": many}).status_code in (400, 422)
    assert manager.put(path, {"thresholds": {"drill_months": True}}).status_code in (400, 422)
    assert not RiskSitePolicy.objects.exists()
