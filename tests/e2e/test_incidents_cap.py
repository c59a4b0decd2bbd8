"""Received CAP alerts in the browser (desktop and tablet): from the alarm console's CAP alarm to
the alert, its outcome and its XML shown as text."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.incidents import cap
from mailwarden.incidents.services import cap as inbox
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, shot, sign_in
from tests.factories import ADMIN

pytestmark = pytest.mark.browser

FEED = Actor("device", "cap-feed", frozenset({Role.SECURITY_OPERATOR}))
EXAMPLE = Path(__file__).parents[1] / "incidents" / "data" / "cap" / "43b080713727.cap"


@pytest.fixture
def received(transactional_db) -> None:
    from tests.factories import make_site

    make_site()
    for role in (Role.SECURITY_OPERATOR, Role.CLERK):
        create_user(ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False)
    ours = cap.cap_for_site_message(
        "Site hq",
        "shelter",
        "Shelter <now> & wait",
        "Stay inside.",
        "met-1",
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        False,
        site_code="hq",
    )
    inbox.receive_alert(FEED, ours)
    inbox.receive_alert(FEED, EXAMPLE.read_bytes())


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_an_operator_follows_a_cap_alarm_to_its_alert(open_page, received, viewport):
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_OPERATOR.value)
    page.goto("/incidents/alarms/")
    row = page.locator("#alarm-list tr", has_text="CAP: Shelter <now> & wait")
    expect(row).to_have_count(1)
    # The console swaps its list on every stream update, which can swallow a click under load:
    # follow the link's address instead.
    link = row.locator(".evidence a")
    expect(link).to_have_attribute("href", re.compile(r"^/incidents/cap/\d+/$"))
    page.goto(link.get_attribute("href") or "")
    expect(page.locator("h1")).to_have_text("Shelter <now> & wait")
    expect(page.locator("#cap-facts")).to_contain_text("Alarm raised")
    expect(page.locator(".cap-xml")).to_contain_text("<headline>Shelter &lt;now&gt; &amp; wait")
    shot(page, f"incidents-cap-alert-{'desktop' if viewport == DESKTOP else 'tablet'}")
    page.click("text=CAP alerts received")
    expect(page.locator("#cap-list tbody tr")).to_have_count(2)
    page.select_option("#id_outcome", "no_site")
    page.click("button:has-text('Filter')")
    expect(page.locator("#cap-list tbody tr")).to_have_count(1)
    expect(page.locator("#cap-list")).to_contain_text("Homeland Security Sets Code ORANGE")
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1


def test_a_clerk_may_not_see_received_alerts(open_page, received):
    page = open_page(DESKTOP)
    sign_in(page, Role.CLERK.value)
    response = page.goto("/incidents/cap/")
    assert response is not None and response.status == 403
