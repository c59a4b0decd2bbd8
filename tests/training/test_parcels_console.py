"""Test parcels in the console and the API: registering (twice, an unknown sign, a barcode intake
would refuse), withdrawing, the score sheet, who may see them (403 for clerks and screeners),
and that nothing in the custody or screening pages and API tells a clerk or a screener that an
item is a test parcel."""

from __future__ import annotations

import pytest
from django.test import Client

from mailwarden.core import outbox
from mailwarden.core.roles import Role
from mailwarden.custody import services as custody
from mailwarden.custody.models import MailItem
from mailwarden.screening import services as screening
from mailwarden.training.models import PlantedParcel, PlantedStatus
from mailwarden.training.services import parcels
from tests.api.conftest import Api, token_for
from tests.factories import VALID_UPS
from tests.training.parcels_fixtures import PLANTED, Mailroom, mailroom

pytestmark = pytest.mark.django_db

__all__ = ["mailroom"]

OTHER_UPS = "1Z999AA10123456784"
BASE = "/api/training/parcels"
# What would give the game away on a clerk's or a screener's screen.
TELLTALES = ("test parcel", "planted", "test_parcel", "/training/parcels")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def register(room: Mailroom, barcode: str = VALID_UPS) -> PlantedParcel:
    return parcels.register(
        room.actor(room.manager), barcode=barcode, site="hq", indicators=PLANTED
    )


def arrived(room: Mailroom, parcel: PlantedParcel) -> str:
    item = custody.intake(
        room.actor(room.clerk),
        custody.IntakeRequest(
            site="hq", recipient_id=room.recipient.pk, kind="parcel", tracking_number=VALID_UPS
        ),
    )
    outbox.dispatch_due()
    parcel.refresh_from_db()
    assert parcel.item_uid == item.uid
    return item.uid


# ----------------------------------------------------------------------------- registering


def test_a_manager_registers_a_parcel_in_the_console(mailroom: Mailroom):
    manager = signed_in(mailroom.manager)
    page = manager.get("/training/parcels/")
    assert page.status_code == 200
    assert "Register a test parcel" in page.content.decode()

    answer = manager.post(
        "/training/parcels/",
        {"barcode": VALID_UPS.lower(), "site": "hq", "indicators": PLANTED, "notes": "box"},
    )
    parcel = PlantedParcel.objects.get()
    assert answer.status_code == 302
    assert answer["Location"] == f"/training/parcels/{parcel.pk}/"
    detail = manager.get(answer["Location"]).content.decode()
    assert "On its way" in detail
    assert "Excessive tape or string" in detail
    assert "the high tier" in detail


def test_the_same_barcode_twice_is_refused_with_a_clear_message(mailroom: Mailroom):
    register(mailroom)
    manager = signed_in(mailroom.manager)
    page = manager.post(
        "/training/parcels/", {"barcode": VALID_UPS, "site": "hq", "indicators": PLANTED}
    )
    assert page.status_code == 400
    assert f"a test parcel with barcode {VALID_UPS} is registered already" in page.content.decode()

    api = Api(token_for(Role.SECURITY_MANAGER))
    answer = api.post(BASE, {"barcode": VALID_UPS, "site": "hq", "indicators": PLANTED})
    assert answer.status_code == 409
    assert answer.json()["field"] == "barcode"
    assert PlantedParcel.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"indicators": ["excessive-tape", "glitter"]}, "indicators.1", "unknown indicator"),
        ({"barcode": "PARCEL-42"}, "barcode", "intake would refuse this barcode"),
        ({"site": "nowhere"}, "site", "no site"),
    ],
)
def test_bad_registrations_name_the_field_and_change_nothing(
    mailroom: Mailroom, body, field, words
):
    api = Api(token_for(Role.SECURITY_MANAGER))
    answer = api.post(BASE, {"barcode": VALID_UPS, "site": "hq", "indicators": PLANTED, **body})
    assert answer.status_code in (400, 404)
    assert answer.json()["field"] == field
    assert words in answer.json()["message"]
    assert not PlantedParcel.objects.exists()


def test_the_expected_tier_follows_the_sites_screening_policy(mailroom: Mailroom):
    assert register(mailroom).expected_tier == "high"
    screening.update_policy(
        mailroom.actor(mailroom.manager),
        "hq",
        screening.PolicyUpdate(indicator_weights={"excessive-tape": 9}),
    )
    assert register(mailroom, OTHER_UPS).expected_tier == "critical"


def test_the_api_lists_registers_reads_and_withdraws(mailroom: Mailroom):
    api = Api(token_for(Role.SECURITY_MANAGER))
    created = api.post(BASE, {"barcode": OTHER_UPS, "site": "hq", "indicators": PLANTED[:1]})
    assert created.status_code == 201
    body = created.json()
    assert (body["barcode"], body["status"], body["expected_tier"]) == (
        OTHER_UPS,
        "registered",
        "elevated",
    )
    assert [p["id"] for p in api.get(BASE).json()] == [body["id"]]
    assert api.get(BASE, status="scored").json() == []
    assert api.get(f"{BASE}/{body['id']}").json()["indicators"] == PLANTED[:1]
    assert api.get(f"{BASE}/999999").status_code == 404
    assert api.get(f"{BASE}/results").json() == []

    refused = api.post(f"{BASE}/{body['id']}/withdraw", {"reason": "  "})
    assert refused.status_code in (400, 422)
    withdrawn = api.post(f"{BASE}/{body['id']}/withdraw", {"reason": "lost in the post"})
    assert withdrawn.json()["status"] == "withdrawn"
    again = api.post(f"{BASE}/{body['id']}/withdraw", {"reason": "twice"})
    assert again.status_code == 409


def test_a_parcel_that_arrived_cannot_be_withdrawn(mailroom: Mailroom):
    parcel = register(mailroom)
    arrived(mailroom, parcel)
    manager = signed_in(mailroom.manager)
    page = manager.post(f"/training/parcels/{parcel.pk}/withdraw/", {"reason": "changed mind"})
    assert page.status_code == 400
    assert "only one that has not arrived yet can be withdrawn" in page.content.decode()
    parcel.refresh_from_db()
    assert parcel.status == PlantedStatus.RECEIVED


def test_the_score_sheet_shows_what_was_hit_and_missed(mailroom: Mailroom):
    parcel = register(mailroom)
    uid = arrived(mailroom, parcel)
    screening.screen_item(
        mailroom.actor(mailroom.screener),
        uid,
        screening.Checklist(indicators=["excessive-tape"], seconds_on_item=30),
    )
    outbox.dispatch_due()

    page = signed_in(mailroom.auditor).get(f"/training/parcels/{parcel.pk}/").content.decode()
    assert 'data-passed="no"' in page
    assert "Restrictive markings, Excessive postage" in page  # missed, in the planted order
    assert "user:sam (decision" in page
    listing = Api(token_for(Role.AUDITOR)).get(f"{BASE}/results").json()
    assert listing == [
        {
            "site": "hq",
            "site_name": "Site hq",
            "scored": 1,
            "passed": 0,
            "flagged_at_intake": 0,
            "passed_share": 0.0,
        }
    ]


# ----------------------------------------------------------------------------- who sees them


@pytest.mark.parametrize("role", [Role.CLERK, Role.SCREENER, Role.RECIPIENT])
def test_the_people_measured_cannot_see_or_list_test_parcels(mailroom: Mailroom, role):
    parcel = register(mailroom)
    api = Api(token_for(role))
    assert api.get(BASE).status_code == 403
    assert api.get(f"{BASE}/{parcel.pk}").status_code == 403
    assert api.get(f"{BASE}/results").status_code == 403
    assert (
        api.post(BASE, {"barcode": OTHER_UPS, "site": "hq", "indicators": PLANTED}).status_code
        == 403
    )
    user = {Role.CLERK: mailroom.clerk, Role.SCREENER: mailroom.screener}.get(role)
    if user is not None:
        client = signed_in(user)
        assert client.get("/training/parcels/").status_code == 403
        assert client.get(f"/training/parcels/{parcel.pk}/").status_code == 403
        home = client.get("/").content.decode()
        assert "/training/parcels/" not in home  # not even in the menu


def test_an_auditor_reads_but_cannot_register_or_withdraw(mailroom: Mailroom):
    parcel = register(mailroom)
    auditor = signed_in(mailroom.auditor)
    page = auditor.get("/training/parcels/").content.decode()
    assert VALID_UPS in page
    assert "Register a test parcel" not in page
    assert auditor.post("/training/parcels/", {"barcode": OTHER_UPS}).status_code == 403
    assert (
        auditor.post(f"/training/parcels/{parcel.pk}/withdraw/", {"reason": "x"}).status_code == 403
    )
    api = Api(token_for(Role.AUDITOR))
    assert api.get(BASE).status_code == 200
    assert api.post(f"{BASE}/{parcel.pk}/withdraw", {"reason": "x"}).status_code == 403
    parcel.refresh_from_db()
    assert parcel.status == PlantedStatus.REGISTERED


def test_nothing_on_the_custody_or_screening_side_gives_a_test_parcel_away(mailroom: Mailroom):
    parcel = register(mailroom)
    uid = arrived(mailroom, parcel)
    pages = {
        mailroom.clerk: ["/", "/intake/", "/items/", f"/items/{uid}/"],
        mailroom.screener: ["/screening/", f"/screening/items/{uid}/"],
    }
    for user, paths in pages.items():
        client = signed_in(user)
        for path in paths:
            page = client.get(path)
            assert page.status_code == 200, path
            text = page.content.decode().lower()
            assert not [t for t in TELLTALES if t in text], path
    for role in (Role.CLERK, Role.SCREENER):
        api = Api(token_for(role))
        for path in (
            f"/api/items/{uid}",
            f"/api/items/{uid}/custody",
            f"/api/items/{uid}/screening",
        ):
            answer = api.get(path)
            assert answer.status_code == 200, path
            text = answer.content.decode().lower()
            assert not [t for t in TELLTALES if t in text], path


# ----------------------------------------------------------------------------- hand-over


def test_the_pickup_page_stops_a_test_parcel_with_the_message(mailroom: Mailroom):
    from mailwarden.custody import pickup

    parcel = register(mailroom)
    uid = arrived(mailroom, parcel)
    screening.screen_item(
        mailroom.actor(mailroom.screener), uid, screening.Checklist(indicators=[])
    )
    outbox.dispatch_due()
    custody.transition(mailroom.actor(mailroom.clerk), uid, "ready_for_pickup")
    before = MailItem.objects.get(uid=uid)

    page = signed_in(mailroom.clerk).post(
        f"/pickup/{uid}/", {"method": "code", "code": pickup.pickup_code(uid)}
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert "This is a test parcel planted by security" in text
    assert "take it to the security manager" in text
    after = MailItem.objects.get(uid=uid)
    assert (
        (after.state, after.version)
        == (before.state, before.version)
        == ("ready_for_pickup", before.version)
    )
    parcel.refresh_from_db()
    assert (parcel.status, parcel.stopped_by) == (PlantedStatus.STOPPED, "user:cleo")
    # The score it had stays on it.
    assert parcel.passed is False


def test_a_site_with_nothing_scored_has_no_pass_share():
    from mailwarden.training.queries.parcels import SiteResults

    assert SiteResults("hq", "Site hq", scored=0, passed=0, flagged=0).passed_share is None
    assert SiteResults("hq", "Site hq", scored=4, passed=3, flagged=1).passed_share == 0.75
