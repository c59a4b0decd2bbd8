"""Hand-over needs proof: the item's code, its signed QR, or a real signature."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.db import connection

from mailwarden.core import ledger, media
from mailwarden.core.errors import ServiceError
from mailwarden.custody import pickup, services
from mailwarden.custody.models import MailItem
from mailwarden.custody.services import IllegalTransition
from mailwarden.custody.states import State
from tests.custody_services.conftest import item_in, png, snapshot
from tests.factories import CLERK, make_recipient, make_site


def wrong_code(uid: str) -> str:
    return str((int(pickup.pickup_code(uid)) + 1) % 10**pickup.CODE_DIGITS).zfill(
        pickup.CODE_DIGITS
    )


def data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_right_code_hands_over(site, recipient):
    item = item_in(site, recipient, State.READY_FOR_PICKUP)
    done = services.hand_over(CLERK, item.uid, method="code", proof=pickup.pickup_code(item.uid))
    assert done.state == State.PICKED_UP
    assert ledger.entry_data(ledger.entries_for("mailitem", item.uid)[-1])["method"] == "code"


@pytest.mark.django_db(transaction=True)
def test_wrong_code_is_refused_but_the_failure_is_committed():
    item = item_in(make_site(), make_recipient(), State.READY_FOR_PICKUP)
    with pytest.raises(ServiceError) as refused:
        services.hand_over(CLERK, item.uid, method="code", proof=wrong_code(item.uid))
    assert refused.value.field == "proof"
    assert "4 tries left" in refused.value.message
    # Autocommit mode here: what a fresh query sees was committed, not left in a transaction.
    assert connection.get_autocommit()
    stored = MailItem.objects.get(pk=item.pk)
    assert (stored.state, stored.pickup_failures) == (State.READY_FOR_PICKUP, 1)
    assert ledger.entries_for("mailitem", item.uid)[-1].action == "custody.pickup_code.rejected"
    assert ledger.verify().ok


@pytest.mark.parametrize(
    "typed",
    ["١٢٣٤٥٦", "12345é", "\uff11\uff12\uff13\uff14\uff15\uff16", "12 34 56", "1234567", "abcdef"],
)
def test_a_code_that_cannot_be_a_code_is_refused_without_using_a_try(site, recipient, typed):
    item = item_in(site, recipient, State.READY_FOR_PICKUP)
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.hand_over(CLERK, item.uid, method="code", proof=typed)
    assert (refused.value.field, refused.value.message) == (
        "proof",
        "a pickup code is 6 digits (0-9)",
    )
    assert snapshot() == before
    assert MailItem.objects.get(pk=item.pk).pickup_failures == 0
    # A non-ASCII string never reaches a comparison that would raise on it.
    assert not pickup.code_matches(item.uid, typed)


def test_code_locks_after_five_failures(site, recipient):
    item = item_in(site, recipient, State.READY_FOR_PICKUP)
    left = []
    for _ in range(pickup.MAX_CODE_FAILURES):
        with pytest.raises(ServiceError) as refused:
            services.hand_over(CLERK, item.uid, method="code", proof=wrong_code(item.uid))
        left.append(refused.value.message)
    assert left[-1] == "wrong pickup code; 0 tries left for this item"
    assert MailItem.objects.get(pk=item.pk).pickup_failures == pickup.MAX_CODE_FAILURES

    before = snapshot()
    with pytest.raises(ServiceError) as locked:
        services.hand_over(CLERK, item.uid, method="code", proof=pickup.pickup_code(item.uid))
    assert locked.value.field == "proof"
    assert "too many wrong codes" in locked.value.message
    assert snapshot() == before
    # The other proofs still work for the real recipient.
    done = services.hand_over(CLERK, item.uid, method="qr", proof=pickup.qr_token(item.uid))
    assert done.state == State.PICKED_UP


def test_qr_of_another_item_is_refused(site, recipient):
    item = item_in(site, recipient, State.READY_FOR_PICKUP)
    other = item_in(site, recipient, State.READY_FOR_PICKUP)
    before = snapshot()
    for proof in (pickup.qr_token(other.uid), pickup.qr_token(item.uid) + "x", "not a token"):
        with pytest.raises(ServiceError) as refused:
            services.hand_over(CLERK, item.uid, method="qr", proof=proof)
        assert refused.value.field == "proof"
    assert snapshot() == before
    assert (
        services.hand_over(CLERK, item.uid, method="qr", proof=pickup.qr_token(item.uid)).state
        == State.PICKED_UP
    )


@pytest.mark.parametrize(
    ("proof", "why"),
    [
        (data_url(png(200, 80, stroke=False)), "the signature is blank"),
        ("data:image/jpeg;base64,AAAA", "the signature must be a PNG data URL"),
        ("data:image/png;base64,@@@@", "the signature is not valid base64"),
        ("data:image/png;base64," + base64.b64encode(b"not a png").decode(), "not a readable"),
    ],
    ids=["blank", "not png", "bad base64", "not an image"],
)
def test_bad_signature_is_refused(site, recipient, proof, why):
    item = item_in(site, recipient, State.READY_FOR_PICKUP)
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.hand_over(CLERK, item.uid, method="signature", proof=proof, collected_by="Ada")
    assert refused.value.field == "signature"
    assert why in refused.value.message
    assert snapshot() == before


def test_signature_is_stored_and_its_hash_is_on_the_ledger(site, recipient):
    item = item_in(site, recipient, State.OUT_FOR_DELIVERY)
    signature = png(240, 90)
    done = services.hand_over(
        CLERK,
        item.uid,
        method="signature",
        proof=data_url(signature),
        collected_by="  Grace Hopper ",
        delivered=True,
    )
    assert done.state == State.DELIVERED
    data = ledger.entry_data(ledger.entries_for("mailitem", item.uid)[-1])
    digest = hashlib.sha256(signature).hexdigest()
    assert data["signature_sha256"] == digest
    assert data["collected_by"] == "Grace Hopper"
    assert media.get(digest) == signature


def test_signature_needs_the_signer_name(site, recipient):
    item = item_in(site, recipient, State.READY_FOR_PICKUP)
    with pytest.raises(ServiceError) as refused:
        services.hand_over(CLERK, item.uid, method="signature", proof=data_url(png(200, 80)))
    assert refused.value.field == "collected_by"


def test_hand_over_before_screening_is_illegal(site, recipient):
    item = item_in(site, recipient, State.AWAITING_SCREENING)
    with pytest.raises(IllegalTransition) as refused:
        services.hand_over(CLERK, item.uid, method="code", proof=pickup.pickup_code(item.uid))
    assert "is awaiting_screening" in refused.value.message
    assert MailItem.objects.get(pk=item.pk).pickup_failures == 0


def test_unknown_method_names_the_field(site, recipient):
    item = item_in(site, recipient, State.READY_FOR_PICKUP)
    with pytest.raises(ServiceError) as refused:
        services.hand_over(CLERK, item.uid, method="smile", proof="x")  # type: ignore[arg-type]
    assert refused.value.field == "method"
