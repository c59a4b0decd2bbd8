"""The review flag a manager clears, and where the API says an item is once it has left."""

from __future__ import annotations

import pytest

from mailwarden.core import ledger
from mailwarden.core.errors import Conflict, Forbidden, ServiceError
from mailwarden.core.roles import Role
from mailwarden.custody import services
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from tests.custody_services.conftest import item_in
from tests.factories import CLERK, MANAGER


@pytest.fixture
def flagged(frozen_clock, site, ada) -> MailItem:
    return services.intake(
        CLERK,
        services.IntakeRequest(
            site=site.code,
            recipient_id=ada.pk,
            kind="parcel",
            tracking_number="1Z5R89390357567128",
            unverified_reason="label torn",
        ),
    )


def test_a_manager_clears_the_flag_and_the_ledger_keeps_it(flagged):
    assert flagged.review_reason
    with pytest.raises(Forbidden):
        services.clear_review(CLERK, flagged.uid)
    with pytest.raises(ServiceError) as long:
        services.clear_review(MANAGER, flagged.uid, "x" * 301)
    assert long.value.field == "note"
    cleared = services.clear_review(MANAGER, flagged.uid, "checked with UPS: label misprint")
    assert cleared.review_reason == ""
    [entry] = [
        e
        for e in ledger.entries_for("mailitem", flagged.uid)
        if e.action == "custody.item.review_cleared"
    ]
    data = ledger.entry_data(entry)
    assert "label torn" in data["review_reason"]
    assert data["reason"] == "checked with UPS: label misprint"
    assert entry.actor == MANAGER.label
    with pytest.raises(Conflict):
        services.clear_review(MANAGER, flagged.uid)


def test_the_item_page_offers_the_button_to_managers_only(console, flagged):
    page = console(Role.SECURITY_MANAGER).get(f"/items/{flagged.uid}/").content.decode()
    assert "Clear the review flag" in page
    assert (
        "Clear the review flag"
        not in console(Role.CLERK).get(f"/items/{flagged.uid}/").content.decode()
    )
    done = console(Role.SECURITY_MANAGER).post(
        f"/items/{flagged.uid}/review/clear/", {"note": "checked"}, follow=True
    )
    body = done.content.decode()
    assert "is no longer flagged for review" in body and "data-review-flag" not in body
    assert "Review flag cleared by a manager" in body  # the timeline's step


def test_the_api_clears_the_flag_for_managers(api, flagged):
    assert api(Role.CLERK).post(f"/api/items/{flagged.uid}/review/clear", {}).status_code == 403
    answer = api(Role.SECURITY_MANAGER).post(
        f"/api/items/{flagged.uid}/review/clear", {"note": "ok"}
    )
    assert answer.status_code == 200 and answer.json()["review_reason"] == ""
    again = api(Role.SECURITY_MANAGER).post(f"/api/items/{flagged.uid}/review/clear", {})
    assert again.status_code == 409


def test_the_api_gives_no_shelf_for_an_item_that_left(api, frozen_clock, site, ada):
    waiting = item_in(site, ada, State.READY_FOR_PICKUP)
    gone = item_in(site, ada, State.PICKED_UP)
    delivered = item_in(site, ada, State.DELIVERED)
    client = api(Role.CLERK)
    shelved = client.get(f"/api/items/{waiting.uid}").json()
    assert (shelved["location"], shelved["whereabouts"]) == ("shelf-a", "shelf-a")
    left = client.get(f"/api/items/{gone.uid}").json()
    assert (left["location"], left["location_name"]) == (None, None)
    assert left["whereabouts"] == "Picked up by the recipient"
    assert client.get(f"/api/items/{delivered.uid}").json()["whereabouts"] == (
        "Delivered to the recipient"
    )
