"""The incidents pages through the Django test client: the list and its filters, the open
form (from scratch and from an alarm), the incident page with its state buttons and case file,
each change posted from it, and who may see and do what."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils.html import escape

from mailwarden.core.roles import Role
from mailwarden.incidents.models import Alarm, Escalation, Incident
from mailwarden.incidents.services import incidents as services
from tests.incidents import escalation_helpers, incidents_fixtures
from tests.incidents.conftest import deliver, forced
from tests.incidents.incidents_fixtures import open_one, staff

pytestmark = pytest.mark.django_db
world = incidents_fixtures.world


def signed_in(role: Role) -> Client:
    client = Client()
    client.force_login(staff(role))
    return client


def test_the_list_shows_badges_and_marks_exercises(world):
    real = open_one(severity=1, title="Forced door at the dock", type="forced_entry")
    open_one(exercise=True, exercise_type="drill", title="Spring drill")
    html = signed_in(Role.AUDITOR).get("/incidents/").content.decode()
    assert real.reference in html and f'href="/incidents/{real.pk}/"' in html
    assert 'class="inc-sev inc-sev-1"' in html and 'data-state="open"' in html
    assert "EXERCISE · Drill" in html
    assert "Open an incident" not in html  # auditors read only
    assert 'href="/incidents/"' in html and ">Incidents<" in html  # the menu entry


def test_the_list_filters(world):
    open_one(title="Real one")
    open_one(exercise=True, exercise_type="drill", title="Drill one")
    client = signed_in(Role.SECURITY_OPERATOR)
    html = client.get("/incidents/?exercise=yes").content.decode()
    assert "Drill one" in html and "Real one" not in html
    html = client.get("/incidents/?state=closed").content.decode()
    assert "No incidents match these filters." in html
    html = client.get("/incidents/?type=bomb_threat&site=hq").content.decode()
    assert "Real one" not in html
    assert "Open an incident" in client.get("/incidents/").content.decode()


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_other_people_are_refused(world, role):
    incident = open_one()
    client = signed_in(role)
    for path in ("/incidents/", f"/incidents/{incident.pk}/", "/incidents/new/"):
        assert client.get(path).status_code == 403


def test_auditors_read_an_incident_without_its_buttons(world):
    incident = open_one()
    client = signed_in(Role.AUDITOR)
    html = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert "Leaking parcel at the dock" in html and "data-move=" not in html
    assert "Add note" not in html and "Add evidence" not in html
    assert client.get("/incidents/new/").status_code == 403
    response = client.post(f"/incidents/{incident.pk}/note/", {"text": "x"})
    assert response.status_code == 403


def test_opening_from_the_form(world):
    client = signed_in(Role.SECURITY_OPERATOR)
    form = client.get("/incidents/new/").content.decode()
    assert 'name="type"' in form and 'value="hq"' in form
    response = client.post(
        "/incidents/new/",
        {"type": "unattended_item", "severity": "3", "site": "hq", "title": "Bag by the lift"},
        follow=True,
    )
    incident = Incident.objects.get()
    assert response.redirect_chain[-1][0] == f"/incidents/{incident.pk}/"
    html = response.content.decode()
    assert f"{incident.reference} opened." in html and "Bag by the lift" in html


def test_a_refused_opening_shows_the_reason_by_the_field(world):
    client = signed_in(Role.SECURITY_OPERATOR)
    response = client.post(
        "/incidents/new/", {"type": "unattended_item", "severity": "3", "site": "hq", "title": ""}
    )
    assert response.status_code == 400
    assert 'data-field-error="title"' in response.content.decode()
    response = client.post(
        "/incidents/new/",
        {
            "type": "unattended_item",
            "severity": "3",
            "site": "hq",
            "title": "x",
            "alarm_ids": "999999",
        },
    )
    assert response.status_code == 400 and "no alarm 999999" in response.content.decode()
    assert not Incident.objects.exists()


def test_open_an_incident_from_an_alarm(world):
    deliver(forced(1))
    alarm = Alarm.objects.get()
    client = signed_in(Role.SECURITY_OPERATOR)
    console = client.get("/incidents/alarms/").content.decode()
    assert f'href="/incidents/new/?alarm={alarm.pk}"' in console
    form = client.get(f"/incidents/new/?alarm={alarm.pk}").content.decode()
    assert '<option value="forced_entry" selected>' in form
    assert '<option value="1" selected>' in form  # critical alarm: SEV-1
    assert f'value="{alarm.pk}"' in form and "Door forced open: LOBBY" in form
    client.post(
        "/incidents/new/",
        {
            "type": "forced_entry",
            "severity": "1",
            "site": "hq",
            "title": "Door forced open: LOBBY",
            "alarm_ids": str(alarm.pk),
        },
    )
    incident = Incident.objects.get()
    assert incident.links.get().target == str(alarm.pk)
    # The console now points at the incident instead of offering another.
    console = client.get("/incidents/alarms/").content.decode()
    assert (
        f'href="/incidents/{incident.pk}/"' in console and f"{incident.reference} (open)" in console
    )
    assert f"/incidents/new/?alarm={alarm.pk}" not in console
    audited = signed_in(Role.AUDITOR).get("/incidents/alarms/").content.decode()
    assert "/incidents/new/?alarm=" not in audited


def test_the_page_offers_only_the_allowed_moves(world):
    incident = open_one()
    client = signed_in(Role.SECURITY_OPERATOR)
    html = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert 'data-move="contained"' in html and 'data-move="resolved"' in html
    assert 'data-move="closed"' not in html and 'data-move="open"' not in html
    response = client.post(
        f"/incidents/{incident.pk}/move/", {"state": "closed", "note": ""}, follow=True
    )
    assert "it can move to contained or resolved, not closed" in response.content.decode()
    response = client.post(
        f"/incidents/{incident.pk}/move/", {"state": "resolved", "note": "all clear"}, follow=True
    )
    html = response.content.decode()
    assert f"{incident.reference} is now resolved." in html
    assert 'data-move="closed"' in html and 'data-move="open"' in html
    assert "Open → Resolved: all clear" in html


def test_every_change_from_the_page(world, settings, tmp_path: Path):
    incident = open_one()
    client = signed_in(Role.SECURITY_OPERATOR)
    base = f"/incidents/{incident.pk}"
    client.post(f"{base}/note/", {"text": "Fire service called"})
    client.post(f"{base}/assign/", {"username": "security_manager"})
    client.post(f"{base}/link/", {"kind": "item", "target": world.item.uid})
    client.post(f"{base}/link/", {"kind": "door", "target": "lobby"})
    data = b"\x89PNG not really"
    client.post(
        f"{base}/evidence/",
        {"file": SimpleUploadedFile("dock.png", data, "image/png"), "description": "as found"},
    )
    client.post(
        f"{base}/task/",
        {
            "title": "Photograph the parcel",
            "assignee": "security_operator",
            "due_at": "2026-03-02T09:30",
        },
    )
    task = incident.tasks.get()
    # Typed in the site's time (Europe/London, GMT in March): 09:30 there is 09:30 UTC.
    assert task.due_at.isoformat() == "2026-03-02T09:30:00+00:00"
    client.post(f"{base}/task/{task.pk}/done/")
    html = client.get(f"{base}/").content.decode()
    digest = hashlib.sha256(data).hexdigest()
    assert f"SHA-256 {digest}" in html
    assert "Fire service called" in html and 'data-assignee="security_manager"' in html
    assert f'href="/items/{world.item.uid}/"' in html and 'data-link="door:lobby"' in html
    assert 'class="is-done"' in html and "by user:security_operator" in html
    door = incident.links.get(kind="door")
    client.post(f"{base}/link/{door.pk}/remove/")
    assert not incident.links.filter(kind="door").exists()
    evidence = incident.evidence.get()
    download = client.get(f"{base}/evidence/{evidence.pk}/")
    assert download.status_code == 200 and b"".join(download) == data
    assert download["Content-Disposition"].startswith("attachment")


def test_refused_changes_say_why(world, monkeypatch):
    incident = open_one()
    client = signed_in(Role.SECURITY_OPERATOR)
    base = f"/incidents/{incident.pk}"
    response = client.post(f"{base}/link/", {"kind": "door", "target": "back-door"}, follow=True)
    assert (
        "Nothing was changed: target: no door &#x27;back-door&#x27; at hq"
        in response.content.decode()
    )
    monkeypatch.setattr(services, "EVIDENCE_MAX_BYTES", 10)
    response = client.post(
        f"{base}/evidence/", {"file": SimpleUploadedFile("big.bin", b"x" * 20)}, follow=True
    )
    assert "the limit is 10" in response.content.decode()
    response = client.post(f"{base}/note/", {"text": ""}, follow=True)
    assert "Nothing was changed: text:" in response.content.decode()
    assert client.get("/incidents/999999/").status_code == 404


def test_the_incident_page_shows_its_playbook_steps(world):
    incident = open_one()
    page = signed_in(Role.AUDITOR).get(f"/incidents/{incident.pk}/").content.decode()
    titles = list(incident.steps.order_by("position").values_list("title", flat=True))
    assert titles and all(escape(t) in page for t in titles)


# ----------------------------------------------------------------------------- joins


def test_the_incident_says_the_site_is_still_locked_down(world):
    from mailwarden.access import services as access
    from tests.factories import MANAGER

    incident = open_one()
    page = signed_in(Role.AUDITOR).get(f"/incidents/{incident.pk}/").content.decode()
    assert "data-lockdown" not in page
    access.lockdown.lockdown_site(MANAGER, "hq", True, reason="parcel with wires")
    services.move(incidents_fixtures.OPERATOR, incident.pk, "resolved")
    page = signed_in(Role.AUDITOR).get(f"/incidents/{incident.pk}/").content.decode()
    notice = re.search(r"<p [^>]*data-lockdown>(.*?)</p>", page, re.S)
    assert notice and "is locked down" in notice.group(1)
    assert "the lockdown stays until someone lifts it" in notice.group(1)
    assert 'href="/access/?site=hq"' in notice.group(1)


def test_the_incident_links_to_its_report(world):
    incident = open_one()
    html = signed_in(Role.AUDITOR).get(f"/incidents/{incident.pk}/").content.decode()
    assert f'href="/incidents/{incident.pk}/report/"' in html
    assert signed_in(Role.AUDITOR).get(f"/incidents/{incident.pk}/report/").status_code == 200


def test_the_incident_offers_a_site_message_prefilled(world):
    incident = open_one()
    html = signed_in(Role.SECURITY_OPERATOR).get(f"/incidents/{incident.pk}/").content.decode()
    url = f"/incidents/broadcasts/new/?site=hq&amp;incident={incident.pk}"
    assert f'href="{url}"' in html
    form = signed_in(Role.SECURITY_OPERATOR).get(url.replace("&amp;", "&")).content.decode()
    assert re.search(r'<option value="hq"[^>]*selected', form)
    assert re.search(rf'name="incident" value="{incident.pk}"', form)
    # Auditors read site messages but do not send them.
    auditor = signed_in(Role.AUDITOR).get(f"/incidents/{incident.pk}/").content.decode()
    assert "Send a site message" not in auditor


def test_the_incident_shows_its_escalation(world):
    quiet = open_one(title="Before any policy")
    html = signed_in(Role.AUDITOR).get(f"/incidents/{quiet.pk}/").content.decode()
    assert "Escalation: nobody paged" in html and 'href="/incidents/oncall/"' in html
    lead = escalation_helpers.person("lead")
    escalation_helpers.policy("Everyone", [([escalation_helpers.target("user", lead)], 5)])
    incident = open_one()
    deliver()
    escalation = Escalation.objects.get(ref=f"incident:{incident.pk}")
    html = signed_in(Role.AUDITOR).get(f"/incidents/{incident.pk}/").content.decode()
    assert f'href="/incidents/oncall/#escalation-{escalation.pk}"' in html
    assert "Escalation: Paging, level 1" in html
    oncall = signed_in(Role.AUDITOR).get("/incidents/oncall/").content.decode()
    assert f'id="escalation-{escalation.pk}"' in oncall
