"""The escalation and on-call API: roles on every operation, CRUD of schedules and policies
with bad input answered by field and reason, who is on call, and acknowledging a page."""

from __future__ import annotations

import pytest

from mailwarden.core.roles import Role
from mailwarden.incidents.models import Escalation, EscalationPolicy, OnCallSchedule
from tests.api.conftest import Api, assert_refused, token_for
from tests.incidents.escalation_helpers import open_incident, person, policy, target

pytestmark = pytest.mark.django_db


def api(role: Role, user=None) -> Api:
    return Api(token_for(role, user))


@pytest.fixture
def crew(site, frozen_clock):
    return {"ann": person("ann"), "bob": person("bob"), "dan": person("dan", Role.CLERK)}


def schedule_body(crew, **kw):
    body = {
        "name": "Desk",
        "timezone": "Europe/London",
        "layers": [
            {
                "name": "Week",
                "kind": "weekly",
                "starts_at": "2026-03-02T09:00:00Z",
                "members": [crew["ann"].pk, crew["bob"].pk],
            }
        ],
    }
    body.update(kw)
    return body


def policy_body(crew, **kw):
    body = {
        "name": "Parcels",
        "repeat": 1,
        "levels": [
            {"delay_minutes": 10, "targets": [{"kind": "user", "user_id": crew["ann"].pk}]},
            {
                "delay_minutes": 10,
                "quorum": 1,
                "targets": [
                    {"kind": "role", "role": "security_operator", "role_scope": "all"},
                    {"kind": "mqtt", "address": "mailwarden/pages/hq"},
                ],
            },
        ],
        "matches": [{"incident_type": "suspicious_package", "min_severity": 2}],
    }
    body.update(kw)
    return body


def test_schedules_crud_and_who_is_on_call(crew):
    manager = api(Role.SECURITY_MANAGER)
    created = manager.post("/api/escalation/schedules", schedule_body(crew))
    assert created.status_code == 201, created.content
    schedule = created.json()
    assert schedule["layers"][0]["members"] == [crew["ann"].pk, crew["bob"].pk]
    override = manager.post(
        f"/api/escalation/schedules/{schedule['id']}/overrides",
        {
            "user_id": crew["bob"].pk,
            "starts_at": "2026-03-02T12:00:00Z",
            "ends_at": "2026-03-02T18:00:00Z",
        },
    )
    assert override.status_code == 201, override.content
    auditor = api(Role.AUDITOR)
    now = auditor.get("/api/escalation/oncall").json()
    assert now[0]["now"]["username"] == "ann" and now[0]["next"]["username"] == "bob"
    assert now[0]["next"]["source"] == "override"
    later = auditor.get("/api/escalation/oncall", at="2026-03-09T10:00:00+00:00").json()
    assert later[0]["now"]["username"] == "bob"
    changed = manager.put(
        f"/api/escalation/schedules/{schedule['id']}", schedule_body(crew, name="Front desk")
    )
    assert changed.json()["name"] == "Front desk"
    assert manager.delete(f"/api/escalation/overrides/{override.json()['id']}").status_code == 204
    assert auditor.get(f"/api/escalation/schedules/{schedule['id']}").json()["overrides"] == []
    assert manager.delete(f"/api/escalation/schedules/{schedule['id']}").status_code == 204
    assert not OnCallSchedule.objects.exists()


def test_policies_crud(crew):
    manager = api(Role.SECURITY_MANAGER)
    created = manager.post("/api/escalation/policies", policy_body(crew))
    assert created.status_code == 201, created.content
    body = created.json()
    assert [len(level["targets"]) for level in body["levels"]] == [1, 2]
    assert body["levels"][0]["targets"][0]["label"] == "ann"
    assert body["levels"][1]["targets"][0]["label"] == "every security operator everywhere"
    assert body["matches"] == [
        {"incident_type": "suspicious_package", "site": None, "min_severity": 2, "position": 100}
    ]
    changed = manager.put(
        f"/api/escalation/policies/{body['id']}", policy_body(crew, name="All parcels", repeat=0)
    )
    assert changed.json()["name"] == "All parcels" and changed.json()["repeat"] == 0
    listed = api(Role.SECURITY_OPERATOR).get("/api/escalation/policies").json()
    assert [p["name"] for p in listed] == ["All parcels"]
    assert manager.delete(f"/api/escalation/policies/{body['id']}").status_code == 204
    assert not EscalationPolicy.objects.exists()
    assert_refused(manager.delete(f"/api/escalation/policies/{body['id']}"), 404, "policy_id")


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"levels": []}, 400, "levels"),
        ({"levels": [{"delay_minutes": 5, "targets": []}]}, 400, "levels.0.targets"),
        ({"levels": [{"delay_minutes": 1441, "targets": []}]}, 422, "levels.0.delay_minutes"),
        (
            {"levels": [{"quorum": 2, "targets": [{"kind": "user", "user_id": 1}]}]},
            400,
            "levels.0.quorum",
        ),
        (
            {"levels": [{"targets": [{"kind": "user", "user_id": 999999}]}]},
            404,
            "levels.0.targets.0.user_id",
        ),
        (
            {"levels": [{"targets": [{"kind": "role", "role": "pilot"}]}]},
            404,
            "levels.0.targets.0.role",
        ),
        (
            {"levels": [{"targets": [{"kind": "pager"}]}]},
            422,
            "levels.0.targets.0.kind",
        ),
        (
            {"levels": [{"targets": [{"kind": "mqtt", "address": "elsewhere/x"}]}]},
            400,
            "levels.0.targets.0.address",
        ),
        ({"repeat": True}, 422, "repeat"),
        ({"name": ""}, 422, "name"),
    ],
)
def test_bad_policies_name_the_field(crew, change, status, field):
    body = policy_body(crew, **change)
    if "quorum" in str(change):
        body["levels"][0]["targets"][0]["user_id"] = crew["ann"].pk
    assert_refused(api(Role.SECURITY_MANAGER).post("/api/escalation/policies", body), status, field)


def test_bad_schedules_name_the_field(crew):
    manager = api(Role.SECURITY_MANAGER)
    assert_refused(
        manager.post("/api/escalation/schedules", schedule_body(crew, timezone="Mars/Base")),
        400,
        "timezone",
    )
    assert_refused(
        manager.post("/api/escalation/schedules", schedule_body(crew, layers=[])), 400, "layers"
    )
    bad = schedule_body(crew)
    bad["layers"][0]["starts_at"] = "yesterday"
    assert_refused(manager.post("/api/escalation/schedules", bad), 422, "layers.0.starts_at")
    assert_refused(manager.get("/api/escalation/schedules/999999"), 404, "schedule_id")


@pytest.mark.parametrize("role", [Role.SECURITY_OPERATOR, Role.AUDITOR, Role.CLERK])
def test_only_managers_change_them(crew, role):
    client = api(role)
    assert_refused(client.post("/api/escalation/policies", policy_body(crew)), 403, None)
    assert_refused(client.post("/api/escalation/schedules", schedule_body(crew)), 403, None)


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_other_roles_cannot_read(crew, role):
    client = api(role)
    for path in (
        "/api/escalation/policies",
        "/api/escalation/schedules",
        "/api/escalation/oncall",
        "/api/escalation/escalations",
    ):
        assert_refused(client.get(path), 403, None)


def test_no_token_is_answered_401(crew):
    assert_refused(Api(None).get("/api/escalation/escalations"), 401, "Authorization")


def test_active_escalations_and_acknowledging(site, crew):
    policy("Parcels", [([target("user", crew["ann"])], 10)])
    incident = open_incident(site)
    escalation = Escalation.objects.get()
    listed = api(Role.AUDITOR).get("/api/escalation/escalations").json()
    assert [(e["incident"], e["level"], e["state"]) for e in listed] == [
        (incident.reference, 1, "active")
    ]
    assert listed[0]["pages"][0]["label"] == "ann"
    # An auditor reads but cannot acknowledge; a clerk who was not paged cannot either.
    path = f"/api/escalation/escalations/{escalation.pk}/acknowledge"
    assert_refused(api(Role.AUDITOR).post(path), 403, None)
    assert_refused(api(Role.CLERK, crew["dan"]).post(path), 403, None)
    done = api(Role.SECURITY_OPERATOR, crew["ann"]).post(path)
    assert done.status_code == 200, done.content
    assert done.json()["stopped"] and done.json()["escalation"]["state"] == "acknowledged"
    assert done.json()["escalation"]["acknowledgements"][0]["via"] == "api"
    assert_refused(api(Role.SECURITY_OPERATOR, crew["bob"]).post(path), 409, "escalation_id")
    assert api(Role.AUDITOR).get("/api/escalation/escalations").json() == []
    finished = api(Role.AUDITOR).get("/api/escalation/escalations", state="acknowledged").json()
    assert [e["id"] for e in finished] == [escalation.pk]
    assert_refused(api(Role.AUDITOR).get("/api/escalation/escalations", state="lost"), 422, "state")
    assert_refused(
        api(Role.AUDITOR).get("/api/escalation/escalations/999999"), 404, "escalation_id"
    )
