"""POST /api/items/batch: every item checked and answered on its own, the valid ones written
together, each with its own ledger entries and events."""

from __future__ import annotations

from mailwarden.core import ledger
from mailwarden.core.models import OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from tests.api.conftest import snapshot
from tests.custody_batch.conftest import numbers
from tests.factories import CLERK, VALID_UPS, intake


def test_mixed_batch_writes_the_valid_items_and_reports_the_rest(clerk, site, recipient):
    good = numbers(3)
    body = {
        "items": [
            {
                "site": "hq",
                "recipient_id": recipient.pk,
                "kind": "parcel",
                "tracking_number": good[0],
            },
            {"site": "hq", "recipient_id": recipient.pk, "kind": "crate"},
            {"site": "hq", "recipient_id": recipient.pk, "kind": "letter"},
            {
                "site": "hq",
                "recipient_id": recipient.pk,
                "kind": "parcel",
                "tracking_number": "1Z999",
            },
            {"site": "nowhere", "recipient_id": recipient.pk, "kind": "letter"},
            {"site": "hq", "recipient_id": 999_999, "kind": "letter"},
            {
                "site": "hq",
                "recipient_id": recipient.pk,
                "kind": "parcel",
                "tracking_number": "1Z999",
                "unverified_reason": "torn label",
            },
            {
                "site": "hq",
                "recipient_id": recipient.pk,
                "kind": "parcel",
                "tracking_number": good[0],
            },
            {"site": "hq", "recipient_id": recipient.pk, "kind": "flat", "weight_g": 0},
            {
                "site": "hq",
                "recipient_id": recipient.pk,
                "kind": "parcel",
                "tracking_number": good[1],
            },
        ]
    }
    response = clerk.post("/api/items/batch", body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert [c["index"] for c in answer["created"]] == [0, 2, 6, 9]
    refused = {r["index"]: r for r in answer["refused"]}
    assert sorted(refused) == [1, 3, 4, 5, 7, 8]
    assert refused[1]["field"] == "kind"
    assert refused[3]["field"] == "tracking_number"
    assert refused[4] == {"index": 4, "field": "site", "message": "no site 'nowhere'"}
    assert refused[5]["field"] == "recipient_id"
    assert refused[7]["field"] == "tracking_number"
    assert "also item 0 of this batch" in refused[7]["message"]
    assert refused[8]["field"] == "weight_g"

    uids = [c["uid"] for c in answer["created"]]
    items = {i.uid: i for i in MailItem.objects.filter(uid__in=uids)}
    assert len(items) == 4 == MailItem.objects.count()
    assert all(i.state == State.AWAITING_SCREENING and i.version == 2 for i in items.values())
    assert items[uids[0]].carrier == "ups"
    assert items[uids[2]].review_reason.startswith("Tracking number logged unchecked")
    for uid in uids:
        actions = [e.action for e in ledger.entries_for("mailitem", uid)]
        assert actions == ["custody.item.received", "custody.item.transitioned"]
    topics = list(OutboxEvent.objects.values_list("topic", flat=True))
    assert topics.count("custody.item.received") == 4
    assert topics.count("custody.item.queued_for_screening") == 4
    assert ledger.verify().ok


def test_a_batch_entry_is_the_same_as_a_single_intakes(clerk, site, recipient, frozen_clock):
    number = numbers(1)[0]
    item = {"site": "hq", "recipient_id": recipient.pk, "kind": "parcel", "tracking_number": number}
    uid = clerk.post("/api/items/batch", {"items": [item]}).json()["created"][0]["uid"]
    entry = ledger.entries_for("mailitem", uid)[0]
    assert ledger.entry_data(entry) == {
        "tracking_number": number,
        "carrier": "ups",
        "kind": "parcel",
        "recipient": recipient.employee_id,
        "location": "dock",
        "photo_sha256": "",
        "duplicate_confirmed": False,
    }


def test_a_rescan_of_a_logged_number_is_refused_unless_confirmed(clerk, site, recipient):
    first = intake(site, recipient, tracking_number=VALID_UPS)
    item = {
        "site": "hq",
        "recipient_id": recipient.pk,
        "kind": "parcel",
        "tracking_number": VALID_UPS,
    }
    answer = clerk.post("/api/items/batch", {"items": [item]}).json()
    assert answer["created"] == []
    assert first.uid in answer["refused"][0]["message"]
    confirmed = {**item, "confirm_duplicate": True}
    assert len(clerk.post("/api/items/batch", {"items": [confirmed]}).json()["created"]) == 1


def test_a_thousand_items_go_in_one_request(clerk, site, recipient):
    items = [
        {"site": "hq", "recipient_id": recipient.pk, "kind": "parcel", "tracking_number": n}
        for n in numbers(1000)
    ]
    answer = clerk.post("/api/items/batch", {"items": items}).json()
    assert len(answer["created"]) == 1000 and answer["refused"] == []
    assert MailItem.objects.count() == 1000
    assert len({c["uid"] for c in answer["created"]}) == 1000
    assert ledger.verify().ok


def test_a_thousand_and_one_items_are_refused_whole(clerk, site, recipient):
    items = [{"site": "hq", "recipient_id": recipient.pk, "kind": "letter"}] * 1001
    before = snapshot()
    response = clerk.post("/api/items/batch", {"items": items})
    assert response.status_code == 422
    assert response.json()["field"] == "items"
    assert snapshot() == before


def test_an_empty_batch_is_refused(clerk, site):
    response = clerk.post("/api/items/batch", {"items": []})
    assert response.status_code == 422
    assert response.json()["field"] == "items"


def test_only_intake_roles_may_send_a_batch(as_role, site, recipient):
    body = {"items": [{"site": "hq", "recipient_id": recipient.pk, "kind": "letter"}]}
    for role in (Role.SCREENER, Role.AUDITOR, Role.RECIPIENT):
        api = as_role(role)
        before = snapshot()
        assert api.post("/api/items/batch", body).status_code == 403
        assert snapshot() == before
    assert as_role(Role.SECURITY_MANAGER).post("/api/items/batch", body).status_code == 200


def test_items_that_are_not_objects_are_refused_one_by_one(clerk, site, recipient):
    body = {
        "items": [
            {"kind": "letter"},
            {"site": "hq", "recipient_id": recipient.pk, "kind": "letter"},
        ]
    }
    answer = clerk.post("/api/items/batch", body).json()
    assert [c["index"] for c in answer["created"]] == [1]
    assert answer["refused"][0]["index"] == 0
    assert answer["refused"][0]["field"] in {"site", "recipient_id"}


def test_the_service_refuses_a_clerkless_actor(site, recipient):
    from mailwarden.core.actor import Actor
    from mailwarden.core.errors import Forbidden
    from mailwarden.custody import batch, services

    req = services.IntakeRequest(site="hq", recipient_id=recipient.pk, kind="letter")
    reader = Actor("user", "auditor", frozenset({Role.AUDITOR}))
    try:
        batch.intake_batch(reader, [(0, req)])
    except Forbidden:
        pass
    else:
        raise AssertionError("an auditor logged items")
    assert len(batch.intake_batch(CLERK, [(0, req)]).created) == 1


def test_a_batch_item_row_is_a_single_intakes_row(clerk, site, recipient, frozen_clock):
    from django.forms.models import model_to_dict

    from mailwarden.custody.models import MailItem

    one, two = numbers(2)
    base = {"site": "hq", "recipient_id": recipient.pk, "kind": "parcel", "sender": "Acme"}
    single = clerk.post("/api/items", {**base, "tracking_number": one}).json()["uid"]
    batched = clerk.post("/api/items/batch", {"items": [{**base, "tracking_number": two}]})
    uid = batched.json()["created"][0]["uid"]
    differ = {"id", "uid", "tracking_number"}
    rows = [
        {k: v for k, v in model_to_dict(MailItem.objects.get(uid=u)).items() if k not in differ}
        for u in (single, uid)
    ]
    assert rows[0] == rows[1]
    # Every column, those intake never sets included, holds what the model gives a new item.
    assert MailItem.objects.get(uid=uid).legal_hold_reason == ""
