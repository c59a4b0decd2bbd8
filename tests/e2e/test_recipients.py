"""People in a real browser: a manager adds and edits a recipient, opens their page with its
items and history, and the header's search box finds them and their parcel from another page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.directory.models import Recipient, Site
from tests.e2e.conftest import PASSWORD, follow, shot, sign_in
from tests.factories import ADMIN, VALID_UPS, intake, make_recipient, make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(transactional_db) -> None:
    make_site()
    for role in (Role.SECURITY_MANAGER, Role.CLERK):
        create_user(ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False)


def test_a_manager_adds_edits_and_opens_a_recipient(open_page, people):
    page = open_page()
    sign_in(page, Role.SECURITY_MANAGER.value)
    follow(page, "nav >> text=Recipients")
    follow(page, "text=Add a recipient")
    page.fill("#id_employee_id", "E1906")
    page.fill("#id_first_name", "Grace")
    page.fill("#id_last_name", "Hopper")
    page.fill("#id_email", "not an address")
    page.click("button:has-text('Add recipient')")
    expect(page.locator("[data-field-error=email]")).to_be_visible()
    assert not Recipient.objects.filter(employee_id="E1906").exists()

    page.fill("#id_email", "grace@example.org")
    page.fill("#id_department", "Computing")
    page.select_option("#id_site", "hq")
    page.click("button:has-text('Add recipient')")
    page.wait_for_url("**/recipients/*/")
    expect(page.locator("h1")).to_contain_text("Grace Hopper")
    expect(page.locator("[data-details]")).to_contain_text("Computing")

    follow(page, "text=Edit")
    page.fill("#id_preferred_name", "Amazing Grace")
    page.click("button:has-text('Save')")
    page.wait_for_url("**/recipients/*/")
    expect(page.locator("h1")).to_contain_text("Amazing Grace Hopper")
    expect(page.locator("[data-history]")).to_contain_text("Details changed: preferred name")
    expect(page.locator("[data-history]")).to_contain_text("Added to the directory")

    follow(page, "text=Deactivate…")
    page.fill("#id_reason", "Retired")
    page.click("button:has-text('Deactivate')")
    page.wait_for_url("**/recipients/*/")
    expect(page.locator("[data-inactive]")).to_be_visible()
    shot(page, "50-recipient-page")


def test_the_search_box_finds_a_parcel_and_its_recipient_from_any_page(open_page, people):
    person = make_recipient(first_name="Katherine", last_name="Johnson")
    item = intake(Site.objects.get(code="hq"), person, tracking_number=VALID_UPS)
    page = open_page()
    sign_in(page, Role.CLERK.value)
    follow(page, "nav >> text=Sites")
    page.fill("#global-search", VALID_UPS)
    page.press("#global-search", "Enter")
    page.wait_for_url("**/search/?q=*")
    group = page.locator("[data-search-group=items-and-tracking-numbers]")
    expect(group).to_contain_text(item.uid)
    follow(page, f"a[href='/items/{item.uid}/']")

    page.fill("#global-search", "katherine johnson")
    page.press("#global-search", "Enter")
    page.wait_for_url("**/search/?q=*")
    follow(page, f"a[href='/recipients/{person.pk}/']")
    expect(page.locator("h1")).to_contain_text("Katherine Johnson")
    expect(page.locator("[data-section=items]")).to_contain_text(item.uid)
