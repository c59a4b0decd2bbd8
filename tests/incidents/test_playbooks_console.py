"""The playbooks' console pages through the Django test client: who sees and edits playbooks,
the editor (add, remove, reorder, refusals on the field at fault), and an incident's steps page
(late steps in red, check-off buttons by role, arming, releasing the hold)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.access.models import SiteRules
from mailwarden.core.roles import Role
from mailwarden.custody.models import SiteMailHold
from mailwarden.incidents.models import IncidentStep, Playbook
from tests.incidents.playbooks_helpers import add_doors, open_incident, staff

pytestmark = pytest.mark.django_db


def signed_in(role: Role) -> Client:
    user = User.objects.filter(username=role.value).first() or staff(role, role.value)
    client = Client()
    client.force_login(user)
    return client


def test_staff_read_playbooks_and_managers_edit(site):
    html = signed_in(Role.CLERK).get("/incidents/playbooks/").content.decode()
    assert "Do not open, shake or smell it" in html and "Bomb threat" in html
    assert "/edit/" not in html
    manager = signed_in(Role.SECURITY_MANAGER).get("/incidents/playbooks/").content.decode()
    assert manager.count(">Edit</a>") == 6
    assert signed_in(Role.RECIPIENT).get("/incidents/playbooks/").status_code == 403
    playbook = Playbook.objects.get(incident_type="bomb_threat")
    assert (
        signed_in(Role.SECURITY_OPERATOR)
        .get(f"/incidents/playbooks/{playbook.pk}/edit/")
        .status_code
        == 403
    )
    assert Client().get("/incidents/playbooks/").status_code == 302


def _post(playbook: Playbook, rows: list[dict[str, str]], **extra: str) -> dict[str, str]:
    data = {
        "name": playbook.name,
        "description": playbook.description,
        "steps-TOTAL_FORMS": str(len(rows)),
        "steps-INITIAL_FORMS": str(playbook.steps.count()),
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "40",
        **extra,
    }
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"steps-{n}-{key}"] = value
    return data


def _rows(playbook: Playbook) -> list[dict[str, str]]:
    return [
        {
            "ORDER": str(s.position),
            "title": s.title,
            "role": s.role,
            "target_minutes": str(s.target_minutes),
            "action": s.action,
            "message": s.message,
            "instructions": s.instructions,
        }
        for s in playbook.steps.order_by("position")
    ]


def test_the_editor_adds_removes_and_reorders(site):
    playbook = Playbook.objects.get(incident_type="unattended_item")
    client = signed_in(Role.SECURITY_MANAGER)
    page = client.get(f"/incidents/playbooks/{playbook.pk}/edit/").content.decode()
    assert 'name="steps-0-title"' in page and 'name="steps-8-title"' in page  # 7 + 2 empty
    rows = _rows(playbook)
    rows[0]["ORDER"], rows[1]["ORDER"] = "2", "1"  # swap the first two
    rows[6]["DELETE"] = "on"  # drop the last
    rows.append(
        {
            "ORDER": "",
            "title": "Tell the manager",
            "role": "security_manager",
            "target_minutes": "45",
        }
    )
    rows.append({"ORDER": "", "title": "", "role": "", "target_minutes": "", "action": ""})
    answer = client.post(f"/incidents/playbooks/{playbook.pk}/edit/", _post(playbook, rows))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    titles = list(playbook.steps.order_by("position").values_list("title", flat=True))
    assert titles[:2] == ["Ask whose it is", "Do not touch or move it"]
    assert titles[-1] == "Tell the manager" and "Record what was found" not in titles
    assert len(titles) == 7


def test_the_editor_shows_a_refusal_on_its_field(site):
    playbook = Playbook.objects.get(incident_type="unattended_item")
    rows = _rows(playbook)
    send = next(r for r in rows if r["action"] == "send_message")
    send["message"] = "Look in {room}"
    answer = signed_in(Role.SECURITY_MANAGER).post(
        f"/incidents/playbooks/{playbook.pk}/edit/", _post(playbook, rows)
    )
    html = answer.content.decode()
    assert answer.status_code == 200
    row = html.split('data-step-row="3"')[1].split('data-step-row="4"')[0]
    assert 'data-field-error="message"' in row and "unknown placeholder {room}" in row
    rows[0]["target_minutes"] = "2000"
    answer = signed_in(Role.SECURITY_MANAGER).post(
        f"/incidents/playbooks/{playbook.pk}/edit/", _post(playbook, rows)
    )
    row = answer.content.decode().split('data-step-row="0"')[1].split('data-step-row="1"')[0]
    assert 'data-field-error="target_minutes"' in row
    assert playbook.steps.get(action="send_message").message.startswith("Incident {reference}")


def test_the_steps_page_flags_late_steps_and_offers_check_off_by_role(site, frozen_clock):
    add_doors(site, 2)
    incident = open_incident(site, "forced_entry")
    frozen_clock.advance(minutes=3)
    operator = signed_in(Role.SECURITY_OPERATOR)
    html = operator.get(f"/incidents/{incident.pk}/steps/").content.decode()
    assert 'data-late-count="3"' in html and "3 late" in html
    assert html.count('class="step-row is-late"') == 3
    # The operator sees buttons on operator steps only.
    operator_steps = IncidentStep.objects.filter(
        incident=incident, role="security_operator"
    ).count()
    assert html.count("data-check-off") == operator_steps
    clerk_html = signed_in(Role.CLERK).get(f"/incidents/{incident.pk}/steps/").content.decode()
    assert clerk_html.count("data-check-off") == 1
    assert signed_in(Role.RECIPIENT).get(f"/incidents/{incident.pk}/steps/").status_code == 403
    assert operator.get("/incidents/999999/steps/").status_code == 404

    lock = IncidentStep.objects.get(incident=incident, action="lockdown_site").position
    done = operator.post(
        f"/incidents/{incident.pk}/steps/{lock}/complete/",
        {"note": "locked from the desk", "next": f"/incidents/{incident.pk}/steps/"},
        follow=True,
    )
    html = done.content.decode()
    assert "Step 2 checked off. Action done: locked 2 doors at Site hq (site lockdown)." in html
    assert "locked from the desk" in html
    assert SiteRules.objects.get(site=site).lockdown
    first = operator.post(f"/incidents/{incident.pk}/steps/1/complete/", {}, follow=True)
    assert "Step 1 checked off." in first.content.decode()
    assert "Step 1 checked off. Action" not in first.content.decode()  # a step without action
    again = operator.post(f"/incidents/{incident.pk}/steps/{lock}/complete/", {}, follow=True)
    assert (
        f"Step {lock} was not checked off: step {lock} was checked off by" in again.content.decode()
    )
    clerk = signed_in(Role.CLERK).post(
        f"/incidents/{incident.pk}/steps/5/complete/", {}, follow=True
    )
    assert "is for the security operator" in clerk.content.decode()


def test_arming_and_releasing_from_the_page(site, frozen_clock):
    drill = open_incident(site, "suspicious_package", exercise=True)
    manager = signed_in(Role.SECURITY_MANAGER)
    html = manager.get(f"/incidents/{drill.pk}/steps/").content.decode()
    assert "data-steps-banner" in html and "data-arm" in html
    assert (
        "data-arm"
        not in signed_in(Role.SECURITY_OPERATOR)
        .get(f"/incidents/{drill.pk}/steps/")
        .content.decode()
    )
    assert signed_in(Role.SECURITY_OPERATOR).post(f"/incidents/{drill.pk}/arm/").status_code == 403
    manager.post(f"/incidents/{drill.pk}/arm/")
    hold = IncidentStep.objects.get(incident=drill, action="hold_site_mail").position
    manager.post(f"/incidents/{drill.pk}/steps/{hold}/complete/", {})
    html = manager.get(f"/incidents/{drill.pk}/steps/").content.decode()
    assert "Exercise, armed." in html and "data-hold-banner" in html and "data-release" in html
    done = manager.post(
        f"/incidents/{drill.pk}/mail-hold/release/", {"reason": "drill over"}, follow=True
    )
    assert "Mail hold" in done.content.decode() and "released" in done.content.decode()
    assert not SiteMailHold.objects.get().active
