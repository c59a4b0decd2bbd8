"""Compliance and drill participation in the API: the counts, the people, participation, each
filter refused by name when unknown, and each operation closed to the roles that may not call it."""

from __future__ import annotations

import pytest

from mailwarden.core import clock
from mailwarden.core.roles import Role
from mailwarden.training.models import Participation
from tests.api.conftest import Api, token_for
from tests.training.helpers_b import (
    fast_passwords,  # noqa: F401
    person,
)
from tests.training.test_compliance import town  # noqa: F401  (the fixture)


@pytest.fixture
def auditor(town) -> Api:  # noqa: F811
    return Api(token_for(Role.AUDITOR))


def test_the_counts_per_group_with_drills_and_parcels(auditor):
    response = auditor.get("/api/training/compliance")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totals"] == {
        "current": 1,
        "due_soon": 2,
        "expired": 1,
        "never": 1,
        "total": 5,
        "compliant_percent": 60.0,
    }
    groups = {(g["site"], g["department"], g["course"]): g["counts"] for g in body["groups"]}
    assert groups[("Site annex", "Security", "site-screener-cert")]["expired"] == 1
    assert body["drills"] == [] and body["test_parcels"] == []
    only = auditor.get("/api/training/compliance", site="annex", course="site-screener-cert").json()
    assert only["totals"]["total"] == 2


def test_the_people_worst_first_filtered_and_paged(auditor):
    people = auditor.get("/api/training/compliance/people").json()
    assert [(p["username"], p["standing"]) for p in people][:2] == [
        ("ed", "expired"),
        ("nat", "never"),
    ]
    assert people[0]["certificate_expires_at"].startswith("2026-01-26T09:00:00")
    due = auditor.get("/api/training/compliance/people", standing="due_soon").json()
    assert {p["username"] for p in due} == {"sky", "cleo"}
    page = auditor.get("/api/training/compliance/people", limit=1, offset=1).json()
    assert [p["username"] for p in page] == ["nat"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"site": "nowhere"}, "site"),
        ({"course": "no-such-course"}, "course"),
        ({"department": 99999}, "department"),
    ],
)
def test_unknown_filters_are_named(auditor, params, field):
    response = auditor.get("/api/training/compliance", **params)
    assert response.status_code == 404
    assert response.json()["field"] == field


def test_a_bad_standing_is_refused_by_the_schema(auditor):
    response = auditor.get("/api/training/compliance/people", standing="lapsed")
    assert response.status_code in (400, 422)
    assert "standing" in response.content.decode()


def test_participation_for_managers_and_ones_own_for_staff(town):  # noqa: F811
    hq, _annex = town
    cleo = person("cleo", Role.CLERK)
    Participation.objects.create(
        ref="INC-00001",
        title="EXERCISE: spring drill",
        site=hq,
        user=cleo,
        role_played="answered the roll call: safe",
        occurred_at=clock.now(),
    )
    listed = Api(token_for(Role.SECURITY_MANAGER)).get("/api/training/participation").json()
    assert [(p["username"], p["ref"], p["site"]) for p in listed] == [("cleo", "INC-00001", "hq")]
    mine = Api(token_for(Role.CLERK, cleo)).get("/api/training/participation/mine")
    assert mine.status_code == 200
    assert [p["title"] for p in mine.json()] == ["EXERCISE: spring drill"]
    # a token that acts for nobody has no drills of its own
    nobody = Api(token_for(Role.CLERK)).get("/api/training/participation/mine")
    assert nobody.status_code == 403


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.SECURITY_OPERATOR])
@pytest.mark.parametrize(
    "path",
    ["/api/training/compliance", "/api/training/compliance/people", "/api/training/participation"],
)
def test_staff_without_the_role_are_refused(town, role, path):  # noqa: F811
    response = Api(token_for(role)).get(path)
    assert response.status_code == 403


def test_recipients_have_no_drills_page_of_their_own_in_the_api(town):  # noqa: F811
    response = Api(token_for(Role.RECIPIENT)).get("/api/training/participation/mine")
    assert response.status_code == 403
