"""Intake through the API never blocks the dock: an unchecked number is logged with a reason."""

from __future__ import annotations

from mailwarden.core import ledger
from tests.api.conftest import assert_refused, snapshot
from tests.factories import VALID_UPS

BAD_CHECK_DIGIT = VALID_UPS[:-1] + "8"


def body(site, recipient, **fields):
    return {"site": site.code, "recipient_id": recipient.pk, "kind": "parcel", **fields}


def test_a_bad_check_digit_is_refused_naming_the_rule_then_logged_with_a_reason(
    clerk, site, recipient, frozen_clock
):
    before = snapshot()
    refused = assert_refused(
        clerk.post("/api/items", body(site, recipient, tracking_number=BAD_CHECK_DIGIT)),
        400,
        "tracking_number",
    )
    assert "UPS numbers have 18 characters and start with 1Z" in refused["message"]
    assert "give a reason to log it anyway" in refused["message"]
    assert "tracking_number" not in refused["message"]
    assert snapshot() == before

    response = clerk.post(
        "/api/items",
        body(site, recipient, tracking_number=BAD_CHECK_DIGIT, unverified_reason="label torn"),
    )
    assert response.status_code == 201, response.content
    item = response.json()
    assert (item["tracking_number"], item["carrier"]) == (BAD_CHECK_DIGIT, "")
    assert "Clerk's reason: label torn" in item["review_reason"]
    assert clerk.get(f"/api/items/{item['uid']}").json()["review_reason"] == item["review_reason"]
    data = ledger.entry_data(ledger.entries_for("mailitem", item["uid"])[0])
    assert data["unverified_tracking_number"]["reason"] == "label torn"


def test_a_good_number_needs_no_review(clerk, site, recipient):
    response = clerk.post("/api/items", body(site, recipient, tracking_number=VALID_UPS))
    assert response.status_code == 201, response.content
    assert response.json()["review_reason"] == ""


def test_a_reason_over_its_limit_names_its_field(clerk, site, recipient):
    assert_refused(
        clerk.post(
            "/api/items",
            body(site, recipient, tracking_number=BAD_CHECK_DIGIT, unverified_reason="x" * 301),
        ),
        422,
        "unverified_reason",
    )
