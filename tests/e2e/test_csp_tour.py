"""Every console page an administrator can reach from the menu, checked for CSP errors.

The ``open_page`` fixture fails the test on any error the browser logs, and Chromium logs each
inline style or script the Content-Security-Policy refuses as one; htmx's swaps are exercised too.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from mailwarden.core.demo import demo_logins, seed
from mailwarden.directory.models import Recipient
from tests.e2e.conftest import DESKTOP, restore_indicator_catalogue
from tests.factories import VALID_UPS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Links that start a download or change state are not pages to look at.
NOT_PAGES = (".pdf", ".csv", ".json", ".xlsx", ".zip", "/export", "/download", "/logout")


@pytest.fixture
def demo(transactional_db) -> str:
    # The screening seed simulates X-ray scans for minutes; its pages render empty queues here.
    # Its indicator checklist, though, is data the training demo needs, and a transactional test
    # that ran before this one in the process has flushed it away.
    restore_indicator_catalogue()
    seed(items=30, recipients=12, skip={"screening"})
    return demo_logins().password


def _is_page(href: str | None) -> bool:
    if not href or href.startswith(("#", "mailto:", "tel:", "javascript:")):
        return False
    parts = urlsplit(href)
    return not parts.netloc and not any(word in parts.path for word in NOT_PAGES)


def _visit(page, path: str) -> None:
    response = page.goto(path)
    assert response is not None and response.status < 400, f"{path}: {response and response.status}"
    page.wait_for_load_state("networkidle")


def _sign_in(page, username: str, password: str) -> list[str]:
    """Signs in and returns the menu's links."""
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
    return page.locator("nav.nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")


def test_every_menu_page_is_clean_under_the_csp(open_page, demo):
    page = open_page(DESKTOP)
    menu = _sign_in(page, "admin", demo)
    assert len(menu) > 3
    seen: set[str] = set()
    for entry in menu:
        _visit(page, entry)
        seen.add(entry)
        # One record each menu page lists, so detail pages are walked too.
        links = page.locator("main table a, main .list a, main .card a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        detail = next((h for h in links if _is_page(h) and h not in seen), None)
        if detail is not None:
            _visit(page, detail)
            seen.add(detail)

    # htmx swaps content in without a page load: the items filter.
    _visit(page, "/items/")
    page.select_option("#id_state", "quarantined")
    expect(page.locator("#results")).to_be_visible()
    page.wait_for_load_state("networkidle")

    # Pages no menu entry links to: a person's page and its forms, the search results, the
    # filtered items list and a bulk action's confirmation.
    person = Recipient.objects.filter(active=True).order_by("last_name").first()
    assert person is not None
    for path in (
        f"/recipients/{person.pk}/",
        "/recipients/add/",
        f"/recipients/{person.pk}/edit/",
        f"/recipients/{person.pk}/deactivate/",
        "/recipients/?inactive=1",
        f"/search/?q={person.last_name}",
        "/items/?state=ready_for_pickup&kind=parcel",
    ):
        _visit(page, path)
    _visit(page, "/items/?state=ready_for_pickup")
    page.locator("[data-select-item]").first.check()
    page.select_option("#bulk-form select[name=action]", "remind")
    page.click("[data-bulk-submit]")
    expect(page.locator("[data-bulk-confirm]")).to_be_visible()
    page.wait_for_load_state("networkidle")

    # A manager's menu is drawn for their roles; its pages are seen as they see them.
    manager = open_page(DESKTOP)
    for entry in _sign_in(manager, "manager", demo):
        _visit(manager, entry)

    # Intake's submit swaps in the result and a fresh form: each swap is checked as well.
    clerk = open_page(DESKTOP)
    _sign_in(clerk, "clerk", demo)
    _visit(clerk, "/intake/")
    person = Recipient.objects.filter(active=True).order_by("last_name").first()
    assert person is not None
    clerk.locator("#id_tracking_number").fill(VALID_UPS)
    clerk.locator("#id_recipient_query").fill(f"{person.first_name} {person.last_name}")
    clerk.locator("#recipient-suggestions .suggestion").first.click()
    clerk.click("label[for=id_kind_2]")  # parcel
    clerk.click("#intake-form button[type=submit]")
    expect(clerk.locator("[data-created], .duplicate").first).to_be_visible()
    clerk.wait_for_load_state("networkidle")
