"""The console: a site's page shows its retention rules and lets a security manager change
them; an incident's page places and releases its legal hold. Others are refused."""

from __future__ import annotations

from django.test import Client

from mailwarden.core import ledger
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.directory.retention import rules_for
from mailwarden.incidents.models import Incident
from tests.factories import ADMIN
from tests.retention.conftest import picked_up
from tests.retention.test_holds_and_export import open_incident_about


def signed_in(username: str, role: Role) -> Client:
    user = create_user(ADMIN, username, password="x", roles=[role.value], check_password=False)
    client = Client()
    client.force_login(user)
    return client


def test_a_manager_sets_a_sites_rules_on_its_page(site, defaults):
    defaults.media_days = 90
    manager = signed_in("mona", Role.SECURITY_MANAGER)
    page = manager.get("/sites/hq/").content.decode()
    assert "The default rules" in page and "90 days after the item's last step" in page
    assert "Save retention rules" in page

    bad = manager.post("/sites/hq/retention/", {"media_days": "0"})
    assert bad.status_code == 400 and "greater than or equal to 1" in bad.content.decode()
    assert not rules_for("hq").own

    done = manager.post("/sites/hq/retention/", {"media_days": "30", "access_event_months": "6"})
    assert done.status_code == 302
    rules = rules_for("hq")
    assert (rules.own, rules.media_days, rules.access_event_months) == (True, 30, 6)
    assert rules.departed_person_days is None
    assert ledger.entries_for("site", "hq")[-1].action == "directory.retention.changed"
    assert "This site's own rules" in manager.get("/sites/hq/").content.decode()


def test_others_see_the_rules_and_cannot_change_them(site):
    clerk = signed_in("cleo", Role.CLERK)
    page = clerk.get("/sites/hq/").content.decode()
    assert "kept forever" in page and "Save retention rules" not in page
    assert clerk.post("/sites/hq/retention/", {"media_days": "1"}).status_code == 403
    assert not rules_for("hq").own


def test_an_incidents_hold_is_placed_and_released_on_its_page(site, recipient):
    item = picked_up(site, recipient)
    incident_id = open_incident_about(item.uid)
    manager = signed_in("mona", Role.SECURITY_MANAGER)
    url = f"/incidents/{incident_id}/legal-hold/"
    manager.post(url, {"reason": "court order"})  # not confirmed: nothing changes
    assert Incident.objects.get(pk=incident_id).legal_hold_reason == ""
    assert manager.post(url, {"reason": "court order", "confirm": "on"}).status_code == 302
    assert Incident.objects.get(pk=incident_id).legal_hold_reason == "court order"
    page = manager.get(f"/incidents/{incident_id}/").content.decode()
    assert "court order" in page and "Release legal hold" in page

    operator = signed_in("otto", Role.SECURITY_OPERATOR)
    refused = operator.post(url, {"reason": "x", "confirm": "on", "release": "1"})
    assert refused.status_code == 403
    assert "Release legal hold" not in operator.get(f"/incidents/{incident_id}/").content.decode()

    manager.post(url, {"reason": "order lifted", "confirm": "on", "release": "1"})
    assert Incident.objects.get(pk=incident_id).legal_hold_reason == ""
