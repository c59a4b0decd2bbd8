"""Site mail holds through the API: placing, listing and releasing them by role, and a pickup
refused (409, naming the hold) while one stands at the item's site."""

from __future__ import annotations

import pytest

from mailwarden.core.roles import Role
from mailwarden.custody import pickup
from mailwarden.custody.models import MailItem, SiteMailHold
from tests.api.conftest import Api, assert_refused, token_for
from tests.custody_services.conftest import item_in
from tests.factories import make_recipient, make_site

pytestmark = pytest.mark.django_db


def api(role: Role) -> Api:
    return Api(token_for(role))


def test_a_hold_stops_pickups_at_its_site_until_released(frozen_clock):
    from mailwarden.custody.states import State

    site, other = make_site("hq"), make_site("annex")
    item = item_in(site, make_recipient(), State.READY_FOR_PICKUP)
    elsewhere = item_in(other, make_recipient(), State.READY_FOR_PICKUP)
    assert_refused(
        api(Role.SCREENER).post("/api/site-holds", {"site": "hq", "reason": "x"}), 403, None
    )
    placed = api(Role.CLERK).post("/api/site-holds", {"site": "hq", "reason": "leaking parcel"})
    assert placed.status_code == 201, placed.content
    hold = placed.json()
    assert (hold["site"], hold["reason"], hold["active"]) == ("hq", "leaking parcel", True)
    assert [h["id"] for h in api(Role.AUDITOR).get("/api/site-holds").json()] == [hold["id"]]

    clerk = api(Role.CLERK)
    proof = {"method": "code", "proof": pickup.pickup_code(item.uid)}
    refused = assert_refused(clerk.post(f"/api/items/{item.uid}/pickup", proof), 409, "uid")
    assert f"hold {hold['id']}: leaking parcel" in refused["message"]
    assert MailItem.objects.get(pk=item.pk).pickup_failures == 0
    # Another site's items are not held.
    done = clerk.post(
        f"/api/items/{elsewhere.uid}/pickup",
        {"method": "code", "proof": pickup.pickup_code(elsewhere.uid)},
    )
    assert done.json()["state"] == "picked_up"

    release = f"/api/site-holds/{hold['id']}/release"
    assert_refused(api(Role.SECURITY_OPERATOR).post(release, {}), 403, None)
    released = api(Role.SECURITY_MANAGER).post(release, {"reason": "all clear"}).json()
    assert (released["active"], released["release_reason"]) == (False, "all clear")
    assert_refused(api(Role.SECURITY_MANAGER).post(release, {}), 409, "hold_id")
    assert api(Role.AUDITOR).get("/api/site-holds").json() == []
    assert len(api(Role.AUDITOR).get("/api/site-holds", all="true").json()) == 1
    assert clerk.post(f"/api/items/{item.uid}/pickup", proof).json()["state"] == "picked_up"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"site": "hq", "reason": ""}, 422, "reason"),
        ({"site": "nowhere", "reason": "x"}, 404, "site"),
        ({"site": "hq", "reason": "x" * 301}, 422, "reason"),
    ],
)
def test_bad_holds_name_the_field(body, status, field):
    make_site("hq")
    assert_refused(api(Role.SECURITY_MANAGER).post("/api/site-holds", body), status, field)


@pytest.mark.postgres
@pytest.mark.parametrize("attempt", range(5))
def test_a_hold_and_a_pickup_at_once_never_overlap(pg, attempt):
    """Either the pickup commits before the hold (and comes first on the ledger), or it is
    refused: an item never leaves after its site's hold was placed."""
    from mailwarden.core.models import LedgerEntry
    from mailwarden.custody import holds, services
    from mailwarden.custody.states import State
    from tests.conftest import race
    from tests.factories import CLERK, MANAGER

    site = make_site()
    item = item_in(site, make_recipient(), State.READY_FOR_PICKUP)
    results = race(
        lambda: services.hand_over(
            CLERK, item.uid, method="code", proof=pickup.pickup_code(item.uid)
        ),
        lambda: holds.place_site_hold(MANAGER, site.code, reason="suspect parcel"),
    )
    assert isinstance(results[1], SiteMailHold)
    placed = LedgerEntry.objects.get(action="custody.site_hold.placed")
    if isinstance(results[0], MailItem):
        handed = LedgerEntry.objects.filter(
            action="custody.item.transitioned", subject_id=item.uid
        ).latest("seq")
        assert handed.seq < placed.seq
    else:
        assert isinstance(results[0], holds.SiteHeld)
        assert MailItem.objects.get(pk=item.pk).state == State.READY_FOR_PICKUP
