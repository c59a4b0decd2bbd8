"""A site message in the browser (desktop and tablet): a security manager writes it, confirms
it, and lands on the accountability board; a person answers "need help" with one click from
their message (no sign-in) and adds a note; the board shows them first, live.

Django's test server is WSGI, so the board's stream sends the board once and the browser asks
again after its retry time (10 s): the answer shows up on the next reconnect.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.incidents.models import Broadcast, RollCallAnswer
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, shot, sign_in
from tests.factories import ADMIN
from tests.incidents.broadcast_helpers import Town, link, make_town

pytestmark = pytest.mark.browser


def path(url: str) -> str:
    return urlsplit(url).path


@pytest.fixture
def town(transactional_db) -> Town:
    create_user(
        ADMIN,
        Role.SECURITY_MANAGER.value,
        password=PASSWORD,
        roles=[Role.SECURITY_MANAGER.value],
        check_password=False,
    )
    return make_town()


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_send_answer_and_watch_the_board(open_page, town, viewport):
    name = "desktop" if viewport == DESKTOP else "tablet"
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_MANAGER.value)
    page.goto("/incidents/broadcasts/")
    expect(page.locator("nav a[href='/incidents/broadcasts/']")).to_have_count(1)
    page.click("text=New site message")
    page.wait_for_url("**/incidents/broadcasts/new/")
    page.select_option("#id_site", "hq")
    page.select_option("#id_kind", "evacuate")
    page.fill("#id_headline", "Leave the building now")
    # Bad input first: the form names the field and keeps the rest.
    page.click("#broadcast-form button[type=submit]")
    expect(page.locator("[data-field-error=text]")).to_be_visible()
    page.fill("#id_text", "Use the nearest exit and go to assembly point B.")
    page.click("#broadcast-form button[type=submit]")
    confirm = page.locator("[data-confirm]")
    expect(confirm).to_contain_text("4 people")
    shot(page, f"broadcast-confirm-{name}")
    assert not Broadcast.objects.exists()
    page.click("#confirm-form button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/broadcasts/\d+/$"))
    expect(page.locator(".alert")).to_have_text("Sent to 4 people (8 messages).")
    board = page.locator("[data-board-stream]")
    expect(board).to_have_attribute("data-updated", re.compile(r"\d"))
    expect(page.locator("[data-count=no_answer]")).to_have_text("4")

    b = Broadcast.objects.get()
    person = open_page(viewport)  # a browser of their own, not signed in
    # The links name the configured base URL; the test server listens elsewhere.
    person.goto(path(link(b, town.alice, "help", channel="sms")))
    expect(person.locator("h1")).to_have_text("Your call for help is recorded")
    expect(person.locator("nav")).to_have_count(0)
    person.fill("#id_note", "twisted ankle")
    person.fill("#id_location", "stairwell 3, second floor")
    person.click("#answer-form button[type=submit]")
    expect(person.locator("#id_note")).to_have_value("twisted ankle")
    shot(person, f"broadcast-answer-{name}")
    person.goto(path(link(b, town.bob)))
    expect(person.locator("h1")).to_have_text("Thank you, you are marked safe")
    person.goto(path(link(b, town.dan)).replace("/safe/", "/nonsense/"))
    expect(person.locator("h1")).to_have_text("This link is not valid")

    # The board picks the answers up from its stream, the person needing help first.
    expect(page.locator("[data-count=need_help]")).to_have_text("1", timeout=25_000)
    expect(page.locator("[data-count=safe]")).to_have_text("1")
    expect(page.locator("[data-count=no_answer]")).to_have_text("2")
    help_row = page.locator("#need-help tbody tr").first
    expect(help_row).to_contain_text(town.alice.display_name)
    expect(help_row).to_contain_text("twisted ankle")
    expect(help_row).to_contain_text("Finance")
    expect(page.locator("#departments tr[data-department=Finance] svg.bar")).to_be_visible()
    shot(page, f"broadcast-board-{name}")

    page.click("#resend-form button[type=submit]")
    expect(page.locator(".alert")).to_have_text(
        "Re-sent (round 2) to everyone who has not answered."
    )
    assert RollCallAnswer.objects.filter(broadcast=b, answer="").count() == 2
