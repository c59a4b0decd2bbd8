"""The on-call console through the Django test client: roles on every page, the escalations
list and its acknowledge button, policy and schedule forms with errors on their fields, and
the one-click acknowledgement page reached without signing in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from mailwarden.core import clock
from mailwarden.core.roles import Role
from mailwarden.incidents.models import (
    Escalation,
    EscalationPolicy,
    EscalationState,
    OnCallOverride,
    OnCallSchedule,
)
from mailwarden.incidents.services import escalation as services
from tests.incidents.escalation_helpers import open_incident, person, policy, target, weekly

pytestmark = pytest.mark.django_db

PAGES = [
    "/incidents/oncall/",
    "/incidents/oncall/policies/",
    "/incidents/oncall/schedules/",
]


@pytest.fixture
def crew(site, frozen_clock):
    return {
        "ann": person("ann"),
        "bob": person("bob"),
        "mona": person("mona", Role.SECURITY_MANAGER),
        "aud": person("aud", Role.AUDITOR),
        "dan": person("dan", Role.CLERK),
    }


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def paging(site, crew):
    desk = weekly("Desk", [crew["ann"], crew["bob"]], clock.now() - timedelta(hours=1))
    policy("Parcels", [([target("schedule", desk)], 10), ([target("user", crew["bob"])], 10)])
    return open_incident(site)


@pytest.mark.parametrize("path", PAGES)
def test_readers_see_the_pages_and_others_are_refused(crew, path):
    for name in ("ann", "mona", "aud"):
        assert client_for(crew[name]).get(path).status_code == 200, name
    assert client_for(crew["dan"]).get(path).status_code == 403
    assert Client().get(path).status_code == 302  # to the sign-in page


@pytest.mark.parametrize(
    "path", ["/incidents/oncall/policies/1/", "/incidents/oncall/schedules/1/"]
)
def test_edit_pages_are_for_managers(crew, path):
    for name in ("ann", "aud", "dan"):
        assert client_for(crew[name]).get(path).status_code == 403, name


def test_the_on_call_page(paging, crew):
    html = client_for(crew["ann"]).get("/incidents/oncall/").content.decode()
    assert paging.reference in html and "ann (on call: Desk)" in html
    assert "data-oncall-now>ann<" in html and "data-oncall-next>bob<" in html
    assert '<svg class="oncall-picture"' in html and "<rect" in html
    assert ">Acknowledge</button>" in html
    assert 'href="/incidents/oncall/"' in html  # the menu entry
    auditor = client_for(crew["aud"]).get("/incidents/oncall/").content.decode()
    assert paging.reference in auditor and ">Acknowledge</button>" not in auditor


def test_acknowledge_from_the_page(paging, crew):
    escalation = Escalation.objects.get()
    response = client_for(crew["ann"]).post(
        f"/incidents/oncall/escalations/{escalation.pk}/acknowledge/", follow=True
    )
    assert "Acknowledged: paging stopped" in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.state == EscalationState.ACKNOWLEDGED
    refused = client_for(crew["dan"]).post(
        f"/incidents/oncall/escalations/{escalation.pk}/acknowledge/", follow=True
    )
    assert "Not acknowledged" in refused.content.decode()


def test_the_one_click_link(paging, crew, frozen_clock):
    escalation = Escalation.objects.get()
    token = services.ack_token(escalation.pk, crew["ann"].pk)
    anonymous = Client(enforce_csrf_checks=True)
    page = anonymous.get(f"/incidents/page/{token}/")
    html = page.content.decode()
    assert page.status_code == 200 and paging.title in html and "Acknowledge: I am on it" in html
    Escalation.objects.get(pk=escalation.pk, state=EscalationState.ACTIVE)  # a GET changes nothing
    csrf = anonymous.cookies["csrftoken"].value
    done = anonymous.post(f"/incidents/page/{token}/", {"csrfmiddlewaretoken": csrf})
    assert done.status_code == 200
    assert "You acknowledged the page about" in done.content.decode()
    assert Escalation.objects.get().ended_by == "user:ann"
    again = anonymous.post(f"/incidents/page/{token}/", {"csrfmiddlewaretoken": csrf})
    assert again.status_code == 409 and "acknowledged" in again.content.decode()
    assert anonymous.get("/incidents/page/garbage/").status_code == 400
    frozen_clock.advance(days=2)
    expired = anonymous.get(f"/incidents/page/{token}/")
    assert expired.status_code == 400 and "expired" in expired.content.decode()


def test_a_manager_adds_a_policy_with_the_form(crew):
    client = client_for(crew["mona"])
    response = client.post(
        "/incidents/oncall/policies/",
        {
            "name": "Night parcels",
            "repeat": "1",
            "level1_targets": "user:ann\nrole:security_operator@all",
            "level1_delay": "5",
            "level1_quorum": "2",
            "level2_targets": "mqtt:mailwarden/pages/hq",
            "level2_delay": "10",
            "level2_quorum": "1",
            "incident_types": ["suspicious_package", "bomb_threat"],
            "min_severity": "2",
        },
        follow=True,
    )
    assert "Policy Night parcels added." in response.content.decode()
    saved = EscalationPolicy.objects.get()
    assert [(lv.delay_minutes, lv.quorum) for lv in saved.levels.all()] == [(5, 2), (10, 1)]
    assert sorted(saved.matches.values_list("incident_type", flat=True)) == [
        "bomb_threat",
        "suspicious_package",
    ]
    edit = client.get(f"/incidents/oncall/policies/{saved.pk}/").content.decode()
    assert "role:security_operator@all" in edit


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"level1_targets": "user:nobody"}, "level1_targets", "no user"),
        ({"level1_targets": "pager:x"}, "level1_targets", "is not user"),
        ({"level1_targets": "user:ann", "level1_quorum": "3"}, "level1_quorum", "never be met"),
        ({"level1_targets": "user:ann", "level1_delay": "2000"}, "level1_delay", "0 to 1440"),
        ({"level1_targets": "role:pilot"}, "level1_targets", "no role"),
        ({}, None, "at least one level"),
    ],
)
def test_policy_form_errors_sit_on_their_field(crew, fields, field, message):
    response = client_for(crew["mona"]).post(
        "/incidents/oncall/policies/", {"name": "P", "repeat": "0", "min_severity": "4", **fields}
    )
    assert response.status_code == 400
    html = response.content.decode()
    if field:
        error = html.split(f'data-field-error="{field}"')[1].split("</p>")[0]
        assert message in error
    else:
        assert message in html
    assert not EscalationPolicy.objects.exists()


def test_operators_cannot_post_policies(crew):
    response = client_for(crew["ann"]).post("/incidents/oncall/policies/", {"name": "P"})
    assert response.status_code == 403 and not EscalationPolicy.objects.exists()


def test_a_manager_adds_a_schedule_and_an_override(crew):
    client = client_for(crew["mona"])
    response = client.post(
        "/incidents/oncall/schedules/",
        {
            "name": "Desk",
            "timezone": "Europe/London",
            "layer1_name": "Week",
            "layer1_kind": "weekly",
            "layer1_starts": "2026-03-02T09:00",
            "layer1_members": "ann, bob",
        },
        follow=True,
    )
    assert "Schedule Desk added." in response.content.decode()
    schedule = OnCallSchedule.objects.get()
    layer = schedule.layers.get()
    assert layer.members == [crew["ann"].pk, crew["bob"].pk]
    assert layer.starts_at.isoformat() == "2026-03-02T09:00:00+00:00"
    added = client.post(
        f"/incidents/oncall/schedules/{schedule.pk}/",
        {
            "action": "override",
            "username": "bob",
            "starts_at": "2026-07-01T09:00",
            "ends_at": "2026-07-02T09:00",
        },
        follow=True,
    )
    assert "Override added." in added.content.decode()
    # Entered in London summer time: 09:00 BST is 08:00 UTC.
    assert OnCallOverride.objects.get().starts_at.isoformat() == "2026-07-01T08:00:00+00:00"
    backwards = client.post(
        f"/incidents/oncall/schedules/{schedule.pk}/",
        {
            "action": "override",
            "username": "bob",
            "starts_at": "2026-07-02T09:00",
            "ends_at": "2026-07-01T09:00",
        },
    )
    assert backwards.status_code == 400
    assert 'data-field-error="ends_at"' in backwards.content.decode()
    bad = client.post(
        "/incidents/oncall/schedules/",
        {"name": "X", "timezone": "UTC", "layer1_name": "W", "layer1_members": "zed"},
    )
    assert bad.status_code == 400 and 'data-field-error="layer1_members"' in bad.content.decode()


def test_a_manager_edits_and_removes_a_policy_and_a_schedule(paging, crew):
    client = client_for(crew["mona"])
    saved = EscalationPolicy.objects.get()
    path = f"/incidents/oncall/policies/{saved.pk}/"
    form = client.get(path).content.decode()
    assert "schedule:Desk" in form and "user:bob" in form
    changed = client.post(
        path,
        {
            "name": "Parcels",
            "repeat": "2",
            "level1_targets": "schedule:Desk",
            "level1_delay": "3",
            "level1_quorum": "1",
            "min_severity": "4",
        },
        follow=True,
    )
    assert "Policy Parcels saved." in changed.content.decode()
    assert [lv.delay_minutes for lv in EscalationPolicy.objects.get().levels.all()] == [3]
    # It is paging now: removing it is refused, with the reason.
    refused = client.post(path, {"delete": "1"}, follow=True)
    assert "Not removed: the policy is paging now" in refused.content.decode()
    services.acknowledge(services.JOB, Escalation.objects.get().pk)
    assert (
        "Policy Parcels removed."
        in client.post(path, {"delete": "1"}, follow=True).content.decode()
    )
    desk = OnCallSchedule.objects.get()
    override = OnCallOverride.objects.create(
        schedule=desk,
        user=crew["bob"],
        starts_at=clock.now(),
        ends_at=clock.now() + timedelta(hours=2),
        created_by="test",
    )
    schedule_path = f"/incidents/oncall/schedules/{desk.pk}/"
    removed = client.post(
        schedule_path, {"action": "remove_override", "override_id": override.pk}, follow=True
    )
    assert "Override removed." in removed.content.decode()
    gone = client.post(schedule_path, {"action": "delete"}, follow=True)
    assert "Schedule Desk removed." in gone.content.decode()
    assert not OnCallSchedule.objects.exists()
