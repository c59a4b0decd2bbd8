"""Intake never blocks the dock: a number no carrier's rule accepts is logged with a reason."""

from __future__ import annotations

import pytest

from mailwarden.core import ledger
from mailwarden.core.errors import ServiceError
from mailwarden.custody import services
from mailwarden.custody.models import MailItem
from tests.custody_services.conftest import snapshot
from tests.factories import CLERK, VALID_UPS

BAD_CHECK_DIGIT = "1Z5R89390357567128"


def request(site, recipient, **kw) -> services.IntakeRequest:
    return services.IntakeRequest(site=site.code, recipient_id=recipient.pk, kind="parcel", **kw)


@pytest.mark.parametrize(
    ("number", "rule"),
    [
        (BAD_CHECK_DIGIT, "UPS numbers have 18 characters and start with 1Z"),
        ("1Z5R8939035756712", "UPS numbers have 18 characters and start with 1Z"),
        ("HELLO42", "check that it was scanned or typed in full"),
    ],
)
def test_without_a_reason_the_carriers_rule_is_named_in_plain_words(site, recipient, number, rule):
    before = snapshot()
    with pytest.raises(services.UnverifiedTrackingNumber) as refused:
        services.intake(CLERK, request(site, recipient, tracking_number=number))
    assert refused.value.field == "tracking_number"
    assert rule in refused.value.message
    assert "give a reason to log it anyway" in refused.value.message
    assert "tracking_number" not in refused.value.message
    assert snapshot() == before


def test_with_a_reason_it_is_logged_flagged_for_review_and_the_ledger_says_why(
    site, recipient, frozen_clock
):
    item = services.intake(
        CLERK,
        request(
            site,
            recipient,
            tracking_number=BAD_CHECK_DIGIT.lower(),
            unverified_reason="  label   torn, last digit smudged ",
        ),
    )
    stored = MailItem.objects.get(uid=item.uid)
    assert (stored.tracking_number, stored.carrier, stored.tracking_type) == (
        BAD_CHECK_DIGIT,
        "",
        "",
    )
    assert "check digit does not match for UPS" in stored.review_reason
    assert "Clerk's reason: label torn, last digit smudged" in stored.review_reason
    data = ledger.entry_data(ledger.entries_for("mailitem", item.uid)[0])
    assert data["unverified_tracking_number"] == {
        "problem": (
            "its check digit does not match for UPS: UPS numbers have 18 characters and "
            "start with 1Z, and the last character is computed from the others; look for a "
            "mistyped or misread character"
        ),
        "reason": "label torn, last digit smudged",
    }


def test_a_reason_for_a_good_number_changes_nothing(site, recipient):
    item = services.intake(
        CLERK, request(site, recipient, tracking_number=VALID_UPS, unverified_reason="just in case")
    )
    stored = MailItem.objects.get(uid=item.uid)
    assert (stored.carrier, stored.review_reason) == ("ups", "")
    data = ledger.entry_data(ledger.entries_for("mailitem", item.uid)[0])
    assert "unverified_tracking_number" not in data


def test_a_blank_reason_is_no_reason(site, recipient):
    with pytest.raises(services.UnverifiedTrackingNumber):
        services.intake(
            CLERK, request(site, recipient, tracking_number=BAD_CHECK_DIGIT, unverified_reason="  ")
        )


def test_a_reason_too_long_names_its_field(site, recipient):
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.intake(
            CLERK,
            request(site, recipient, tracking_number=BAD_CHECK_DIGIT, unverified_reason="x" * 301),
        )
    assert refused.value.field == "unverified_reason"
    assert "keep it to 300" in refused.value.message
    assert snapshot() == before


def test_a_number_longer_than_any_label_is_refused_even_with_a_reason(site, recipient):
    with pytest.raises(ServiceError) as refused:
        services.intake(
            CLERK, request(site, recipient, tracking_number="9" * 70, unverified_reason="odd label")
        )
    assert refused.value.field == "tracking_number"
    assert "more than any carrier's format" in refused.value.message
    assert not isinstance(refused.value, services.UnverifiedTrackingNumber)
