"""Playbooks in the browser (desktop and tablet): an operator checks off an incident's steps,
sees the late ones in red and the lockdown step's result; a manager edits a playbook; a
manager arms an exercise and releases the mail hold."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.access.models import SiteRules
from mailwarden.core.roles import Role
from mailwarden.incidents.models import IncidentStep, Playbook
from mailwarden.incidents.services import playbooks
from tests.e2e.conftest import DESKTOP, TABLET, shot, sign_in
from tests.incidents.conftest import MANAGER
from tests.incidents.playbooks_helpers import add_doors, open_incident, staff

pytestmark = pytest.mark.browser

VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])


@pytest.fixture
def world(transactional_db, frozen_clock):
    from tests.factories import make_site

    # A live-server test empties the tables the migration filled: put the defaults back.
    playbooks.install_default_playbooks(MANAGER)
    site = make_site()
    add_doors(site, 3)
    for role in (Role.SECURITY_OPERATOR, Role.SECURITY_MANAGER, Role.CLERK):
        staff(role, role.value, f"{role.value}@example.org")
    return site


def _name(viewport: dict[str, int]) -> str:
    return "desktop" if viewport == DESKTOP else "tablet"


@VIEWPORTS
def test_an_operator_checks_off_steps_and_sees_late_ones(open_page, world, frozen_clock, viewport):
    incident = open_incident(world, "forced_entry", title="Dock door forced")
    frozen_clock.advance(minutes=3)
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_OPERATOR.value)
    page.goto(f"/incidents/{incident.pk}/steps/")
    expect(page.locator("[data-late-badge]")).to_have_text("3 late")
    expect(page.locator("tr.step-row.is-late")).to_have_count(3)
    # Late steps are drawn in red.
    colour = page.locator("tr.step-row.is-late td.step-due").first.evaluate(
        "el => getComputedStyle(el).color"
    )
    assert colour == "rgb(179, 38, 30)"
    shot(page, f"incident-steps-{_name(viewport)}")
    lock = IncidentStep.objects.get(incident=incident, action="lockdown_site").position
    row = page.locator(f"tr[data-step='{lock}']")
    row.locator("input[name=note]").fill("locked from the desk")
    row.locator("[data-check-off]").click()
    expect(page.locator(".alert")).to_contain_text("locked 3 doors at Site hq")
    row = page.locator(f"tr[data-step='{lock}']")
    expect(row.locator("[data-action-status]")).to_have_text("Done")
    expect(row.locator("[data-done-note]")).to_have_text("locked from the desk")
    expect(row).not_to_have_class("step-row is-late")
    expect(page.locator("[data-late-badge]")).to_have_text("2 late")
    assert SiteRules.objects.get(site=world).lockdown
    # Steps for other roles have no button for the operator.
    manager_step = IncidentStep.objects.filter(incident=incident, role="security_manager").first()
    assert manager_step is not None
    expect(page.locator(f"tr[data-step='{manager_step.position}'] [data-check-off]")).to_have_count(
        0
    )


@VIEWPORTS
def test_a_manager_edits_a_playbook(open_page, world, viewport):
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_MANAGER.value)
    page.goto("/incidents/playbooks/")
    card = page.locator("[data-playbook='unattended_item']")
    expect(card.locator("tbody tr")).to_have_count(7)
    shot(page, f"playbooks-{_name(viewport)}")
    card.locator("a", has_text="Edit").click()
    page.wait_for_url("**/edit/")
    # Move step 2 first, drop the last one, add one in the first empty row.
    page.fill("#id_steps-1-ORDER", "0")
    page.check("#id_steps-6-DELETE")
    page.fill("#id_steps-7-title", "Tell the building manager")
    page.select_option("#id_steps-7-role", "security_manager")
    page.fill("#id_steps-7-target_minutes", "45")
    page.fill("#id_steps-7-ORDER", "99")
    shot(page, f"playbook-edit-{_name(viewport)}")
    page.click("#playbook-form button[type=submit]")
    page.wait_for_url("**/incidents/playbooks/")
    expect(page.locator(".alert")).to_contain_text("saved")
    titles = list(
        Playbook.objects.get(incident_type="unattended_item")
        .steps.order_by("position")
        .values_list("title", flat=True)
    )
    assert titles[0] == "Ask whose it is" and titles[-1] == "Tell the building manager"
    assert len(titles) == 7
    # A refused edit shows the reason on the field.
    page.goto(page.url + f"{Playbook.objects.get(incident_type='unattended_item').pk}/edit/")
    page.fill("#id_steps-0-target_minutes", "5000")
    page.click("#playbook-form button[type=submit]")
    expect(page.locator("[data-step-row='0'] [data-field-error='target_minutes']")).to_be_visible()


@VIEWPORTS
def test_a_manager_arms_an_exercise_and_releases_the_hold(open_page, world, viewport):
    drill = open_incident(world, "suspicious_package", exercise=True, title="Powder drill")
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_MANAGER.value)
    page.goto(f"/incidents/{drill.pk}/steps/")
    expect(page.locator("[data-steps-banner]")).to_contain_text("only simulate")
    page.click("[data-arm]")
    expect(page.locator(".alert")).to_contain_text("is armed")
    hold = IncidentStep.objects.get(incident=drill, action="hold_site_mail").position
    page.locator(f"tr[data-step='{hold}'] [data-check-off]").click()
    expect(page.locator("[data-hold-banner]")).to_contain_text("Mail held at Site hq")
    shot(page, f"incident-steps-hold-{_name(viewport)}")
    page.fill("#release-reason", "police cleared the site")
    page.click("[data-release]")
    expect(page.locator(".alert")).to_contain_text("released")
    expect(page.locator("[data-hold-banner]")).to_have_count(0)
