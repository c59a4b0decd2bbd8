"""The playbooks API: roles on every operation, editing with bad input answered field by field,
an incident's steps with the late ones flagged, checking off (which acts), arming an exercise,
and releasing the mail hold."""

from __future__ import annotations

import pytest

from mailwarden.access.models import SiteRules
from mailwarden.core.roles import Role
from mailwarden.custody.models import SiteMailHold
from mailwarden.incidents.models import Playbook
from tests.api.conftest import Api, assert_refused, token_for
from tests.incidents.playbooks_helpers import add_doors, open_incident

pytestmark = pytest.mark.django_db


def api(role: Role) -> Api:
    return Api(token_for(role))


def test_everyone_on_the_staff_reads_playbooks():
    for role in (Role.AUDITOR, Role.CLERK, Role.SCREENER):
        body = api(role).get("/api/playbooks").json()
        assert len(body) == 6
    one = next(p for p in body if p["incident_type"] == "suspicious_package")
    got = api(Role.CLERK).get(f"/api/playbooks/{one['id']}").json()
    assert got["steps"][0]["title"] == "Do not open, shake or smell it"
    assert_refused(api(Role.RECIPIENT).get("/api/playbooks"), 403, None)
    assert_refused(Api(None).get("/api/playbooks"), 401, "Authorization")
    assert_refused(api(Role.AUDITOR).get("/api/playbooks/999999"), 404, "playbook_id")


def _body(**step: object) -> dict[str, object]:
    return {
        "name": "Unattended item, short",
        "description": "",
        "steps": [
            {"title": "Keep back", "role": "clerk", "target_minutes": 0},
            {
                "title": "Tell the operators",
                "role": "security_operator",
                "target_minutes": 5,
                "action": "send_message",
                "message": "{title} at {site} ({reference})",
                **step,
            },
        ],
    }


def test_a_manager_edits_a_playbook():
    playbook = Playbook.objects.get(incident_type="unattended_item")
    path = f"/api/playbooks/{playbook.pk}"
    assert_refused(api(Role.SECURITY_OPERATOR).put(path, _body()), 403, None)
    done = api(Role.SECURITY_MANAGER).put(path, _body())
    assert done.status_code == 200, done.content
    assert [s["title"] for s in done.json()["steps"]] == ["Keep back", "Tell the operators"]


@pytest.mark.parametrize(
    ("step", "status", "field"),
    [
        ({"role": "janitor"}, 422, "steps.1.role"),
        ({"target_minutes": 1441}, 422, "steps.1.target_minutes"),
        ({"target_minutes": True}, 422, "steps.1.target_minutes"),
        ({"target_minutes": 5.5}, 422, "steps.1.target_minutes"),
        ({"action": "launch"}, 422, "steps.1.action"),
        ({"message": ""}, 400, "steps.1.message"),
        ({"message": "{nope}"}, 400, "steps.1.message"),
        ({"action": "lockdown_site", "role": "clerk", "message": ""}, 400, "steps.1.role"),
    ],
)
def test_bad_edits_name_the_field(step, status, field):
    playbook = Playbook.objects.get(incident_type="unattended_item")
    refused = api(Role.SECURITY_MANAGER).put(f"/api/playbooks/{playbook.pk}", _body(**step))
    assert_refused(refused, status, field)
    assert playbook.steps.count() == 7


def test_install_defaults_is_for_managers():
    Playbook.objects.filter(incident_type="bomb_threat").delete()
    assert_refused(api(Role.AUDITOR).post("/api/playbooks/install-defaults"), 403, None)
    body = api(Role.SECURITY_MANAGER).post("/api/playbooks/install-defaults").json()
    assert [p["incident_type"] for p in body] == ["bomb_threat"]


def test_steps_late_and_checked_off(site, frozen_clock):
    add_doors(site, 2)
    incident = open_incident(site, "forced_entry")
    operator = api(Role.SECURITY_OPERATOR)
    steps = operator.get(f"/api/incidents/{incident.pk}/steps").json()
    assert [s["late"] for s in steps[:2]] == [False, False]
    frozen_clock.advance(minutes=3)
    steps = operator.get(f"/api/incidents/{incident.pk}/steps").json()
    assert [s["position"] for s in steps if s["late"]] == [1, 2, 3]
    late = api(Role.AUDITOR).get("/api/playbooks/late-steps").json()
    assert [(s["incident"], s["position"]) for s in late] == [
        (incident.reference, p) for p in (1, 2, 3)
    ]
    lock = next(s for s in steps if s["action"] == "lockdown_site")
    path = f"/api/incidents/{incident.pk}/steps/{lock['position']}/complete"
    assert_refused(api(Role.CLERK).post(path, {"note": "x"}), 403, "position")
    assert_refused(api(Role.AUDITOR).post(path, {}), 403, "position")
    done = operator.post(path, {"note": "from the desk"})
    assert done.status_code == 200, done.content
    body = done.json()
    assert body["done_note"] == "from the desk" and body["late"] is False
    assert (body["action_status"], body["action_result"]) == (
        "done",
        "locked 2 doors at Site hq (site lockdown)",
    )
    assert SiteRules.objects.get(site=site).lockdown
    assert_refused(operator.post(path, {}), 409, "position")
    assert_refused(
        operator.post(f"/api/incidents/{incident.pk}/steps/99/complete", {}), 404, "position"
    )
    assert_refused(operator.post(path.replace(str(incident.pk), "999999"), {}), 404, "incident_id")
    assert_refused(operator.post(path, {"note": "x" * 501}), 422, "note")
    assert_refused(api(Role.RECIPIENT).get(f"/api/incidents/{incident.pk}/steps"), 403, None)


def test_arming_and_releasing(site, frozen_clock):
    drill = open_incident(site, "suspicious_package", exercise=True)
    assert_refused(api(Role.SECURITY_OPERATOR).post(f"/api/incidents/{drill.pk}/arm"), 403, None)
    armed = api(Role.SECURITY_MANAGER).post(f"/api/incidents/{drill.pk}/arm")
    assert armed.json() == {"incident": drill.reference, "exercise": True, "armed": True}
    assert_refused(
        api(Role.SECURITY_MANAGER).post(f"/api/incidents/{drill.pk}/arm"), 409, "incident_id"
    )
    hold_step = drill.steps.get(action="hold_site_mail").position
    done = api(Role.SECURITY_OPERATOR).post(
        f"/api/incidents/{drill.pk}/steps/{hold_step}/complete", {}
    )
    assert done.json()["action_status"] == "done"
    release = f"/api/incidents/{drill.pk}/mail-hold/release"
    assert_refused(api(Role.SECURITY_OPERATOR).post(release, {}), 403, None)
    released = api(Role.SECURITY_MANAGER).post(release, {"reason": "drill over"})
    hold = SiteMailHold.objects.get()
    assert released.json() == {"incident": drill.reference, "hold": hold.pk}
    assert hold.release_reason == "drill over" and not hold.active
    assert_refused(api(Role.SECURITY_MANAGER).post(release, {}), 409, "incident_id")
