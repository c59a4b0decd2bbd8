"""Attaching a photo after intake: limits from the configuration, refusals naming ``photo``."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from mailwarden.config import get_settings
from mailwarden.core import media
from tests.api.conftest import assert_refused, png, snapshot
from tests.factories import intake


@pytest.fixture
def item(site, recipient):
    return intake(site, recipient)


@pytest.fixture
def limits():
    """Small upload limits for the test, restored afterwards."""
    uploads = get_settings().uploads
    saved = uploads.max_bytes, uploads.max_pixels
    uploads.max_bytes, uploads.max_pixels = 20_000, 100 * 100
    yield uploads
    uploads.max_bytes, uploads.max_pixels = saved


def upload(data: bytes, name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "image/png")


def test_photo_is_stored_by_hash_and_recorded(clerk, item):
    data = png(64, 48)
    response = clerk.upload(f"/api/items/{item.uid}/photo", photo=upload(data))
    assert response.status_code == 200, response.content
    digest = hashlib.sha256(data).hexdigest()
    assert response.json()["photo_sha256"] == digest
    assert media.get(digest) == data
    chain = clerk.get(f"/api/items/{item.uid}/custody").json()
    assert chain[-1]["data"]["photo_sha256"] == digest


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"\x89PNG" + b"\0" * 30_000, "limit is 20000"),
        (b"this is a text file", "it is not a JPEG, PNG, WebP, TIFF, BMP or GIF picture"),
        (png(101, 100), "pixels"),
        (b"", "empty"),
    ],
    ids=["too-large", "not-an-image", "too-many-pixels", "empty"],
)
def test_bad_photos_are_refused_naming_the_field(clerk, item, limits, data, words):
    before = snapshot()
    body = assert_refused(
        clerk.upload(f"/api/items/{item.uid}/photo", photo=upload(data)), 400, "photo"
    )
    assert words in body["message"]
    assert snapshot() == before


def test_photo_needs_a_file_and_a_visible_item(clerk, employee, item):
    before = snapshot()
    assert_refused(clerk.upload(f"/api/items/{item.uid}/photo"), 422, "photo")
    refused = employee.api.upload(f"/api/items/{item.uid}/photo", photo=upload(png(8, 8)))
    # A recipient may attach no photo at all: refused on the role, before the item is looked up.
    assert_refused(refused, 403, None)
    missing = clerk.upload("/api/items/MW-00000000/photo", photo=upload(png(8, 8)))
    assert_refused(missing, 404, "uid")
    assert snapshot() == before


def test_the_photo_can_be_read_back_by_whoever_sees_the_item(clerk, employee, item):
    data = png(40, 30)
    clerk.upload(f"/api/items/{item.uid}/photo", photo=upload(data))
    response = clerk.get(f"/api/items/{item.uid}/photo")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response.content == data
    assert_refused(employee.api.get(f"/api/items/{item.uid}/photo"), 404, "uid")


def test_an_item_without_a_photo_says_so(clerk, item):
    body = assert_refused(clerk.get(f"/api/items/{item.uid}/photo"), 404, "uid")
    assert "no photo" in body["message"]


def form(site, recipient, **extra):
    return {"site": site.code, "recipient_id": str(recipient.pk), "kind": "parcel", **extra}


def test_intake_with_its_photo_is_one_step_on_the_ledger(clerk, site, recipient):
    data = png(64, 48)
    body = form(site, recipient, sender="Acme", accountable="true")
    response = clerk.upload("/api/items/with-photo", photo=upload(data), **body)
    assert response.status_code == 201, response.content
    item = response.json()
    digest = hashlib.sha256(data).hexdigest()
    assert item["photo_sha256"] == digest and item["accountable"] is True
    assert media.get(digest) == data
    chain = clerk.get(f"/api/items/{item['uid']}/custody").json()
    assert [e["action"] for e in chain] == ["custody.item.received", "custody.item.transitioned"]
    assert chain[0]["data"]["photo_sha256"] == digest


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"photo": b"this is a text file"}, 400, "photo"),
        ({"photo": None}, 422, "photo"),
        ({"kind": "crate"}, 422, "kind"),
        ({"recipient_id": "999999"}, 400, "recipient_id"),
    ],
)
def test_intake_with_a_photo_refuses_and_logs_nothing(
    clerk, site, recipient, change, status, field
):
    body = form(site, recipient)
    photo = change.pop("photo", png(8, 8))
    body.update(change)
    files = {} if photo is None else {"photo": upload(photo)}
    before = snapshot()
    assert_refused(clerk.upload("/api/items/with-photo", **files, **body), status, field)
    assert snapshot() == before
