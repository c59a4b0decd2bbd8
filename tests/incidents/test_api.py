"""The alarm console's API: roles first, filters, single and bulk acknowledgement, the rules,
and bad input answered with the field at fault."""

from __future__ import annotations

import pytest

from mailwarden.core.roles import Role
from mailwarden.incidents.models import Alarm, AlarmRule
from tests.api.conftest import Api, assert_refused, token_for
from tests.incidents.conftest import deliver, forced, threat

pytestmark = pytest.mark.django_db


@pytest.fixture
def alarms(site, frozen_clock) -> list[Alarm]:
    deliver(forced(1), forced(2), forced(3, door="DOCK"), threat())
    return list(Alarm.objects.order_by("id"))


def api(role: Role) -> Api:
    return Api(token_for(role))


def test_list_and_filter(alarms):
    auditor = api(Role.AUDITOR)
    body = auditor.get("/api/alarms").json()
    assert [a["severity"] for a in body] == [4, 4, 4]
    lobby = next(a for a in body if a["source_key"].endswith("LOBBY"))
    assert lobby["count"] == 2 and lobby["site"] == "hq" and lobby["state"] == "open"
    assert lobby["evidence"][0]["url"] == "/access/?site=hq"
    assert [a["source"] for a in auditor.get("/api/alarms", source="screening").json()] == [
        "screening"
    ]
    assert auditor.get("/api/alarms", min_severity=4, site="hq", type="x").json() == []
    one = auditor.get(f"/api/alarms/{alarms[0].pk}").json()
    assert one["title"] == "Door forced open: LOBBY"


def test_acknowledge_single_and_bulk(alarms):
    operator = api(Role.SECURITY_OPERATOR)
    done = operator.post(f"/api/alarms/{alarms[0].pk}/acknowledge", {"note": "seen"})
    assert done.status_code == 200 and done.json()["state"] == "acknowledged"
    bulk = operator.post("/api/alarms/acknowledge", {"alarm_ids": [alarms[1].pk, alarms[2].pk]})
    assert [a["state"] for a in bulk.json()] == ["acknowledged", "acknowledged"]
    assert operator.get("/api/alarms", state="open").json() == []
    # The doors are still forced open: acknowledged, they stay on the list (as on the board).
    still = operator.get("/api/alarms").json()
    assert [(a["source"], a["state"]) for a in still] == [("access", "acknowledged")] * 2
    assert len(operator.get("/api/alarms", all=True).json()) == 3
    assert_refused(operator.post(f"/api/alarms/{alarms[0].pk}/acknowledge", {}), 409, "alarm_ids")


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_other_roles_cannot_read_alarms(alarms, role):
    assert_refused(api(role).get("/api/alarms"), 403, None)


@pytest.mark.parametrize("role", [Role.AUDITOR, Role.CLERK])
def test_readers_cannot_acknowledge(alarms, role):
    refused = api(role).post("/api/alarms/acknowledge", {"alarm_ids": [alarms[0].pk]})
    assert_refused(refused, 403, None)
    assert not Alarm.objects.filter(acknowledged_at__isnull=False).exists()


def test_no_token_is_answered_401(alarms):
    assert_refused(Api(None).get("/api/alarms"), 401, "Authorization")


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"alarm_ids": []}, 422, "alarm_ids"),
        ({"alarm_ids": ["one"]}, 422, "alarm_ids.0"),
        ({"alarm_ids": [1], "note": "x" * 501}, 422, "note"),
        ({"alarm_ids": [999_999]}, 404, "alarm_ids"),
    ],
)
def test_bad_acknowledgements_name_the_field(alarms, body, status, field):
    response = api(Role.SECURITY_OPERATOR).post("/api/alarms/acknowledge", body)
    assert_refused(response, status, field)
    assert not Alarm.objects.filter(acknowledged_at__isnull=False).exists()


def test_bad_filters_name_the_field(alarms):
    auditor = api(Role.AUDITOR)
    assert_refused(auditor.get("/api/alarms", min_severity=9), 422, "min_severity")
    assert_refused(auditor.get("/api/alarms", site="nowhere"), 404, "site")
    assert_refused(auditor.get("/api/alarms/999999"), 404, "alarm_id")


def test_rules_for_managers(site):
    manager = api(Role.SECURITY_MANAGER)
    created = manager.post(
        "/api/alarms/rules",
        {"name": "Nights", "action": "notify", "starts_at": "19:00", "ends_at": "07:00"},
    )
    assert created.status_code == 201, created.content
    rule = created.json()
    assert (rule["starts_at"], rule["site"], rule["min_severity"]) == ("19:00:00", None, 1)
    changed = manager.put(
        f"/api/alarms/rules/{rule['id']}",
        {"name": "Critical", "action": "open_incident", "site": "hq", "min_severity": 4},
    )
    assert changed.json()["site"] == "hq"
    assert [r["name"] for r in api(Role.AUDITOR).get("/api/alarms/rules").json()] == ["Critical"]
    assert_refused(
        api(Role.SECURITY_OPERATOR).post("/api/alarms/rules", {"name": "x", "action": "log"}),
        403,
        None,
    )
    assert_refused(
        manager.post("/api/alarms/rules", {"name": "x", "action": "page"}), 422, "action"
    )
    assert_refused(
        manager.post("/api/alarms/rules", {"name": "x", "action": "log", "starts_at": "19:00"}),
        400,
        "ends_at",
    )
    assert manager.delete(f"/api/alarms/rules/{rule['id']}").status_code == 204
    assert not AlarmRule.objects.exists()
    assert_refused(manager.delete(f"/api/alarms/rules/{rule['id']}"), 404, "rule_id")
