"""Intake never blocks the dock: a number that fails its carrier's rule is logged with a reason."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import MailItem
from tests.e2e.conftest import PASSWORD, follow, shot, sign_in
from tests.factories import ADMIN, VALID_UPS, make_recipient, make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BAD_CHECK_DIGIT = VALID_UPS[:-1] + str((int(VALID_UPS[-1]) + 1) % 10)


@pytest.fixture
def mailroom(transactional_db):
    make_site()
    margaret = make_recipient(first_name="Margaret", last_name="Hamilton", mail_stop="C2-104")
    create_user(ADMIN, "clerk", password=PASSWORD, roles=[Role.CLERK.value], check_password=False)
    return margaret


def test_a_bad_check_digit_is_logged_with_a_reason_and_flagged(open_page, mailroom):
    page = open_page()
    sign_in(page, "clerk")
    follow(page, "nav >> text=Intake")

    expect(page.locator("#id_tracking_number")).to_be_focused()
    page.keyboard.type(BAD_CHECK_DIGIT)
    bad = page.locator("#carrier-result .carrier-bad")
    expect(bad).to_contain_text("UPS numbers have 18 characters and start with 1Z")
    page.click("#id_recipient_query")
    page.keyboard.type("Margaret Hamilton")
    page.locator("#recipient-suggestions .suggestion").first.click()
    expect(page.locator("#recipient-chosen")).to_contain_text("Margaret Hamilton")
    page.click("button:has-text('Log item')")

    ask = page.locator("[data-unverified]")
    expect(ask).to_be_visible()
    expect(page.locator('[data-field-error="tracking_number"]')).to_contain_text(
        "No carrier's rule accepts this number"
    )
    expect(bad).to_contain_text("UPS numbers have 18 characters and start with 1Z")
    expect(page.locator("#intake-panel")).not_to_contain_text("tracking_number")
    expect(page.locator("#id_unverified_reason")).to_be_focused()
    assert not MailItem.objects.exists()
    shot(page, "intake-unverified-asks-why")

    page.keyboard.type("Label torn, last digit smudged")
    page.keyboard.press("Enter")
    created = page.locator("[data-created]")
    expect(created).to_be_visible()
    expect(page.locator("[data-review-flag]")).to_contain_text("Flagged for review")
    uid = created.get_attribute("data-created")
    item = MailItem.objects.get(uid=uid)
    assert (item.tracking_number, item.carrier) == (BAD_CHECK_DIGIT, "")
    assert "Label torn, last digit smudged" in item.review_reason

    follow(page, "[data-created] a.uid-big")
    expect(page.locator("[data-review-flag]")).to_contain_text("Label torn, last digit smudged")
    shot(page, "intake-unverified-item-page")
