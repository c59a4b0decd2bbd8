"""The pickup screen: find the item by scan, then hand it over with a code, QR or signature."""

from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image, ImageDraw

from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.custody import pickup, services
from mailwarden.custody.states import State
from tests.factories import CLERK, SCREENER


@pytest.fixture
def ready(item):
    services.transition(SCREENER, item.uid, "cleared")
    services.transition(CLERK, item.uid, "ready_for_pickup")
    item.refresh_from_db()
    return item


@pytest.fixture
def clerk(as_role, db):
    return as_role(Role.CLERK)


def signature_data_url(blank: bool = False) -> str:
    image = Image.new("RGB", (300, 120), "white")
    if not blank:
        ImageDraw.Draw(image).line((10, 100, 120, 20, 200, 90, 290, 30), fill="black", width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def wrong(uid: str) -> str:
    return "000000" if pickup.pickup_code(uid) != "000000" else "111111"


def test_scanning_the_label_or_typing_the_uid_finds_the_item(clerk, ready):
    for scanned in (ready.uid, f"  {ready.uid.lower()} "):
        response = clerk.get("/pickup/", {"scan": scanned})
        assert response.status_code == 302 and response["Location"] == f"/pickup/{ready.uid}/"
    missing = clerk.get("/pickup/", {"scan": "MW-NOPE0000"})
    assert missing.status_code == 404
    assert "no item MW-NOPE0000" in missing.content.decode()


def test_recipients_qr_finds_the_item_and_is_the_proof(clerk, ready):
    response = clerk.get("/pickup/", {"scan": pickup.qr_token(ready.uid)}, follow=True)
    body = response.content.decode()
    assert re.search(r'value="qr"[^>]*checked', body)
    token = re.search(r'name="qr" value="([^"]+)"', body)
    assert token and pickup.qr_uid(token.group(1)) == ready.uid
    done = clerk.post(f"/pickup/{ready.uid}/", {"method": "qr", "qr": token.group(1)})
    assert done.status_code == 302
    ready.refresh_from_db()
    assert ready.state == State.PICKED_UP


def test_wrong_code_shows_the_tries_left_then_the_right_code_hands_over(clerk, ready):
    page = clerk.get(f"/pickup/{ready.uid}/").content.decode()
    assert 'data-tries-left="5"' in page
    refused = clerk.post(f"/pickup/{ready.uid}/", {"method": "code", "code": wrong(ready.uid)})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert re.search(r'data-field-error="code">wrong pickup code; 4 tries left', body)
    assert 'data-tries-left="4"' in clerk.get(f"/pickup/{ready.uid}/").content.decode()
    ready.refresh_from_db()
    assert ready.state == State.READY_FOR_PICKUP

    done = clerk.post(
        f"/pickup/{ready.uid}/",
        {
            "method": "code",
            "code": pickup.pickup_code(ready.uid),
            "collected_by": "Margaret Hamilton",
        },
    )
    assert done.status_code == 302 and done["Location"] == f"/pickup/?done={ready.uid}"
    ready.refresh_from_db()
    assert ready.state == State.PICKED_UP
    shown = clerk.get(done["Location"]).content.decode()
    assert f"{ready.uid} handed over" in shown


def test_signature_with_name_hands_over_and_records_the_signature(clerk, ready):
    missing_name = clerk.post(
        f"/pickup/{ready.uid}/", {"method": "signature", "signature": signature_data_url()}
    )
    assert missing_name.status_code == 400
    assert 'data-field-error="collected_by"' in missing_name.content.decode()
    blank = clerk.post(
        f"/pickup/{ready.uid}/",
        {
            "method": "signature",
            "collected_by": "M. Hamilton",
            "signature": signature_data_url(blank=True),
        },
    )
    assert "the signature is blank" in blank.content.decode()
    ready.refresh_from_db()
    assert ready.state == State.READY_FOR_PICKUP

    clerk.post(
        f"/pickup/{ready.uid}/",
        {"method": "signature", "collected_by": "M. Hamilton", "signature": signature_data_url()},
    )
    ready.refresh_from_db()
    assert ready.state == State.PICKED_UP
    last = LedgerEntry.objects.filter(subject_id=ready.uid).order_by("-seq").first()
    assert '"signature_sha256"' in last.body and "M. Hamilton" in last.body


def test_a_non_ascii_code_is_a_field_error_and_uses_no_try(clerk, ready):
    response = clerk.post(f"/pickup/{ready.uid}/", {"method": "code", "code": "١٢٣٤٥٦"})
    assert response.status_code == 400
    body = response.content.decode()
    assert re.search(r'data-field-error="code">a pickup code is 6 digits', body)
    assert 'data-tries-left="5"' in clerk.get(f"/pickup/{ready.uid}/").content.decode()
    ready.refresh_from_db()
    assert (ready.state, ready.pickup_failures) == (State.READY_FOR_PICKUP, 0)


def test_no_proof_is_a_field_error(clerk, ready):
    response = clerk.post(f"/pickup/{ready.uid}/", {"method": "code", "code": ""})
    assert response.status_code == 400
    assert re.search(r'data-field-error="code">type the pickup code', response.content.decode())


def test_item_not_ready_cannot_be_handed_over(clerk, item):
    body = clerk.get(f"/pickup/{item.uid}/").content.decode()
    assert "cannot be handed over from this state" in body
    response = clerk.post(
        f"/pickup/{item.uid}/", {"method": "code", "code": pickup.pickup_code(item.uid)}
    )
    assert response.status_code == 400
    assert "cannot become picked_up" in response.content.decode()


def test_out_for_delivery_is_recorded_as_delivered(clerk, item):
    services.transition(SCREENER, item.uid, "cleared")
    services.transition(CLERK, item.uid, "out_for_delivery")
    assert "Confirm delivery" in clerk.get(f"/pickup/{item.uid}/").content.decode()
    clerk.post(f"/pickup/{item.uid}/", {"method": "code", "code": pickup.pickup_code(item.uid)})
    item.refresh_from_db()
    assert item.state == State.DELIVERED
