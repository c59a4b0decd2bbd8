"""The sites pages in a real browser: a manager adds a site and its dock, a clerk only reads."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.directory.models import Location
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, follow, shot, sign_in, sign_out
from tests.factories import ADMIN, make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(transactional_db) -> None:
    make_site()
    for role in (Role.SECURITY_MANAGER, Role.CLERK):
        create_user(ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False)


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_a_manager_adds_a_site_and_its_dock(open_page, people, viewport):
    size = "desktop" if viewport == DESKTOP else "tablet"
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_MANAGER.value)
    follow(page, "nav >> text=Sites")
    expect(page.locator("h1")).to_have_text("Sites")
    expect(page.locator("table")).to_contain_text("Site hq")

    page.fill("#id_code", "north")
    page.fill("#id_name", "North mailroom")
    page.select_option("#id_timezone", "Europe/Oslo")
    page.click("text=Add site")
    page.wait_for_url("**/sites/north/")
    expect(page.locator("h1")).to_contain_text("North mailroom")
    expect(page.locator("table")).to_contain_text("No locations yet")

    # A location code that is not a slug is refused next to its field, and nothing is added.
    page.fill("#location_code", "main dock")
    page.fill("#location_name", "Main dock")
    page.select_option("#location_kind", "dock")
    page.click("text=Add location")
    expect(page.locator("[data-field-error=code]").first).to_be_visible()
    assert not Location.objects.filter(site__code="north").exists()

    page.fill("#location_code", "dock")
    page.click("text=Add location")
    page.wait_for_url("**/sites/north/")
    expect(page.locator("table")).to_contain_text("Main dock")
    shot(page, f"40-{size}-site-with-dock")


def test_a_clerk_reads_sites_without_the_forms(open_page, people):
    page = open_page()
    sign_in(page, Role.CLERK.value)
    follow(page, "nav >> text=Sites")
    expect(page.locator("table")).to_contain_text("Site hq")
    expect(page.locator("text=Add a site")).to_have_count(0)
    follow(page, "a[href='/sites/hq/']")
    expect(page.locator("table")).to_contain_text("Quarantine room")
    expect(page.locator("text=Add a location")).to_have_count(0)
    sign_out(page)
