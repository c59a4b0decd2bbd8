"""In the browser: a clerk imports a manifest, sees its refused row, and a scan at intake
fills in the expected recipient, after which the parcel leaves the not-arrived list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import ExpectedParcel, MailItem
from tests.custody_batch.conftest import numbers
from tests.e2e.conftest import PASSWORD, follow, shot, sign_in
from tests.factories import ADMIN, make_recipient, make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mailroom(transactional_db):
    make_site()
    margaret = make_recipient(first_name="Margaret", last_name="Hamilton", mail_stop="C2-104")
    create_user(ADMIN, "clerk", password=PASSWORD, roles=[Role.CLERK.value], check_password=False)
    return margaret


def test_a_manifest_is_imported_and_its_parcel_matched_at_intake(open_page, mailroom):
    number = numbers(1)[0]
    page = open_page()
    sign_in(page, "clerk")
    follow(page, "nav >> text=Expected")
    csv = (
        "tracking_number,carrier,recipient,expected_date\n"
        f"{number},ups,{mailroom.email},2026-12-08\n"
        "1Z1,ups,nobody@example.org,2026-12-08\n"
    )
    page.set_input_files(
        "#id_file", files=[{"name": "ups.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.click("button:has-text('Import')")
    expect(page.locator('[data-row-error="3"]')).to_contain_text("tracking_number")
    expect(page.locator(f'[data-expected="{number}"]')).to_contain_text("Margaret Hamilton")
    shot(page, "manifest-import-row-errors")

    follow(page, "nav >> text=Intake")
    expect(page.locator("#id_tracking_number")).to_be_focused()
    page.keyboard.type(number)
    expect(page.locator("[data-expected-match]")).to_contain_text("Margaret Hamilton")
    expect(page.locator("#recipient-chosen")).to_contain_text("Margaret Hamilton")
    page.click("button:has-text('Log item')")
    created = page.locator("[data-created]")
    expect(created).to_be_visible()
    item = MailItem.objects.get(uid=created.get_attribute("data-created"))
    assert item.recipient_id == mailroom.pk
    assert ExpectedParcel.objects.get(tracking_number=number).item_id == item.pk

    follow(page, "nav >> text=Expected")
    expect(page.locator("[data-none-expected]")).to_be_visible()
