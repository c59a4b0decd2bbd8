"""A ledger written before actions were named ``<app>.<noun>.<verb>`` still reads correctly.

Entries are hash-chained and never rewritten, so an item taken in by an older release keeps the
old names on its first entries, and the current names on the ones written since. The timeline,
the export, the quarantine register and filters on an action read both (``ledger.LEGACY_ACTIONS``).
"""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from django.test import Client

from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody import export, pickup, services
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.directory.models import Location
from mailwarden.screening import queries as screening_queries
from tests.factories import ADMIN, CLERK, MANAGER, SCREENER

UID = "MW-0LD00001"


@pytest.fixture
def old_item(site, recipient, frozen_clock) -> MailItem:
    """An item logged, photographed, screened and quarantined by an older release: its row, and
    its entries as that release wrote them, under the old action names."""
    at = frozen_clock.current
    quarantine = Location.objects.get(site=site, code="quarantine")
    item = MailItem.objects.create(
        uid=UID,
        site=site,
        recipient=recipient,
        kind="parcel",
        tracking_number="OLD123",
        state=State.QUARANTINED,
        location=quarantine,
        received_at=at,
        state_changed_at=at,
        version=4,
    )
    old = [
        ledger.Record(
            "custody.intake",
            "mailitem",
            UID,
            {"tracking_number": "OLD123", "kind": "parcel", "location": "dock"},
        ),
        ledger.Record(
            "custody.transition",
            "mailitem",
            UID,
            {
                "from": "received",
                "to": "awaiting_screening",
                "location": "dock",
                "reason": "logged at intake",
            },
        ),
        ledger.Record("custody.photo", "mailitem", UID, {"photo_sha256": "ab" * 32}),
        ledger.Record(
            "screening.decision",
            "mailitem",
            UID,
            {"tier": "high", "reason": "high tier: quarantine"},
        ),
        ledger.Record(
            "custody.transition",
            "mailitem",
            UID,
            {
                "from": "awaiting_screening",
                "to": "quarantined",
                "location": "quarantine",
                "reason": "oily stain on the wrapping",
            },
        ),
    ]
    with transaction.atomic():
        ledger.append_many(Actor("user", "old-clerk"), old, at=at)
    return item


def test_the_quarantine_register_reads_an_old_transition(old_item):
    (row,) = screening_queries.quarantine_register()
    assert row.item.uid == UID
    assert row.reasons == ["oily stain on the wrapping"]


def test_an_old_item_goes_on_with_current_names_and_reads_as_one_history(
    old_item, site, frozen_clock
):
    frozen_clock.advance(minutes=10)
    services.two_person_quarantine_outcome(
        MANAGER, UID, "released", reason="harmless: olive oil", proposed_by="user:first-manager"
    )
    services.transition(CLERK, UID, "ready_for_pickup", reason="shelved")
    services.hand_over(CLERK, UID, method="code", proof=pickup.pickup_code(UID))

    entries = ledger.entries_for("mailitem", UID)
    assert [e.action for e in entries] == [
        "custody.intake",
        "custody.transition",
        "custody.photo",
        "screening.decision",
        "custody.transition",
        "custody.item.transitioned",
        "custody.item.transitioned",
        "custody.item.transitioned",
    ]
    assert [ledger.current_action(e.action) for e in entries] == [
        "custody.item.received",
        "custody.item.transitioned",
        "custody.item.photo_attached",
        "screening.decision.recorded",
        *["custody.item.transitioned"] * 4,
    ]
    # A filter on an action finds the entries of both names.
    transitions = LedgerEntry.objects.filter(
        subject_id=UID, action__in=ledger.stored_as("custody.item.transitioned")
    )
    assert transitions.count() == 5

    # The export: entries as stored (their hashes cover the old names), all intact.
    record = export.custody_json(MailItem.objects.get(uid=UID))
    assert [e["action"] for e in record["entries"]] == [e.action for e in entries]
    assert record["verification"]["ok"] is True
    html = " ".join(export.custody_html(MailItem.objects.get(uid=UID)).split())
    assert "Logged at intake" in html and "parcel, tracking OLD123" in html
    assert "Received → Awaiting screening" in html
    assert "Awaiting screening → Quarantined" in html
    assert "Quarantined → Released" in html
    assert "custody.transition" not in html and "custody.intake" not in html

    # The console timeline names each step in words, old entries as new.
    auditor = create_user(
        ADMIN, "audrey", password="x", roles=[Role.AUDITOR.value], check_password=False
    )
    client = Client()
    client.force_login(auditor)
    body = client.get(f"/items/{UID}/").content.decode()
    titles = re.findall(r'<div class="step-title">([^<]+)</div>', body)
    assert titles == [
        "Logged at intake",
        "Awaiting screening",
        "Photo attached",
        "Screening decision",
        "Quarantined",
        "Released from quarantine",
        "Ready for pickup",
        "Picked up",
    ]


def test_an_old_wrong_pickup_code_entry_keeps_its_title(site, recipient):
    item = services.intake(
        CLERK, services.IntakeRequest(site=site.code, recipient_id=recipient.pk, kind="letter")
    )
    with transaction.atomic():
        ledger.append(CLERK, "custody.pickup_code_failed", "mailitem", item.uid, {})
        ledger.append(CLERK, "custody.move", "mailitem", item.uid, {"location": "xray"})
    steps = export.custody_html(item)
    assert "Wrong pickup code" in steps and "Moved" in steps
    services.transition(SCREENER, item.uid, "cleared", reason="x-ray clear")
    assert LedgerEntry.objects.filter(
        subject_id=item.uid, action__in=ledger.stored_as("custody.item.moved")
    ).exists()
