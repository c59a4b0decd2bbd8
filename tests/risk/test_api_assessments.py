"""Assessments in the API: templates and methods, creating, answering, changing the method,
finalising (400 listing what is missing), the register's risks, and who may call each."""

from __future__ import annotations

import pytest

from mailwarden.core.models import OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.risk import questionnaire
from mailwarden.risk.models import Answer, Assessment, AssessmentState
from tests.api.conftest import Api, assert_refused, snapshot, token_for
from tests.factories import make_site
from tests.risk.assessment_helpers import a_valid_value

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(db, frozen_clock) -> Api:
    make_site("hq")
    return Api(token_for(Role.SECURITY_MANAGER))


@pytest.fixture
def auditor(manager) -> Api:
    return Api(token_for(Role.AUDITOR))


def _create(api: Api, **body) -> dict:
    response = api.post("/api/risk/assessments", {"site": "hq", "title": "Spring walk", **body})
    assert response.status_code == 201, response.content
    return response.json()


def _all_answers() -> list[dict]:
    shape = questionnaire.template("mail-centre")
    return [
        {"question": q.key, "value": a_valid_value(q)}
        for s in shape.sections
        for q in s.questions
        if q.required
    ]


def test_templates_and_methods_are_listed(auditor):
    templates = auditor.get("/api/risk/templates").json()
    assert [t["slug"] for t in templates] == ["mail-centre"]
    one = auditor.get("/api/risk/templates/mail-centre").json()
    assert one["sections"][0]["questions"][0]["key"] == "coordinator-named"
    assert {t["key"] for t in one["threats"]} >= {"insider", "hazardous-powder"}
    assert_refused(auditor.get("/api/risk/templates/warehouse"), 400, "template")
    methods = {m["slug"]: m for m in auditor.get("/api/risk/methods").json()}
    assert set(methods) == {"matrix", "fema452", "carver"}
    assert methods["matrix"]["axes"] == [
        {"title": "Likelihood", "size": 5},
        {"title": "Impact", "size": 5},
    ]
    assert len(methods["carver"]["factors"]) == 6
    sized = {m["slug"]: m for m in auditor.get("/api/risk/methods", size=7).json()}
    assert sized["matrix"]["factors"][0]["high"] == 7
    assert_refused(auditor.get("/api/risk/methods", size=11), 400, "method_params.size")


def test_an_assessment_is_created_listed_and_read(manager, auditor):
    created = _create(manager, method="matrix", method_params={"size": 4})
    assert created["state"] == "draft"
    assert created["method_params"] == {"size": 4}
    assert len(created["risks"]) == 7
    assert created["missing"]
    listed = auditor.get("/api/risk/assessments", site="hq").json()
    assert [a["id"] for a in listed] == [created["id"]]
    assert auditor.get("/api/risk/assessments", state="final").json() == []
    read = auditor.get(f"/api/risk/assessments/{created['id']}").json()
    assert read["title"] == "Spring walk"
    assert_refused(auditor.get("/api/risk/assessments/99999"), 404, "assessment")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"method": "octave"}, 400, "method"),
        ({"method_params": {"size": 2}}, 400, "method_params.size"),
        ({"method_params": {"size": True}}, 422, "method_params"),
        ({"site": "nowhere"}, 404, "site"),
        ({"title": ""}, 422, "title"),
        ({"period_start": "2026-01-01"}, 422, "period_start"),
        ({"period_end": "0001-02-01T00:00:00Z"}, 400, "period_end"),
    ],
)
def test_bad_assessments_are_refused_naming_the_field(manager, body, status, field):
    response = manager.post("/api/risk/assessments", {"site": "hq", "title": "Walk", **body})
    assert_refused(response, status, field)
    assert not Assessment.objects.exists()


def test_answers_are_saved_all_or_none(manager):
    created = _create(manager)
    url = f"/api/risk/assessments/{created['id']}/answers"
    body = manager.put(
        url,
        {
            "answers": [
                {"question": "coordinator-named", "value": True, "note": "Sam, deputy Ola"},
                {"question": "ppe", "value": ["masks", "gloves"]},
                {"question": "daily-items", "value": 450},
            ]
        },
    ).json()
    answers = {a["question"]: a for a in body["answers"]}
    assets = body["sections"][0]
    assert (assets["key"], assets["answered"]) == ("assets", 2)
    assert assets["required_unanswered"] == assets["questions"] - 3  # one is optional
    assert body["sections"][2]["answered"] == 1
    assert answers["ppe"]["value"] == ["gloves", "masks"]
    assert answers["coordinator-named"]["note"] == "Sam, deputy Ola"
    assert answers["daily-items"]["value"] == 450
    refused = manager.put(
        url,
        {
            "answers": [
                {"question": "shifts", "value": 2},
                {"question": "location", "value": "roof"},
            ]
        },
    )
    assert_refused(refused, 400, "answers.1.value")
    assert not Answer.objects.filter(question="shifts").exists()
    assert_refused(
        manager.put(url, {"answers": [{"question": "moat", "value": 1}]}), 400, "answers.0.question"
    )


def test_finalising_lists_what_is_missing_then_succeeds(manager):
    created = _create(manager)
    aid = created["id"]
    refused = manager.post(f"/api/risk/assessments/{aid}/finalise")
    body = assert_refused(refused, 400, "assessment")
    lines = [e["message"] for e in body["errors"]]
    assert any(line.startswith("Unanswered") for line in lines)
    assert sum("no inherent score" in line for line in lines) == 7
    answered = manager.put(f"/api/risk/assessments/{aid}/answers", {"answers": _all_answers()})
    assert answered.status_code == 200, answered.content
    for risk in created["risks"]:
        scored = manager.put(
            f"/api/risk/risks/{risk['id']}/scores",
            {
                "inherent": {"likelihood": 4, "impact": 4},
                "residual": {"likelihood": 2, "impact": 2},
            },
        )
        assert scored.status_code == 200, scored.content
        assert scored.json()["inherent_level"] == "high"
    done = manager.post(f"/api/risk/assessments/{aid}/finalise")
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "final" and done.json()["missing"] == []
    event = OutboxEvent.objects.get(topic="risk.assessment.finalised")
    assert event.payload["risks"] == 7 and event.payload["high_or_critical"] == 0
    # Fixed from now on: the method, the answers and the register.
    assert_refused(
        manager.put(f"/api/risk/assessments/{aid}/method", {"method": "carver"}), 409, "method"
    )
    assert_refused(manager.post(f"/api/risk/assessments/{aid}/finalise"), 409, "assessment")
    assert Assessment.objects.get(pk=aid).state == AssessmentState.FINAL


def test_the_method_of_a_draft_changes_and_clears_scores(manager):
    created = _create(manager)
    risk = created["risks"][0]
    manager.put(
        f"/api/risk/risks/{risk['id']}/scores", {"inherent": {"likelihood": 2, "impact": 2}}
    )
    body = manager.put(
        f"/api/risk/assessments/{created['id']}/method", {"method": "fema452"}
    ).json()
    assert body["method"] == "fema452"
    assert all(r["inherent_score"] is None for r in body["risks"])
    scored = manager.put(
        f"/api/risk/risks/{risk['id']}/scores",
        {"inherent": {"threat": 8, "vulnerability": 8, "consequence": 8}},
    ).json()
    assert (scored["inherent_score"], scored["inherent_level"]) == (512, "critical")


def test_risks_are_added_scored_and_closed(manager, auditor):
    created = _create(manager)
    aid = created["id"]
    added = manager.post(
        f"/api/risk/assessments/{aid}/risks",
        {"title": "Flooded basement", "threat": "disruption"},
    )
    assert added.status_code == 201, added.content
    risk = added.json()
    assert risk["key"] == "flooded-basement" and risk["state"] == "open"
    assert_refused(
        manager.post(f"/api/risk/assessments/{aid}/risks", {"title": "Flooded basement"}),
        409,
        "key",
    )
    assert_refused(
        manager.put(f"/api/risk/risks/{risk['id']}/scores", {"inherent": {"likelihood": 9}}),
        400,
        "inherent.likelihood",
    )
    assert_refused(
        manager.put(f"/api/risk/risks/{risk['id']}/scores", {"inherent": {"likelihood": 2.5}}),
        422,
        "inherent",
    )
    closed = manager.post(f"/api/risk/risks/{risk['id']}/close", {"reason": "pumps fitted"})
    assert closed.json()["state"] == "closed"
    assert auditor.get(f"/api/risk/risks/{risk['id']}").json()["state"] == "closed"
    assert_refused(auditor.get("/api/risk/risks/99999"), 404, "risk")


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CLERK, Role.SCREENER])
def test_only_security_managers_change_assessments(manager, role):
    created = _create(manager)
    aid, rid = created["id"], created["risks"][0]["id"]
    other = Api(token_for(role))
    before = snapshot()
    calls = [
        other.post("/api/risk/assessments", {"site": "hq", "title": "Mine"}),
        other.put(f"/api/risk/assessments/{aid}/answers", {"answers": _all_answers()[:1]}),
        other.put(f"/api/risk/assessments/{aid}/method", {"method": "carver"}),
        other.post(f"/api/risk/assessments/{aid}/finalise"),
        other.post(f"/api/risk/assessments/{aid}/risks", {"title": "Flood"}),
        other.put(f"/api/risk/risks/{rid}/scores", {"inherent": {"likelihood": 1}}),
        other.post(f"/api/risk/risks/{rid}/close", {"reason": "x"}),
    ]
    for response in calls:
        assert response.status_code == 403, response.content
    assert snapshot() == before
    assert Assessment.objects.count() == 1 and not Answer.objects.exists()


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_only_managers_and_auditors_read_assessments(manager, role):
    created = _create(manager)
    other = Api(token_for(role))
    for path in (
        "/api/risk/assessments",
        f"/api/risk/assessments/{created['id']}",
        "/api/risk/templates",
        "/api/risk/methods",
        f"/api/risk/risks/{created['risks'][0]['id']}",
    ):
        assert other.get(path).status_code == 403, path
