"""The alarm console in the browser (desktop and tablet): the live list, ticking alarms and
acknowledging them with one note, and the beep when a critical alarm arrives.

Django's test server is WSGI, so the console's stream sends the list once and the browser asks
again after its retry time (10 s): a new alarm shows up on the next reconnect.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.incidents.models import Alarm
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, shot, sign_in
from tests.factories import ADMIN
from tests.incidents.conftest import deliver, forced, threat

pytestmark = pytest.mark.browser


@pytest.fixture
def console(transactional_db) -> None:
    from tests.factories import make_site

    make_site()
    for role in (Role.SECURITY_OPERATOR, Role.AUDITOR):
        create_user(ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False)
    deliver(forced(1), forced(2), forced(3, door="DOCK"))


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_an_operator_acknowledges_alarms_in_bulk(open_page, console, viewport):
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_OPERATOR.value)
    page.goto("/incidents/alarms/")
    rows = page.locator("#alarm-list tbody tr")
    expect(rows).to_have_count(2)
    # The stream's first message has been read (under ASGI the badge then stays "Live").
    expect(page.locator("[data-alarm-stream]")).to_have_attribute("data-updated", re.compile(r"\d"))
    lobby = page.locator("tr", has_text="Door forced open: LOBBY")
    expect(lobby.locator("td.num")).to_have_text("2")
    expect(lobby.locator(".evidence a").first).to_have_attribute("href", "/access/?site=hq")
    name = "desktop" if viewport == DESKTOP else "tablet"
    shot(page, f"alarm-console-{name}")
    page.click("[data-select-all]")
    page.fill("#ack-note", "guard checked both doors")
    page.click("#ack-form button[type=submit]")
    expect(page.locator(".alert")).to_have_text("2 alarms acknowledged.")
    # The doors are still forced open: the alarms stay listed, acknowledged, as on the board.
    expect(rows.filter(has_text="Acknowledged by security_operator, still going on")).to_have_count(
        2
    )
    expect(page.locator("#alarm-list input[name=alarm_ids]")).to_have_count(0)
    assert set(Alarm.objects.values_list("note", flat=True)) == {"guard checked both doors"}


def test_a_new_critical_alarm_arrives_live_and_beeps(open_page, console):
    page = open_page(DESKTOP)
    sign_in(page, Role.AUDITOR.value)
    page.goto("/incidents/alarms/")
    expect(page.locator("#alarm-list tbody tr")).to_have_count(2)
    # An auditor reads: no boxes to tick, no acknowledge form.
    expect(page.locator("#ack-form")).to_have_count(0)
    page.click("[data-sound-toggle]")
    expect(page.locator("[data-sound-toggle]")).to_have_attribute("aria-pressed", "true")
    deliver(threat())
    new = page.locator("tr.is-new", has_text="Do not open: MW-ABCDEFGH")
    expect(new).to_be_visible(timeout=25_000)
    expect(page.locator("body")).to_have_attribute("data-last-beep", re.compile(r"\d"))
