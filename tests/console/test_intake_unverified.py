"""The intake screen never blocks the dock: an unchecked number is logged with a reason."""

from __future__ import annotations

import re

import pytest

from mailwarden.core import ledger
from mailwarden.core.roles import Role
from mailwarden.custody.models import MailItem
from tests.factories import VALID_UPS

BAD_CHECK_DIGIT = VALID_UPS[:-1] + str((int(VALID_UPS[-1]) + 1) % 10)


@pytest.fixture
def clerk(as_role, site):
    return as_role(Role.CLERK)


def form_data(recipient, **extra):
    return {
        "site": "hq",
        "tracking_number": BAD_CHECK_DIGIT,
        "recipient_id": str(recipient.pk),
        "recipient_query": recipient.display_name,
        "kind": "parcel",
        **extra,
    }


def test_the_live_check_names_the_rule_in_plain_words(clerk):
    body = clerk.get("/intake/detect/", {"tracking_number": BAD_CHECK_DIGIT}).content.decode()
    assert "UPS numbers have 18 characters and start with 1Z" in body
    assert "tracking_number" not in body.split('name="tracking_number"')[0]


def test_an_unchecked_number_asks_for_a_reason_then_logs_and_flags(clerk, recipient):
    asked = clerk.post("/intake/", form_data(recipient), HTTP_HX_REQUEST="true")
    body = asked.content.decode()
    assert "data-unverified" in body and 'name="unverified_reason"' in body
    assert re.search(r'data-field-error="tracking_number">No carrier', body)
    assert "UPS numbers have 18 characters and start with 1Z" in body
    assert "tracking_number:" not in body
    assert not MailItem.objects.exists()

    logged = clerk.post(
        "/intake/",
        form_data(recipient, unverified_reason="label torn at the corner"),
        HTTP_HX_REQUEST="true",
    )
    body = logged.content.decode()
    item = MailItem.objects.get()
    assert f'data-created="{item.uid}"' in body and "data-review-flag" in body
    assert "Clerk's reason: label torn at the corner" in item.review_reason
    entry = ledger.entries_for("mailitem", item.uid)[0]
    assert ledger.entry_data(entry)["unverified_tracking_number"]["reason"] == (
        "label torn at the corner"
    )
    page = clerk.get(f"/items/{item.uid}/").content.decode()
    assert "Flagged for review." in page and "label torn at the corner" in page
    assert "unchecked" in page
    listed = clerk.get("/items/", {"q": BAD_CHECK_DIGIT}).content.decode()
    assert item.uid in listed and "flagged for review" in listed


def test_a_reason_over_its_limit_is_a_field_error(clerk, recipient):
    response = clerk.post(
        "/intake/", form_data(recipient, unverified_reason="x" * 301), HTTP_HX_REQUEST="true"
    )
    assert re.search(r'data-field-error="unverified_reason">', response.content.decode())
    assert not MailItem.objects.exists()
