"""Intake: what it records, what it refuses, and the duplicate re-scan question."""

from __future__ import annotations

import hashlib

import pytest

from mailwarden.config import get_settings
from mailwarden.core import ledger, media
from mailwarden.core.errors import ServiceError
from mailwarden.custody import services
from mailwarden.custody.models import MailItem
from mailwarden.custody.services import PossibleDuplicate
from mailwarden.custody.states import State
from tests.custody_services.conftest import png, snapshot
from tests.factories import CLERK, VALID_UPS


def request(site, recipient, *, site_code=None, **kw) -> services.IntakeRequest:
    fields = {"site": site_code or site.code, "recipient_id": recipient.pk, "kind": "parcel", **kw}
    return services.IntakeRequest(**fields)


def test_intake_records_the_item_and_its_ledger_entry(site, recipient, frozen_clock):
    photo = png(120, 90)
    item = services.intake(
        CLERK,
        request(site, recipient, tracking_number=" 1z5r 8939 0357 5671 27 ", photo=photo),
    )
    stored = MailItem.objects.get(uid=item.uid)
    assert stored.state == State.AWAITING_SCREENING
    assert (stored.tracking_number, stored.carrier) == (VALID_UPS, "ups")
    assert stored.received_at == frozen_clock.current
    assert stored.location.code == "dock"
    digest = hashlib.sha256(photo).hexdigest()
    assert stored.photo_sha256 == digest
    assert media.get(digest) == photo
    entry = ledger.entries_for("mailitem", item.uid)[0]
    assert entry.action == "custody.item.received"
    assert entry.actor == CLERK.label
    assert ledger.entry_data(entry) == {
        "tracking_number": VALID_UPS,
        "carrier": "ups",
        "kind": "parcel",
        "recipient": recipient.employee_id,
        "location": "dock",
        "photo_sha256": digest,
        "duplicate_confirmed": False,
    }


@pytest.mark.parametrize(
    ("fields", "field", "why"),
    [
        ({"kind": "crate"}, "kind", "unknown item type 'crate'"),
        ({"length_mm": 0}, "length_mm", "must be a positive number"),
        ({"width_mm": -4}, "width_mm", "must be a positive number"),
        ({"height_mm": 10_000_001}, "height_mm", "must be a positive number"),
        ({"weight_g": 0}, "weight_g", "must be a positive number"),
        ({"recipient_id": 999_999}, "recipient_id", "no active recipient with id 999999"),
        (
            {"tracking_number": "1Z5R89390357567128"},
            "tracking_number",
            "check digit does not match",
        ),
        ({"location_code": "roof"}, "location_code", "no location 'roof'"),
        ({"site_code": "annex"}, "site", "no site 'annex'"),
        ({"photo": b"GIF89a but not really"}, "photo", "not a readable image"),
        ({"photo": b""}, "photo", "the file is empty"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_bad_intake_names_the_field_and_changes_nothing(site, recipient, fields, field, why):
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.intake(CLERK, request(site, recipient, **fields))
    assert refused.value.field == field
    assert why in refused.value.message
    assert snapshot() == before


def test_inactive_recipient_is_refused(site, recipient):
    type(recipient).objects.filter(pk=recipient.pk).update(active=False)
    with pytest.raises(ServiceError) as refused:
        services.intake(CLERK, request(site, recipient))
    assert refused.value.field == "recipient_id"


def test_photo_over_the_pixel_limit_is_refused(site, recipient, small_pixel_limit):
    assert get_settings().uploads.max_pixels == small_pixel_limit
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.intake(CLERK, request(site, recipient, photo=png(65, 64)))
    assert refused.value.field == "photo"
    assert f"the limit is {small_pixel_limit:,} pixels" in refused.value.message
    assert snapshot() == before
    # At the limit exactly the same photo size is fine.
    assert services.intake(CLERK, request(site, recipient, photo=png(64, 64))).photo_sha256


def test_rescan_within_the_window_asks_and_confirmation_overrides(site, recipient, frozen_clock):
    first = services.intake(CLERK, request(site, recipient, tracking_number=VALID_UPS))
    frozen_clock.advance(hours=2)
    before = snapshot()
    with pytest.raises(PossibleDuplicate) as asked:
        services.intake(CLERK, request(site, recipient, tracking_number=VALID_UPS))
    assert asked.value.field == "tracking_number"
    assert asked.value.previous.uid == first.uid
    assert first.uid in asked.value.message
    assert snapshot() == before

    second = services.intake(
        CLERK, request(site, recipient, tracking_number=VALID_UPS, confirm_duplicate=True)
    )
    assert second.uid != first.uid
    entry = ledger.entries_for("mailitem", second.uid)[0]
    assert ledger.entry_data(entry)["duplicate_confirmed"] is True


def test_rescan_outside_the_window_is_not_questioned(site, recipient, frozen_clock):
    services.intake(CLERK, request(site, recipient, tracking_number=VALID_UPS))
    window = get_settings().intake.duplicate_window_minutes
    frozen_clock.advance(minutes=window + 1)
    later = services.intake(CLERK, request(site, recipient, tracking_number=VALID_UPS))
    assert MailItem.objects.filter(tracking_number=VALID_UPS).count() == 2
    assert (
        ledger.entry_data(ledger.entries_for("mailitem", later.uid)[0])["duplicate_confirmed"]
        is False
    )


def test_letters_without_tracking_numbers_are_never_duplicates(site, recipient):
    for _ in range(3):
        services.intake(CLERK, request(site, recipient, kind="letter"))
    assert MailItem.objects.filter(kind="letter").count() == 3


def test_an_item_id_already_taken_is_drawn_again(site, recipient, monkeypatch):
    first = services.intake(CLERK, request(site, recipient))
    drawn = iter([first.uid, "MW-FRESH001"])
    monkeypatch.setattr(services, "new_uid", lambda: next(drawn))
    second = services.intake(CLERK, request(site, recipient))
    assert second.uid == "MW-FRESH001"
    assert MailItem.objects.filter(uid=first.uid).count() == 1
    assert ledger.entries_for("mailitem", "MW-FRESH001")[0].action == "custody.item.received"
    assert ledger.verify().ok


def test_intake_gives_up_when_every_id_drawn_is_taken(site, recipient, monkeypatch):
    taken = services.intake(CLERK, request(site, recipient)).uid
    before = snapshot()
    monkeypatch.setattr(services, "new_uid", lambda: taken)
    with pytest.raises(RuntimeError, match="unique item id"):
        services.intake(CLERK, request(site, recipient))
    assert snapshot() == before
