"""The People page in a real browser: an admin adds a person, changes their roles and
deactivates them after the confirmation page; every step lands on the ledger."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user, held_roles
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, follow, shot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def admin(transactional_db) -> None:
    from tests.factories import ADMIN

    create_user(ADMIN, "admin", password=PASSWORD, roles=["admin"], check_password=False)


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_an_admin_adds_a_person_changes_roles_and_deactivates(open_page, admin, viewport):
    size = "desktop" if viewport == DESKTOP else "tablet"
    page = open_page(viewport)
    sign_in(page, "admin")
    follow(page, "nav >> text=People")
    expect(page.locator("h1")).to_have_text("People")
    expect(page.locator("[data-person=admin]")).to_contain_text("Administrator")

    # A refused form keeps its errors next to the fields.
    page.click("text=Add person")
    expect(page.locator("[data-field-error=username]")).to_be_visible()

    page.fill("#id_username", "cleo")
    page.fill("#id_first_name", "Cleo")
    page.fill("#id_password", PASSWORD)
    page.check("label:has-text('Mailroom clerk') input")
    page.click("text=Add person")
    page.wait_for_url("**/people/cleo/")
    expect(page.locator("h1")).to_contain_text("Cleo")
    shot(page, f"50-{size}-person")

    page.check("label:has-text('Screener') input")
    page.click("button[name=roles_submit]")
    page.wait_for_url("**/people/cleo/")
    expect(page.locator(".flash")).to_contain_text("roles are saved")
    assert held_roles(User.objects.get(username="cleo")) == {Role.CLERK, Role.SCREENER}

    follow(page, "text=Deactivate…")
    expect(page.locator("[data-confirm]")).to_contain_text("every API token")
    page.fill("#id_reason", "moved to another site")
    page.click("[data-confirm] button[type=submit]")
    page.wait_for_url("**/people/cleo/")
    expect(page.locator("[data-status]")).to_contain_text("Deactivated")
    assert not User.objects.get(username="cleo").is_active
    actions = list(
        LedgerEntry.objects.filter(subject_type="user", subject_id="cleo").values_list(
            "action", flat=True
        )
    )
    assert actions == ["core.user.created", "core.user.roles_changed", "core.user.deactivated"]
    follow(page, "nav >> text=People")
    expect(page.locator("[data-person=cleo]")).to_contain_text("Deactivated")
    shot(page, f"51-{size}-people")
