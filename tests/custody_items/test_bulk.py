"""Bulk actions: each item its own ledger entry, one transaction, refusals named per item."""

from __future__ import annotations

import re

import pytest
from pypdf import PdfReader

from mailwarden.core import ledger
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.models import LedgerEntry, Notification
from mailwarden.core.roles import Role
from mailwarden.custody import bulk
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from tests.custody_services.conftest import item_in
from tests.factories import AUDITOR, CLERK, MANAGER


def entries(uid: str, action: str) -> list[dict]:
    return [
        ledger.entry_data(e)
        for e in ledger.entries_for("mailitem", uid)
        if ledger.current_action(e.action) == action
    ]


@pytest.fixture
def shelf(frozen_clock, site, ada, alan):
    """Two cleared items, one waiting for pickup, one already picked up."""
    return {
        "cleared_a": item_in(site, ada, State.CLEARED),
        "cleared_b": item_in(site, alan, State.CLEARED),
        "waiting": item_in(site, ada, State.READY_FOR_PICKUP),
        "gone": item_in(site, alan, State.PICKED_UP),
    }


def test_mark_ready_goes_for_the_ones_that_can_and_names_the_others(shelf):
    uids = [i.uid for i in shelf.values()]
    result = bulk.mark_ready(CLERK, uids)
    assert result.done == [shelf["cleared_a"].uid, shelf["cleared_b"].uid]
    skipped = {s.uid: s.reason for s in result.skipped}
    assert set(skipped) == {shelf["waiting"].uid, shelf["gone"].uid}
    assert "cannot become ready_for_pickup" in skipped[shelf["gone"].uid]
    for key in ("cleared_a", "cleared_b"):
        item = MailItem.objects.get(uid=shelf[key].uid)
        assert item.state == State.READY_FOR_PICKUP and item.location.code == "shelf-a"
        [entry] = [
            e
            for e in entries(item.uid, "custody.item.transitioned")
            if e["to"] == "ready_for_pickup"
        ]
        assert entry["reason"] == "marked ready with other items"
    assert MailItem.objects.get(uid=shelf["gone"].uid).state == State.PICKED_UP


def test_move_puts_each_at_its_sites_place_and_refuses_an_item_that_left(shelf):
    uids = [shelf["cleared_a"].uid, shelf["waiting"].uid, shelf["gone"].uid, "MW-NOTHERE1"]
    result = bulk.move(CLERK, uids, "trolley", "to floor 3")
    assert result.done == [shelf["cleared_a"].uid, shelf["waiting"].uid]
    skipped = {s.uid: s.reason for s in result.skipped}
    assert "has left the mailroom" in skipped[shelf["gone"].uid]
    assert skipped["MW-NOTHERE1"] == "no such item"
    for uid in result.done:
        [moved] = entries(uid, "custody.item.moved")
        assert (moved["location"], moved["reason"]) == ("trolley", "to floor 3")
    assert entries(shelf["gone"].uid, "custody.item.moved") == []
    nowhere = bulk.move(CLERK, [shelf["cleared_b"].uid], "attic")
    assert nowhere.done == [] and "no location 'attic'" in nowhere.skipped[0].reason


def test_reminders_go_to_waiting_items_only_each_a_message(
    shelf, django_capture_on_commit_callbacks
):
    waiting = shelf["waiting"].uid
    with django_capture_on_commit_callbacks():
        result = bulk.send_reminders(CLERK, [waiting, shelf["cleared_a"].uid])
    assert result.done == [waiting]
    assert "only an item waiting for pickup" in result.skipped[0].reason
    again = bulk.send_reminders(MANAGER, [waiting])
    assert again.done == [waiting]
    assert len(entries(waiting, "custody.reminder.sent")) == 2
    assert Notification.objects.filter(key__startswith=f"reminder:{waiting}").count() == 2
    assert MailItem.objects.get(uid=waiting).reminders_sent == 2


def test_one_transaction_and_roles(shelf):
    before = LedgerEntry.objects.count()
    with pytest.raises(Forbidden):
        bulk.mark_ready(AUDITOR, [shelf["cleared_a"].uid])
    with pytest.raises(ServiceError) as empty:
        bulk.mark_ready(CLERK, [])
    assert empty.value.field == "uids"
    with pytest.raises(ServiceError) as too_many:
        bulk.mark_ready(CLERK, [f"MW-{n:08d}" for n in range(bulk.MAX_SELECTION + 1)])
    assert "at most 500" in too_many.value.message
    assert LedgerEntry.objects.count() == before


def test_labels_are_one_pdf_with_a_page_each_and_recorded(shelf):
    uids = [shelf["cleared_a"].uid, shelf["waiting"].uid, "MW-NOTHERE1"]
    sheet = bulk.print_labels(AUDITOR, uids)
    assert sheet.printed == uids[:2]
    assert [s.uid for s in sheet.skipped] == ["MW-NOTHERE1"]
    reader = PdfReader(__import__("io").BytesIO(sheet.pdf))
    assert len(reader.pages) == 2
    text = reader.pages[0].extract_text()
    assert shelf["cleared_a"].uid in text and "Ada Byron" in text
    for uid in uids[:2]:
        assert entries(uid, "custody.label.printed") == [{"with": 2, "format": "pdf"}]


def test_the_console_confirms_then_acts_and_reports(console, shelf):
    client = console(Role.CLERK)
    uids = [shelf["cleared_a"].uid, shelf["cleared_b"].uid, shelf["gone"].uid]
    asked = client.post(
        "/items/bulk/", {"uid": uids, "action": "ready_for_pickup", "back": "carrier=none"}
    )
    body = asked.content.decode()
    assert asked.status_code == 200 and "data-bulk-confirm" in body
    assert "Mark ready for pickup: 3 items?" in body
    # Nothing changed yet.
    assert MailItem.objects.get(uid=uids[0]).state == State.CLEARED
    done = client.post(
        "/items/bulk/",
        {"uid": uids, "action": "ready_for_pickup", "confirmed": "on", "back": "carrier=none"},
    )
    body = done.content.decode()
    assert "2 done, 1 not" in body
    assert re.search(rf"{shelf['gone'].uid}</a>: {shelf['gone'].uid} is picked_up", body)
    assert 'href="/items/?carrier=none"' in body
    assert MailItem.objects.get(uid=uids[0]).state == State.READY_FOR_PICKUP


def test_the_console_names_what_is_missing(console, shelf):
    client = console(Role.CLERK)
    nothing = client.post("/items/bulk/", {"action": "move"})
    assert nothing.status_code == 400
    assert "tick at least one item first" in nothing.content.decode()
    no_place = client.post("/items/bulk/", {"uid": [shelf["cleared_a"].uid], "action": "move"})
    assert "choose the location to move the items to" in no_place.content.decode()
    pdf = client.post("/items/bulk/", {"uid": [shelf["cleared_a"].uid], "action": "labels"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    auditor = console(Role.AUDITOR)
    offered = auditor.get("/items/").content.decode()
    assert 'value="labels"' in offered and "Mark ready for pickup<" not in offered
    assert (
        'value="move">Move to a location' in console(Role.SCREENER).get("/items/").content.decode()
    )
    refused = auditor.post(
        "/items/bulk/",
        {"uid": [shelf["cleared_a"].uid], "action": "ready_for_pickup", "confirmed": "on"},
    )
    # Not offered to an auditor, so refused as a choice not on their list; the service would
    # refuse it too (test_one_transaction_and_roles).
    assert refused.status_code == 400
    assert "choose an action from the list" in refused.content.decode()
    assert MailItem.objects.get(uid=shelf["cleared_a"].uid).state == State.CLEARED


def test_the_api_runs_the_same_actions(api, shelf):
    client = api(Role.CLERK)
    answer = client.post(
        "/api/items/bulk",
        {
            "action": "move",
            "uids": [shelf["cleared_a"].uid, shelf["gone"].uid],
            "location_code": "trolley",
        },
    )
    assert answer.status_code == 200
    data = answer.json()
    assert data["done"] == [shelf["cleared_a"].uid]
    assert data["skipped"][0]["uid"] == shelf["gone"].uid
    bad = client.post("/api/items/bulk", {"action": "teleport", "uids": [shelf["cleared_a"].uid]})
    assert bad.status_code in (400, 422)
    assert (
        api(Role.AUDITOR)
        .post("/api/items/bulk", {"action": "remind", "uids": [shelf["waiting"].uid]})
        .status_code
        == 403
    )
    labels = api(Role.AUDITOR).post(
        "/api/items/labels.pdf", {"uids": [shelf["waiting"].uid, "MW-NOTHERE1"]}
    )
    assert labels.status_code == 200 and labels.content.startswith(b"%PDF")
    assert labels["X-Skipped-Items"] == "MW-NOTHERE1"
