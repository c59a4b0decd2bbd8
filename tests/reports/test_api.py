"""The reports in the API: the same figures as the page, for managers and auditors only, and a
bad period refused naming the field."""

from __future__ import annotations

import pytest

from mailwarden.core.roles import Role
from tests.api.conftest import Api, token_for

pytestmark = pytest.mark.django_db

WEEK = {"start": "2026-03-02", "end": "2026-03-08", "site": "hq"}


def api(role: Role) -> Api:
    return Api(token_for(role))


def test_the_chart_list_and_one_chart(room):
    manager = api(Role.SECURITY_MANAGER)
    listed = manager.get("/api/reports")
    assert listed.status_code == 200
    assert {c["key"] for c in listed.json()} >= {"intake-carrier", "dwell", "door-alarms"}

    dwell = manager.get("/api/reports/dwell", **WEEK)
    assert dwell.status_code == 200
    body = dwell.json()
    assert body["title"] == "Time from arrival to hand-over"
    assert body["site"] == "hq"
    assert (body["start"], body["end"], body["per"]) == ("2026-03-02", "2026-03-08", "day")
    assert "Median: 13 hours" in body["notes"]
    assert sum(body["series"][0]["values"]) == 2

    trend = manager.get("/api/reports/dwell-median", **WEEK).json()
    assert trend["series"][0]["values"][:3] == [None, 24.0, 2.0]


def test_the_api_agrees_with_the_page_per_week(room):
    body = api(Role.AUDITOR).get("/api/reports/intake-kind", **WEEK, per="week").json()
    assert body["categories"] == ["w/c 2 Mar"]
    parcel = next(s for s in body["series"] if s["key"] == "parcel")
    assert parcel["values"] == [4]


@pytest.mark.parametrize(
    "role", [Role.CLERK, Role.SCREENER, Role.SECURITY_OPERATOR, Role.RECIPIENT]
)
def test_other_roles_are_refused(room, role):
    assert api(role).get("/api/reports").status_code == 403
    assert api(role).get("/api/reports/dwell", **WEEK).status_code == 403


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"start": "2026-03-09", "end": "2026-03-01"}, 400, "end"),
        ({"site": "nowhere"}, 404, "site"),
        ({"start": "0"}, 422, "start"),
        ({"per": "month"}, 422, "per"),
        ({"start": "0001-01-01"}, 400, "start"),
    ],
)
def test_a_bad_period_names_the_field(room, query, status, field):
    response = api(Role.SECURITY_MANAGER).get("/api/reports/overdue", **query)
    assert response.status_code == status
    body = response.json()
    assert field in str(body)


def test_an_unknown_chart_is_refused(room):
    assert api(Role.SECURITY_MANAGER).get("/api/reports/nothing").status_code in (404, 422)
