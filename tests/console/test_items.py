"""Search, item detail with its custody timeline, and the actions allowed per role and state."""

from __future__ import annotations

import re

import pytest

from mailwarden.core.roles import Role
from mailwarden.custody import services
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from tests.factories import SCREENER, VALID_UPS, intake, make_recipient


def action_buttons(body: str) -> list[str]:
    head = body.split('<div class="actions">', 1)[1].split("</div>", 1)[0]
    return [
        b.strip().rstrip("…") for b in re.findall(r'class="btn btn-[a-z-]+"[^>]*>([^<]+)<', head)
    ]


def test_search_finds_by_uid_tracking_and_name_with_filters(as_role, site, recipient, item):
    other = intake(site, make_recipient(first_name="Alan", last_name="Turing"))
    client = as_role(Role.AUDITOR)

    def uids(**params):
        body = client.get("/items/", params, HTTP_HX_REQUEST="true").content.decode()
        return set(re.findall(r'class="uid" href="/items/([^/]+)/"', body))

    assert uids(q=item.uid.lower()) == {item.uid}
    assert uids(q=VALID_UPS) == {item.uid}
    assert uids(q="Turing") == {other.uid}
    assert uids() == {item.uid, other.uid}
    assert uids(state="awaiting_screening", site="hq") == {item.uid, other.uid}
    assert uids(state="cleared") == set()


def test_search_pages_through_results(as_role, site, recipient, monkeypatch):
    from mailwarden.custody import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    made = {intake(site, recipient).uid for _ in range(5)}
    client = as_role(Role.CLERK)
    seen: list[str] = []
    for page in (1, 2, 3):
        body = client.get("/items/", {"page": page}, HTTP_HX_REQUEST="true").content.decode()
        seen += re.findall(r'class="uid" href="/items/([^/]+)/"', body)
        assert ("Next" in body) == (page < 3)
    assert len(seen) == 5 and set(seen) == made


def test_search_page_without_htmx_is_the_whole_page(as_role, item):
    body = as_role(Role.CLERK).get("/items/", {"q": item.uid}).content.decode()
    assert "<html" in body and item.uid in body


def test_detail_shows_the_timeline_with_actor_place_and_hash(as_role, item):
    services.transition(SCREENER, item.uid, "cleared", reason="x-ray clear")
    body = as_role(Role.AUDITOR).get(f"/items/{item.uid}/").content.decode()
    titles = re.findall(r'<div class="step-title">([^<]+)</div>', body)
    assert titles == ["Logged at intake", "Awaiting screening", "Cleared"]
    assert "by screener" in body and "x-ray clear" in body
    hashes = re.findall(r"#(\d+) · ([0-9a-f]{12})", body)
    assert len(hashes) == 3
    # Times are shown in the site's zone (Europe/London in the test site).
    assert "Times in Europe/London" in body


def test_actions_offered_follow_role_and_state(as_role, item):
    # A screener decides at the screening workstation, which the item page links to.
    screener_page = as_role(Role.SCREENER).get(f"/items/{item.uid}/").content.decode()
    assert action_buttons(screener_page) == []
    assert f'href="/screening/items/{item.uid}/" data-screen-link' in screener_page
    assert action_buttons(as_role(Role.CLERK).get(f"/items/{item.uid}/").content.decode()) == []
    services.transition(SCREENER, item.uid, "cleared")
    assert action_buttons(
        as_role(
            Role.CLERK,
        )
        .get(f"/items/{item.uid}/")
        .content.decode()
    ) == [
        "Ready for pickup",
        "Out for delivery",
    ]
    assert action_buttons(as_role(Role.AUDITOR).get(f"/items/{item.uid}/").content.decode()) == []


@pytest.fixture
def clerk(as_role, db):
    return as_role(Role.CLERK)


def test_clear_then_ready_then_return_needs_confirmation_dialog(as_role, clerk, item):
    screener = as_role(Role.SCREENER)
    done = screener.post(f"/screening/items/{item.uid}/decide/", {"decision": "clear"})
    assert done.status_code == 302
    item.refresh_from_db()
    assert item.state == State.CLEARED
    clerk.post(
        f"/items/{item.uid}/transition/",
        {"target": "ready_for_pickup", "expected_version": item.version},
    )
    item.refresh_from_db()
    assert item.state == State.READY_FOR_PICKUP
    body = clerk.get(f"/items/{item.uid}/").content.decode()
    # Returning is final: the button opens a dialog that asks before anything is sent.
    assert 'data-open-dialog="dialog-returned"' in body
    assert re.search(r'<dialog id="dialog-returned".*?name="target" value="returned"', body, re.S)


def test_illegal_transition_shows_the_service_message_and_changes_nothing(clerk, item):
    response = clerk.post(
        f"/items/{item.uid}/transition/",
        {"target": "ready_for_pickup", "expected_version": item.version},
    )
    assert response.status_code == 409
    assert "cannot become ready_for_pickup" in response.content.decode()
    item.refresh_from_db()
    assert item.state == State.AWAITING_SCREENING


def test_clerk_cannot_clear(clerk, item):
    response = clerk.post(f"/screening/items/{item.uid}/decide/", {"decision": "clear"})
    assert response.status_code == 403
    assert "needs one of these roles" in response.content.decode()
    assert MailItem.objects.get(pk=item.pk).state == State.AWAITING_SCREENING


def test_quarantine_needs_a_reason(as_role, item):
    screener = as_role(Role.SCREENER)
    decide = f"/screening/items/{item.uid}/decide/"
    refused = screener.post(decide, {"decision": "quarantine", "quarantine_reason": " "})
    assert refused.status_code == 400
    assert "say why you suspect the item" in refused.content.decode()
    screener.post(
        decide, {"decision": "quarantine", "quarantine_reason": "oily stain, excessive tape"}
    )
    item.refresh_from_db()
    assert (item.state, item.location.code) == (State.QUARANTINED, "quarantine")


def test_stale_page_is_refused(as_role, item):
    services.transition(SCREENER, item.uid, "cleared")
    response = as_role(Role.CLERK).post(
        f"/items/{item.uid}/transition/",
        {"target": "ready_for_pickup", "expected_version": item.version},
    )
    assert response.status_code == 409
    assert "changed by someone else" in response.content.decode()


def test_move_records_the_new_place(clerk, item):
    response = clerk.post(
        f"/items/{item.uid}/move/", {"location_code": "xray", "reason": "to x-ray"}
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.location.code == "xray"
    body = clerk.get(f"/items/{item.uid}/").content.decode()
    assert "Moved" in body and "to x-ray" in body
    bad = clerk.post(f"/items/{item.uid}/move/", {"location_code": "nowhere"})
    assert bad.status_code == 400
    item.refresh_from_db()
    assert item.location.code == "xray"


def test_custody_record_exports(clerk, item):
    as_json = clerk.get(f"/items/{item.uid}/custody.json")
    assert as_json.status_code == 200 and as_json["Content-Type"] == "application/json"
    assert item.uid in as_json.content.decode()
    as_pdf = clerk.get(f"/items/{item.uid}/custody.pdf")
    assert as_pdf.status_code == 200 and as_pdf.content.startswith(b"%PDF")
