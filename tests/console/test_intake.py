"""The intake screen: carrier check, recipient suggestions, duplicates, photo decode, labels."""

from __future__ import annotations

import io
import re

import pytest
import zxingcpp
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from tests.factories import VALID_UPS, make_recipient

BAD_CHECK_DIGIT = VALID_UPS[:-1] + str((int(VALID_UPS[-1]) + 1) % 10)


def png_bytes(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def barcode_photo(text: str) -> bytes:
    drawn = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128).to_image(scale=3)
    height, width = drawn.shape[:2]
    barcode = Image.frombytes("L", (width, height), memoryview(drawn).tobytes())
    label = Image.new("L", (width + 120, height + 160), 255)
    label.paste(barcode, (60, 80))
    return png_bytes(label)


@pytest.fixture
def clerk(as_role, site):
    return as_role(Role.CLERK)


def form_data(recipient, **extra):
    return {
        "site": "hq",
        "tracking_number": VALID_UPS,
        "recipient_id": str(recipient.pk),
        "recipient_query": recipient.display_name,
        "kind": "parcel",
        **extra,
    }


def test_scanned_number_shows_the_carrier(clerk):
    body = clerk.get("/intake/detect/", {"tracking_number": VALID_UPS.lower()}).content.decode()
    assert 'data-carrier="ups"' in body


def test_wrong_check_digit_is_named(clerk):
    body = clerk.get("/intake/detect/", {"tracking_number": BAD_CHECK_DIGIT}).content.decode()
    assert 'data-carrier=""' in body
    assert "check digit does not match" in body.lower()


def test_recipient_suggestions_forgive_typos_and_rank_best_first(clerk, recipient):
    make_recipient(first_name="Marge", last_name="Hampton")
    make_recipient(first_name="Alan", last_name="Turing")
    body = clerk.get("/intake/recipients/", {"recipient_query": "Margret Hamiltn"}).content.decode()
    ids = re.findall(r'data-id="(\d+)"', body)
    assert ids[0] == str(recipient.pk)
    assert len(ids) <= 5
    scores = [int(s) for s in re.findall(r'class="score"[^>]*>(\d+)<', body)]
    assert scores == sorted(scores, reverse=True)
    nobody = clerk.get("/intake/recipients/", {"recipient_query": "Zzyzx Qwerty"}).content.decode()
    assert "No one in the directory matches" in nobody


def test_suggestions_follow_directory_changes(clerk, recipient):
    assert (
        "data-id"
        not in clerk.get("/intake/recipients/", {"recipient_query": "Turing"}).content.decode()
    )
    alan = make_recipient(first_name="Alan", last_name="Turing")
    body = clerk.get("/intake/recipients/", {"recipient_query": "Turing"}).content.decode()
    assert f'data-id="{alan.pk}"' in body


def test_logging_an_item_creates_it_and_resets_the_form(clerk, recipient):
    response = clerk.post(
        "/intake/",
        form_data(recipient, sender="Northwind", weight_g="1200"),
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    item = MailItem.objects.get()
    body = response.content.decode()
    assert f'data-created="{item.uid}"' in body
    assert f"/items/{item.uid}/label.png" in body and f"/items/{item.uid}/label.pdf" in body
    # The fresh form starts empty with the cursor in the barcode field.
    assert re.search(r'id="id_tracking_number" value=""', body)
    assert (item.carrier, item.state, item.weight_g, item.recipient_id) == (
        "ups",
        State.AWAITING_SCREENING,
        1200,
        recipient.pk,
    )


def test_missing_recipient_is_a_field_error_and_logs_nothing(clerk, recipient):
    response = clerk.post("/intake/", form_data(recipient, recipient_id=""))
    assert response.status_code == 400
    body = response.content.decode()
    assert re.search(r'data-field-error="recipient_query">choose the recipient', body)
    assert not MailItem.objects.exists()


def test_service_refusal_lands_next_to_its_field(clerk, recipient):
    response = clerk.post(
        "/intake/", form_data(recipient, tracking_number="9" * 70), HTTP_HX_REQUEST="true"
    )
    # HTMX swaps only 2xx answers, so the form with its errors comes back as 200.
    assert response.status_code == 200
    assert re.search(
        r'data-field-error="tracking_number">[^<]*more than any carrier',
        response.content.decode(),
    )
    assert not MailItem.objects.exists()


def test_possible_duplicate_asks_and_logs_on_confirmation(clerk, recipient, item):
    entries = LedgerEntry.objects.count()
    response = clerk.post("/intake/", form_data(recipient), HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert 'class="duplicate"' in body and item.uid in body
    assert "This is another item" in body
    assert MailItem.objects.count() == 1 and LedgerEntry.objects.count() == entries

    confirmed = clerk.post(
        "/intake/", form_data(recipient, confirm_duplicate="on"), HTTP_HX_REQUEST="true"
    )
    assert "data-created" in confirmed.content.decode()
    assert MailItem.objects.filter(tracking_number=VALID_UPS).count() == 2


def test_item_photo_is_stored_and_shown(clerk, recipient):
    photo = png_bytes(Image.new("RGB", (64, 48), (200, 120, 40)))
    upload = SimpleUploadedFile("parcel.png", photo, content_type="image/png")
    clerk.post("/intake/", {**form_data(recipient), "photo": upload})
    item = MailItem.objects.get()
    assert item.photo_sha256
    shown = clerk.get(f"/items/{item.uid}/photo/")
    assert shown["Content-Type"] == "image/png" and shown.content == photo


def test_label_photo_fills_the_barcode_field(clerk):
    upload = SimpleUploadedFile("label.png", barcode_photo(VALID_UPS), content_type="image/png")
    body = clerk.post("/intake/decode/", {"label_photo": upload}).content.decode()
    assert f'value="{VALID_UPS}"' in body
    assert 'data-carrier="ups"' in body


def test_unreadable_label_photo_says_why(clerk):
    upload = SimpleUploadedFile("label.png", b"not an image", content_type="image/png")
    body = clerk.post("/intake/decode/", {"label_photo": upload}).content.decode()
    assert "That photo cannot be read. The file is not a readable image: it is not a" in body
    # One colon in the sentence, never "read: the file ...: it is".
    message = body.split('<p class="field-error">')[1].split("</p>")[0]
    assert message.count(":") == 1, message
    assert "BytesIO" not in body
    blank = SimpleUploadedFile("blank.png", png_bytes(Image.new("L", (200, 100), 255)))
    assert (
        "No barcode found" in clerk.post("/intake/decode/", {"label_photo": blank}).content.decode()
    )


def test_labels_print_as_png_and_pdf(clerk, item):
    png = clerk.get(f"/items/{item.uid}/label.png")
    assert png["Content-Type"] == "image/png" and png.content.startswith(b"\x89PNG")
    pdf = clerk.get(f"/items/{item.uid}/label.pdf")
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
