"""What the console's intake and "my mail" pages offer, over the API: reading a label photo, and a
recipient's own items with their pickup codes."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.custody import pickup, services
from tests.api.conftest import assert_refused, png, snapshot
from tests.console.test_intake import barcode_photo
from tests.factories import VALID_UPS, intake, make_recipient

SCREENER = Actor("user", "sam", frozenset({Role.SCREENER}), user_id=None)
CLERK = Actor("user", "cleo", frozenset({Role.CLERK}), user_id=None)


def photo(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("label.png", data, "image/png")


def test_a_label_photo_gives_the_tracking_number_and_its_carrier(clerk):
    response = clerk.upload("/api/carriers/read-label", photo=photo(barcode_photo(VALID_UPS)))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["codes"] == [VALID_UPS] and body["tracking_number"] == VALID_UPS
    assert body["check"]["valid"] is True and body["check"]["carrier"] == "ups"


def test_a_photo_without_a_barcode_finds_nothing(clerk):
    body = clerk.upload("/api/carriers/read-label", photo=photo(png(60, 40))).json()
    assert body == {"codes": [], "tracking_number": None, "check": None}


def test_label_reading_refusals_name_the_field(as_role, clerk):
    others = [as_role(role) for role in (Role.SCREENER, Role.RECIPIENT, Role.AUDITOR)]
    before = snapshot()
    body = assert_refused(
        clerk.upload("/api/carriers/read-label", photo=photo(b"not an image")), 400, "photo"
    )
    assert body["message"] == (
        "the file is not a readable image: it is not a PNG, JPEG, GIF, BMP, TIFF or WebP picture"
    )
    assert_refused(clerk.upload("/api/carriers/read-label"), 422, "photo")
    for api in others:
        refused = api.upload("/api/carriers/read-label", photo=photo(png(8, 8)))
        assert_refused(refused, 403, None)
    assert snapshot() == before


@pytest.fixture
def mine(site, employee):
    waiting = intake(site, employee.recipient)
    ready = intake(site, employee.recipient)
    services.transition(SCREENER, ready.uid, "cleared")
    services.transition(CLERK, ready.uid, "ready_for_pickup")
    return waiting, ready


def test_a_recipient_sees_their_own_items_and_the_codes_of_those_ready(employee, mine, site):
    waiting, ready = mine
    someone_elses = intake(site, make_recipient(first_name="Ada", last_name="Lovelace"))
    rows = employee.api.get("/api/my/items").json()
    by_uid = {row["item"]["uid"]: row for row in rows}
    assert set(by_uid) == {waiting.uid, ready.uid}
    assert someone_elses.uid not in by_uid
    assert by_uid[ready.uid]["pickup_code"] == pickup.pickup_code(ready.uid)
    assert pickup.qr_uid(by_uid[ready.uid]["qr_token"]) == ready.uid
    assert by_uid[waiting.uid]["pickup_code"] is None
    assert by_uid[waiting.uid]["qr_token"] is None


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.SECURITY_OPERATOR])
def test_staff_have_no_my_items(as_role, mine, role):
    assert_refused(as_role(role).get("/api/my/items"), 403, None)
