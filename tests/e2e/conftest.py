"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from importlib import import_module
from pathlib import Path
from urllib.parse import urljoin

import pytest
from django.apps import apps as django_apps

# Playwright's sync API keeps an asyncio loop running in this thread; the ORM calls the tests make
# between browser steps are ordinary synchronous calls, so Django's guard must stand aside.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
TABLET = {"width": 820, "height": 1180}
PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def open_page(browser, live_server) -> Iterator[Callable]:
    """Opens a fresh browser context (its own cookies) at a viewport; all close afterwards.

    Every page records console errors, so a CSP violation or a script error fails the test.
    """
    contexts = []
    errors: list[str] = []

    def open_(viewport: dict[str, int] = DESKTOP):
        context = browser.new_context(viewport=viewport, base_url=live_server.url)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda msg: _record(errors, msg))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def _record(errors: list[str], msg) -> None:
    # A form refused with 400 or a 404 page is an answer the test expects, not a browser fault.
    if msg.type == "error" and "the server responded with a status of 4" not in msg.text:
        errors.append(msg.text)


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    # From the top, so the sticky navigation is drawn where a person first sees it.
    page.evaluate("window.scrollTo(0, 0)")
    # caret="initial": hiding the caret makes Playwright inject a <style>, which the CSP refuses.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


def sign_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def follow(page, selector: str) -> None:
    """Follows a link and waits for the new page's load event.

    htmx binds its triggers only once its deferred script has run; a file chosen or a key typed
    before then is lost, so a test must not act on a page that is still loading.
    """
    link = page.locator(selector)
    href = link.evaluate("el => el.closest('a').getAttribute('href')")
    target = urljoin(page.url, href)
    link.click()
    page.wait_for_url(target)


def sign_out(page) -> None:
    page.click("form[action='/logout/'] button")
    page.wait_for_url("**/login/")


def restore_indicator_catalogue() -> None:
    """The checklist is written by a data migration, and a transactional test that ran before
    this one has flushed it away with everything else."""
    catalogue = import_module("mailwarden.screening.migrations.0002_indicator_catalogue")
    catalogue.seed(django_apps, None)
