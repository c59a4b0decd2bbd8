"""Items through the API: intake, search, transitions, moves, pickup, custody, labels, dashboard."""

from __future__ import annotations

import itertools

import pytest

from mailwarden.core.models import LedgerHead
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody import pickup
from mailwarden.custody.models import MailItem
from tests.api.conftest import Api, actor_label, assert_refused, snapshot, token_for
from tests.factories import ADMIN, VALID_UPS


@pytest.fixture
def sam(db) -> Api:
    """A screener whose token acts for a named person, as a screening decision needs."""
    user = create_user(
        ADMIN, "sam", password="x", roles=[Role.SCREENER.value], check_password=False
    )
    return Api(token_for(Role.SCREENER, user))


def clear(screener: Api, uid: str) -> dict:
    """Clear an item the only way there is: a screening decision on its checklist."""
    response = screener.post(f"/api/items/{uid}/screening", {"indicators": [], "notes": "x-ray"})
    assert response.status_code == 201, response.content
    decision = response.json()
    assert (decision["tier"], decision["item_state"]) == ("low", "cleared")
    return decision


def log(api, site, recipient, **fields):
    body = {"site": site.code, "recipient_id": recipient.pk, "kind": "parcel", **fields}
    response = api.post("/api/items", body)
    assert response.status_code == 201, response.content
    return response.json()


def test_intake_returns_the_item(clerk, site, recipient, frozen_clock):
    item = log(clerk, site, recipient, tracking_number="1z5r 8939 0357 5671 27", weight_g=900)
    assert item["state"] == "awaiting_screening"
    assert item["allowed_next"] == ["cleared", "quarantined"]
    assert (item["tracking_number"], item["carrier"]) == (VALID_UPS, "ups")
    assert (item["location"], item["weight_g"]) == ("dock", 900)
    assert item["recipient"]["id"] == recipient.pk
    assert item["received_at"].startswith("2026-03-02T09:00:00")
    assert MailItem.objects.filter(uid=item["uid"]).exists()


def test_a_rescanned_number_asks_for_confirmation(clerk, site, recipient, frozen_clock):
    first = log(clerk, site, recipient, tracking_number=VALID_UPS)
    before = snapshot()
    again = {"site": site.code, "recipient_id": recipient.pk, "kind": "parcel"}
    body = assert_refused(
        clerk.post("/api/items", {**again, "tracking_number": VALID_UPS}), 409, "tracking_number"
    )
    assert body["previous_uid"] == first["uid"]
    assert first["uid"] in body["message"]
    assert snapshot() == before
    second = log(clerk, site, recipient, tracking_number=VALID_UPS, confirm_duplicate=True)
    assert second["uid"] != first["uid"]


@pytest.mark.parametrize(
    ("change", "status", "field", "words"),
    [
        ({"kind": "crate"}, 422, "kind", "parcel"),
        ({"tracking_number": VALID_UPS[:-1] + "8"}, 400, "tracking_number", "check digit"),
        ({"recipient_id": 999_999}, 400, "recipient_id", "999999"),
        ({"recipient_id": 0}, 422, "recipient_id", "greater than"),
        ({"site": "elsewhere"}, 400, "site", "elsewhere"),
        ({"location_code": "roof"}, 400, "location_code", "roof"),
        ({"weight_g": -5}, 422, "weight_g", "greater than"),
        ({"sender": "A\x00B"}, 422, "sender", "U+0000"),
        ({"notes": "x" * 4001}, 422, "notes", "4000"),
    ],
)
def test_intake_refusals_name_the_field(clerk, site, recipient, change, status, field, words):
    before = snapshot()
    body = {"site": site.code, "recipient_id": recipient.pk, "kind": "parcel", **change}
    refusal = assert_refused(clerk.post("/api/items", body), status, field)
    assert words in refusal["message"]
    assert snapshot() == before


def test_search_and_read(clerk, site, recipient, frozen_clock):
    first = log(clerk, site, recipient, tracking_number=VALID_UPS)
    frozen_clock.advance(minutes=5)
    second = log(clerk, site, recipient, kind="letter")
    uids = [i["uid"] for i in clerk.get("/api/items").json()]
    assert uids == [second["uid"], first["uid"]]
    assert [i["uid"] for i in clerk.get("/api/items", q=VALID_UPS).json()] == [first["uid"]]
    assert [i["uid"] for i in clerk.get("/api/items", q=second["uid"].lower()).json()] == [
        second["uid"]
    ]
    assert len(clerk.get("/api/items", limit=1).json()) == 1
    assert clerk.get("/api/items", state="cleared").json() == []
    assert clerk.get("/api/items", site="hq", recipient_id=recipient.pk).status_code == 200
    assert clerk.get(f"/api/items/{first['uid']}").json()["uid"] == first["uid"]
    assert_refused(clerk.get("/api/items", state="lost"), 422, "state")
    assert_refused(clerk.get("/api/items", limit=500), 422, "limit")
    assert_refused(clerk.get("/api/items/MW-00000000"), 404, "uid")


def test_search_pages_on_with_before(clerk, employee, site, recipient, frozen_clock):
    # Items logged in the same instant are still ordered, so no page repeats or skips one.
    logged = []
    for n in range(7):
        logged.append(log(clerk, site, recipient)["uid"])
        if n % 3 == 2:
            frozen_clock.advance(minutes=1)
    newest_first = [i["uid"] for i in clerk.get("/api/items", limit=200).json()]
    assert sorted(newest_first) == sorted(logged)
    for query in ({}, {"q": recipient.last_name}):
        pages, before = [], None
        while True:
            params = {"limit": 3, **query, **({"before": before} if before else {})}
            page = [i["uid"] for i in clerk.get("/api/items", **params).json()]
            if not page:
                break
            pages.append(page)
            before = page[-1]
        assert [uid for page in pages for uid in page] == newest_first
        assert [len(page) for page in pages] == [3, 3, 1]
    assert_refused(clerk.get("/api/items", before="MW-00000000"), 400, "before")
    # An item the caller cannot see is no place to page from, and says nothing about it.
    assert_refused(employee.api.get("/api/items", before=logged[0]), 400, "before")


def test_the_life_of_an_item(clerk, sam, site, recipient, frozen_clock):
    uid = log(clerk, site, recipient)["uid"]
    clear(sam, uid)
    version = clerk.get(f"/api/items/{uid}").json()["version"]
    shelved = clerk.post(
        f"/api/items/{uid}/transition",
        {"state": "ready_for_pickup", "expected_version": version},
    ).json()
    assert (shelved["state"], shelved["location"]) == ("ready_for_pickup", "shelf-a")
    moved = clerk.post(f"/api/items/{uid}/move", {"location_code": "trolley", "reason": "full"})
    assert moved.json()["location"] == "trolley"
    handed = clerk.post(
        f"/api/items/{uid}/pickup",
        {"method": "code", "proof": pickup.pickup_code(uid), "collected_by": "Ada"},
    ).json()
    assert (handed["state"], handed["allowed_next"]) == ("picked_up", [])

    chain = clerk.get(f"/api/items/{uid}/custody").json()
    assert [e["action"] for e in chain] == [
        "custody.item.received",
        "custody.item.transitioned",
        "screening.decision.recorded",
        "custody.item.transitioned",
        "custody.item.transitioned",
        "custody.item.moved",
        "custody.item.transitioned",
    ]
    assert [e["data"].get("to") for e in chain if e["action"] == "custody.item.transitioned"] == [
        "awaiting_screening",
        "cleared",
        "ready_for_pickup",
        "picked_up",
    ]
    assert chain[-1]["data"]["method"] == "code"
    assert chain[-1]["hash"] == LedgerHead.objects.get().hash
    assert all(e["seq"] < f["seq"] for e, f in itertools.pairwise(chain))
    assert (chain[0]["actor"], chain[2]["actor"], chain[3]["actor"]) == (
        actor_label(clerk),
        "user:sam",
        "user:sam",
    )


def test_a_non_ascii_pickup_code_is_refused_not_a_500(clerk, sam, site, recipient):
    uid = log(clerk, site, recipient)["uid"]
    clear(sam, uid)
    clerk.post(f"/api/items/{uid}/transition", {"state": "ready_for_pickup"})
    before = snapshot()
    for typed in ("١٢٣٤٥٦", "12345é", "😀"):
        body = assert_refused(
            clerk.post(f"/api/items/{uid}/pickup", {"method": "code", "proof": typed}), 400, "proof"
        )
        assert body["message"] == "a pickup code is 6 digits (0-9)"
    assert snapshot() == before
    assert MailItem.objects.get(uid=uid).pickup_failures == 0


def test_transition_refusals_explain_the_state_machine(clerk, site, recipient):
    uid = log(clerk, site, recipient)["uid"]
    before = snapshot()
    body = assert_refused(
        clerk.post(f"/api/items/{uid}/transition", {"state": "ready_for_pickup"}), 409, "state"
    )
    assert "awaiting_screening" in body["message"]
    assert "cleared, quarantined" in body["message"]
    assert_refused(
        clerk.post(
            f"/api/items/{uid}/transition", {"state": "ready_for_pickup", "expected_version": 9}
        ),
        409,
        "expected_version",
    )
    assert_refused(clerk.post(f"/api/items/{uid}/transition", {"state": "gone"}), 422, "state")
    assert_refused(
        clerk.post(f"/api/items/{uid}/move", {"location_code": "roof"}), 400, "location_code"
    )
    assert_refused(
        clerk.post("/api/items/MW-00000000/transition", {"state": "ready_for_pickup"}), 404, "uid"
    )
    assert snapshot() == before


@pytest.mark.parametrize("state", ["cleared", "quarantined"])
def test_a_plain_transition_cannot_clear_or_quarantine(admin, screener, site, recipient, state):
    uid = log(admin, site, recipient)["uid"]
    before = snapshot()
    for api in (screener, admin):
        body = assert_refused(
            api.post(f"/api/items/{uid}/transition", {"state": state, "reason": "looked at it"}),
            400,
            "state",
        )
        assert f"POST /api/items/{uid}/screening" in body["message"]
    assert snapshot() == before


def test_pickup_refusals(clerk, sam, site, recipient):
    uid = log(clerk, site, recipient)["uid"]
    clear(sam, uid)
    clerk.post(f"/api/items/{uid}/transition", {"state": "ready_for_pickup"})
    before = snapshot()
    assert_refused(
        clerk.post(f"/api/items/{uid}/pickup", {"method": "qr", "proof": "forged"}), 400, "proof"
    )
    assert_refused(
        clerk.post(f"/api/items/{uid}/pickup", {"method": "face", "proof": "x"}), 422, "method"
    )
    assert_refused(
        clerk.post(
            f"/api/items/{uid}/pickup",
            {"method": "signature", "proof": "data:image/png;base64,AAAA", "collected_by": "A"},
        ),
        400,
        "signature",
    )
    assert snapshot() == before


def test_labels_and_dashboard(clerk, site, recipient, frozen_clock):
    uid = log(clerk, site, recipient, tracking_number=VALID_UPS)["uid"]
    png = clerk.get(f"/api/items/{uid}/label.png")
    assert (png.status_code, png["Content-Type"]) == (200, "image/png")
    assert png.content.startswith(b"\x89PNG")
    pdf = clerk.get(f"/api/items/{uid}/label.pdf")
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
    board = clerk.get("/api/dashboard").json()
    assert board["intake_today"] == 1
    assert board["by_state"]["awaiting_screening"] == 1


def test_custody_pdf(clerk, site, recipient):
    uid = log(clerk, site, recipient)["uid"]
    pdf = clerk.get(f"/api/items/{uid}/custody.pdf")
    assert (pdf.status_code, pdf["Content-Type"]) == (200, "application/pdf")
    assert pdf.content.startswith(b"%PDF")
