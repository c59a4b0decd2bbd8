"""Escalation and on-call in the browser (desktop and tablet): the on-call page with who is on
call and the week ahead, acknowledging a page from it, a manager adding a policy and an
override, and the one-click page a paged person opens from an email without signing in."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from mailwarden.core import clock
from mailwarden.core.roles import Role
from mailwarden.incidents.models import Escalation, EscalationPolicy, EscalationState
from mailwarden.incidents.services import escalation as services
from tests.e2e.conftest import DESKTOP, TABLET, shot, sign_in
from tests.incidents.escalation_helpers import open_incident, person, policy, target, weekly

pytestmark = pytest.mark.browser

VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])


@pytest.fixture
def paging(transactional_db):
    from tests.factories import make_site

    site = make_site()
    crew = {
        "ann": person("ann"),
        "bob": person("bob"),
        "mona": person("mona", Role.SECURITY_MANAGER),
    }
    desk = weekly("Front desk", [crew["ann"], crew["bob"]], clock.now() - timedelta(hours=2))
    policy(
        "Parcels",
        [([target("schedule", desk)], 10), ([target("user", crew["bob"])], 10)],
    )
    incident = open_incident(site)
    return {"crew": crew, "incident": incident, "site": site}


def _name(viewport) -> str:
    return "desktop" if viewport == DESKTOP else "tablet"


@VIEWPORTS
def test_an_operator_sees_who_is_on_call_and_acknowledges(open_page, paging, viewport):
    page = open_page(viewport)
    sign_in(page, "ann")
    page.goto("/")
    page.click("nav >> text=On call")
    page.wait_for_url("**/incidents/oncall/")
    row = page.locator("tr.esc-row", has_text=paging["incident"].reference)
    expect(row).to_contain_text("ann (on call: Front desk)")
    expect(row.locator(".esc-state")).to_have_text("Paging")
    card = page.locator(".oncall-card", has_text="Front desk")
    expect(card.locator("[data-oncall-now]")).to_have_text("ann")
    expect(card.locator("[data-oncall-next]")).to_have_text("bob")
    expect(card.locator("svg.oncall-picture rect")).not_to_have_count(0)
    shot(page, f"incidents-oncall-{_name(viewport)}")
    row.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".alert")).to_contain_text("Acknowledged: paging stopped")
    expect(row.locator(".esc-state")).to_have_text("Acknowledged")
    assert Escalation.objects.get().state == EscalationState.ACKNOWLEDGED


@VIEWPORTS
def test_a_manager_adds_a_policy_and_an_override(open_page, paging, viewport):
    page = open_page(viewport)
    sign_in(page, "mona")
    page.goto("/incidents/oncall/policies/")
    page.fill("#id_name", "Night parcels")
    page.fill("#id_level1_targets", "user:pilot")
    page.click("#policy-form button[type=submit]")
    expect(page.locator('[data-field-error="level1_targets"]')).to_contain_text("no user 'pilot'")
    page.fill("#id_level1_targets", "user:ann\nmqtt:mailwarden/pages/hq")
    page.fill("#id_level1_delay", "5")
    page.check("input[name=incident_types][value=bomb_threat]")
    page.click("#policy-form button[type=submit]")
    expect(page.locator(".alert")).to_have_text("Policy Night parcels added.")
    expect(page.locator("#policies tr", has_text="Night parcels")).to_contain_text(
        "mqtt:mailwarden/pages/hq"
    )
    shot(page, f"incidents-escalation-policies-{_name(viewport)}")
    assert EscalationPolicy.objects.filter(name="Night parcels").exists()
    page.goto("/incidents/oncall/schedules/")
    page.click("text=Front desk")
    page.fill("#id_username", "bob")
    page.fill("#id_starts_at", "2026-12-24T09:00")
    page.fill("#id_ends_at", "2026-12-27T09:00")
    page.fill("#id_note", "ann on leave")
    page.click("#override-form button[type=submit]")
    expect(page.locator(".alert")).to_have_text("Override added.")
    expect(page.locator("#overrides")).to_contain_text("ann on leave")


@VIEWPORTS
def test_the_one_click_link_without_signing_in(open_page, paging, viewport):
    escalation = Escalation.objects.get()
    token = services.ack_token(escalation.pk, paging["crew"]["ann"].pk)
    page = open_page(viewport)
    page.goto(f"/incidents/page/{token}/")
    expect(page.locator("h1")).to_have_text("Acknowledge this page?")
    expect(page.locator("main")).to_contain_text(paging["incident"].title)
    page.click("button[type=submit]")
    expect(page.locator("[data-ack-result]")).to_contain_text("Paging has stopped.")
    shot(page, f"incidents-page-acknowledged-{_name(viewport)}")
    assert Escalation.objects.get().ended_by == "user:ann"
