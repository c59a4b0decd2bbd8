"""The items list as a clerk uses it: filter, count, export, tick items and act on them."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from mailwarden.core import ledger
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from tests.custody_services.conftest import item_in
from tests.e2e.conftest import PASSWORD, follow, shot, sign_in
from tests.factories import ADMIN, VALID_UPS, intake, make_recipient, make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mailroom(transactional_db):
    site = make_site()
    ada = make_recipient(first_name="Ada", last_name="Byron", department="Research")
    alan = make_recipient(first_name="Alan", last_name="Turing", department="Codes")
    intake(site, ada, tracking_number=VALID_UPS)
    cleared = [item_in(site, person, State.CLEARED) for person in (ada, alan, alan)]
    create_user(ADMIN, "clerk", password=PASSWORD, roles=[Role.CLERK.value], check_password=False)
    return cleared


def test_filter_export_and_mark_ready_in_bulk(open_page, mailroom):
    page = open_page()
    sign_in(page, "clerk")
    follow(page, "nav >> text=Items")
    expect(page.locator("[data-total]")).to_have_text("4")

    page.select_option("#id_state", "cleared")
    expect(page.locator("[data-total]")).to_have_text("3")
    page.select_option("#id_carrier", "none")
    expect(page.locator(".results-count")).to_contain_text("3 items match these filters")
    page.fill("#id_recipient", "Turing")
    expect(page.locator("[data-total]")).to_have_text("2")
    page.fill("#id_recipient", "")
    expect(page.locator("[data-total]")).to_have_text("3")
    expect(page).to_have_url(re.compile(r"state=cleared.*carrier=none|carrier=none.*state=cleared"))
    shot(page, "items-list-filtered")

    with page.expect_download() as csv_download:
        page.click("[data-export=csv]")
    rows = list(csv.reader(io.StringIO(csv_download.value.path().read_text())))
    assert len(rows) == 4 and {r[9] for r in rows[1:]} == {"Cleared"}
    with page.expect_download() as xlsx_download:
        page.click("[data-export=xlsx]")
    sheet = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))["Items"]
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    assert sheet.max_row == 4

    page.check("[data-select-all]")
    expect(page.locator("[data-selected-count]")).to_have_text("3 selected")
    page.select_option("#id_action", "move")
    expect(page.locator(".bulk-location")).to_be_visible()
    page.select_option("#id_action", "ready_for_pickup")
    expect(page.locator(".bulk-location")).to_be_hidden()
    page.click("[data-bulk-submit]")
    expect(page.locator("h1")).to_have_text("Mark ready for pickup: 3 items?")
    assert {i.state for i in MailItem.objects.all()} == {"cleared", "awaiting_screening"}
    shot(page, "items-bulk-confirm")
    page.click("[data-bulk-confirm-button]")
    expect(page.locator("h1")).to_have_text("Mark ready for pickup: 3 done")
    for item in mailroom:
        stored = MailItem.objects.get(pk=item.pk)
        assert stored.state == State.READY_FOR_PICKUP
        moves = [
            ledger.entry_data(e)
            for e in ledger.entries_for("mailitem", item.uid)
            if ledger.entry_data(e).get("to") == "ready_for_pickup"
        ]
        assert len(moves) == 1

    follow(page, f"[data-bulk-done] >> text={mailroom[0].uid}")
    expect(page.locator(".timeline .step").last).to_contain_text("Ready for pickup")
    expect(page.locator(".timeline .step").last).to_contain_text("marked ready with other items")

    page.goto("/items/?state=ready_for_pickup")
    expect(page.locator("[data-total]")).to_have_text("3")
    page.check("[data-select-all]")
    page.select_option("#id_action", "labels")
    with page.context.expect_page() as opened:
        page.click("[data-bulk-submit]")
    assert opened.value.url.endswith("/items/bulk/")


def test_a_manager_clears_the_review_flag_from_the_item_page(open_page, transactional_db):
    from mailwarden.custody import services
    from tests.factories import CLERK

    site = make_site()
    ada = make_recipient(first_name="Ada", last_name="Byron")
    flagged = services.intake(
        CLERK,
        services.IntakeRequest(
            site=site.code,
            recipient_id=ada.pk,
            kind="parcel",
            tracking_number="1Z5R89390357567128",
            unverified_reason="label torn",
        ),
    )
    create_user(
        ADMIN,
        "manager",
        password=PASSWORD,
        roles=[Role.SECURITY_MANAGER.value],
        check_password=False,
    )
    page = open_page()
    sign_in(page, "manager")
    page.goto(f"/items/{flagged.uid}/")
    expect(page.locator("[data-review-flag]")).to_contain_text("label torn")
    page.click("text=Clear the review flag…")
    page.fill("#id_note", "UPS confirmed the number")
    page.click("[data-clear-review]")
    expect(page.locator(".alert-success")).to_contain_text("no longer flagged for review")
    expect(page.locator("[data-review-flag]")).to_have_count(0)
    expect(page.locator(".timeline .step").last).to_contain_text("Review flag cleared by a manager")
    expect(page.locator(".timeline .step").last).to_contain_text("UPS confirmed the number")
    assert MailItem.objects.get(pk=flagged.pk).review_reason == ""
