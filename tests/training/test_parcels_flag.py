"""The clerk's "looks suspicious — screen first" flag at intake: set from the console and the
API, kept on the item and its intake entry, shown and sorted first in the screening queue, and
read by the test-parcel score as ``flagged_at_intake``."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from mailwarden.core import ledger
from mailwarden.core.roles import Role
from mailwarden.custody import services as custody
from mailwarden.custody.models import MailItem
from tests.api.conftest import Api, token_for
from tests.factories import CLERK, VALID_UPS
from tests.training.parcels_fixtures import Mailroom, mailroom

pytestmark = pytest.mark.django_db

__all__ = ["mailroom"]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def log_it(room: Mailroom, *, suspicious: bool) -> MailItem:
    return custody.intake(
        CLERK,
        custody.IntakeRequest(
            site="hq", recipient_id=room.recipient.pk, kind="parcel", suspicious=suspicious
        ),
    )


def test_the_clerk_flags_an_item_in_the_intake_form(mailroom: Mailroom):
    clerk = signed_in(mailroom.clerk)
    form = clerk.get("/intake/").content.decode()
    assert "Looks suspicious — screen first" in form
    answer = clerk.post(
        "/intake/",
        {
            "site": "hq",
            "tracking_number": VALID_UPS,
            "recipient_id": str(mailroom.recipient.pk),
            "recipient_query": mailroom.recipient.display_name,
            "kind": "parcel",
            "suspicious": "on",
        },
    )
    assert answer.status_code == 200
    item = MailItem.objects.get()
    assert item.flagged is True
    [received] = [
        e for e in ledger.entries_for("mailitem", item.uid) if e.action == "custody.item.received"
    ]
    assert ledger.entry_data(received)["flagged"] is True


def test_the_api_takes_the_flag_and_shows_it(mailroom: Mailroom):
    api = Api(token_for(Role.CLERK))
    body = {"site": "hq", "recipient_id": mailroom.recipient.pk, "kind": "letter"}
    flagged = api.post("/api/items", {**body, "suspicious": True})
    plain = api.post("/api/items", body)
    assert (flagged.status_code, plain.status_code) == (201, 201)
    assert flagged.json()["flagged"] is True
    assert plain.json()["flagged"] is False
    assert api.get(f"/api/items/{flagged.json()['uid']}").json()["flagged"] is True


def test_flagged_items_come_first_in_the_screening_queue(mailroom: Mailroom, frozen_clock):
    older = log_it(mailroom, suspicious=False)
    frozen_clock.advance(minutes=10)
    flagged = log_it(mailroom, suspicious=True)
    body = signed_in(mailroom.screener).get("/screening/").content.decode()
    table = re.search(r'data-queue="first">(.*?)</table>', body, re.S)
    assert table is not None
    assert re.findall(r'<tr data-uid="([^"]+)"', table.group(1)) == [flagged.uid, older.uid]
    assert body.count("Flagged at intake") == 1
