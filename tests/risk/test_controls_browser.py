"""The controls pages in the browser, on a desktop and a tablet: a manager records a control,
measures it, and sees it flagged when its evidence contradicts its claim; no script or CSP
error on the way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from mailwarden.access.models import AlarmKind
from mailwarden.core import clock
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, open_page, shot, sign_in  # noqa: F401
from tests.factories import ADMIN, make_site
from tests.risk import evidence_data as made

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_a_manager_records_measures_and_sees_the_flag(open_page, viewport) -> None:  # noqa: F811
    if not User.objects.filter(username="mona").exists():
        create_user(
            ADMIN,
            "mona",
            password=PASSWORD,
            roles=[Role.SECURITY_MANAGER.value],
            check_password=False,
        )
    hq = make_site("hq")
    cage = made.door(hq)
    made.alarm(hq, AlarmKind.FORCED_OPEN, clock.now() - timedelta(days=1), cage)
    page = open_page(viewport)
    sign_in(page, "mona")
    page.goto("/risk/controls/")
    page.select_option("#id_site", "hq")
    page.fill("#id_title", "Quarantine door stays shut")
    page.select_option("#id_link_kind", "access.door")
    page.fill("#id_link_ref", "quarantine-door")
    page.select_option("#id_measure", "door_alarms")
    page.fill("#id_expectation_max", "0")
    page.click("button:has-text('Record')")
    expect(page.locator("h1")).to_have_text("Quarantine door stays shut")
    expect(page.locator("[data-flag='unmeasured']")).to_be_visible()
    page.click("button:has-text('Measure')")
    expect(page.locator("[data-contradicted]")).to_contain_text("1 forced-open")
    name = "desktop" if viewport == DESKTOP else "tablet"
    shot(page, f"risk-control-{name}")
    page.click(".page-head a:has-text('Controls')")
    expect(page.locator("[data-flagged='1']")).to_be_visible()
    expect(page.locator("table[data-table='controls'] [data-flag='contradicted']")).to_be_visible()
    shot(page, f"risk-controls-{name}")
