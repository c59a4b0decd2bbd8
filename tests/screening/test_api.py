"""The screening API end to end, as people with their own tokens: scans, views, checklists,
the second screener, the quarantine register and the two-person outcome."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import MailItem
from tests.api.conftest import Api, assert_refused, token_for
from tests.factories import ADMIN
from tests.screening.conftest import encode, snapshot


def person(username: str, role: Role) -> Api:
    user = create_user(ADMIN, username, password="x", roles=[role.value], check_password=False)
    return Api(token_for(role, user))


@pytest.fixture
def people(db, settings) -> dict[str, Api]:
    # These people never sign in with their passwords; Argon2 would only slow the set-up.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return {
        "sam": person("sam", Role.SCREENER),
        "sky": person("sky", Role.SCREENER),
        "mona": person("mona", Role.SECURITY_MANAGER),
        "cleo": person("cleo", Role.CLERK),
        "rita": person("rita", Role.RECIPIENT),
    }


def tif(data: bytes, name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "image/tiff")


def png_size(response) -> tuple[int, int]:
    assert response["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(response.content)) as image:
        return image.size


def test_scan_upload_list_regions_and_views(people, item, clean_pair, colour_rgb):
    sam = people["sam"]
    response = sam.upload(
        f"/api/items/{item.uid}/scans",
        high=tif(clean_pair.high, "a_high.tif"),
        low=tif(clean_pair.low, "a_low.tif"),
    )
    assert response.status_code == 201, response.content
    scan = response.json()
    assert (scan["kind"], scan["width"], scan["height"]) == ("pair", 512, 384)
    assert "organic" in scan["views"]
    assert [s["id"] for s in sam.get(f"/api/items/{item.uid}/scans").json()] == [scan["id"]]
    assert sam.get(f"/api/scans/{scan['id']}/regions").json() == scan["regions"]
    assert png_size(sam.get(f"/api/scans/{scan['id']}/image.png")) == (512, 384)
    for name in ("organic", "high_penetration", "edge", "negative"):
        assert png_size(sam.get(f"/api/scans/{scan['id']}/view/{name}.png")) == (512, 384)
    thin = sam.get(f"/api/scans/{scan['id']}/view/variable_density.png", level=0.1)
    dense = sam.get(f"/api/scans/{scan['id']}/view/variable_density.png", level=0.9)
    assert thin.content != dense.content
    original = sam.get(f"/api/scans/{scan['id']}/files/high")
    assert original.content == clean_pair.high
    # a colour composite has no energies to separate
    colour = sam.upload(
        f"/api/items/{item.uid}/scans",
        image=SimpleUploadedFile("c.png", encode(colour_rgb, "PNG"), "image/png"),
    ).json()
    assert colour["views"] == ["pseudo", "edge", "negative"]
    assert_refused(sam.get(f"/api/scans/{colour['id']}/view/organic.png"), 400, "name")
    assert_refused(sam.get(f"/api/scans/{colour['id']}/view/sepia.png"), 422, "name")
    assert_refused(sam.get(f"/api/scans/{scan['id']}/files/image"), 404, "part")


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_bad_uploads_name_the_field_and_change_nothing(people, item, clean_pair):
    sam = people["sam"]
    before = snapshot()
    refused = sam.upload(f"/api/items/{item.uid}/scans", high=tif(clean_pair.high, "h.tif"))
    assert_refused(refused, 400, "low")
    refused = sam.upload(f"/api/items/{item.uid}/scans", image=tif(b"II*\x00broken", "x.tif"))
    assert_refused(refused, 400, "image")
    refused = sam.upload(f"/api/items/{item.uid}/scans", image=tif(b"a text file", "x.png"))
    body = assert_refused(refused, 400, "image")
    assert body["message"] == (
        "the file is not a readable image: it is not a TIFF, PNG, JPEG or BMP picture"
    )
    refused = sam.upload(
        "/api/items/MW-NOSUCH00/scans",
        high=tif(clean_pair.high, "h.tif"),
        low=tif(clean_pair.low, "l.tif"),
    )
    assert_refused(refused, 404, "uid")
    assert_refused(sam.post(f"/api/items/{item.uid}/scans", {}), 400, "image")
    refused = people["cleo"].upload(
        f"/api/items/{item.uid}/scans",
        high=tif(clean_pair.high, "h.tif"),
        low=tif(clean_pair.low, "l.tif"),
    )
    assert_refused(refused, 403, None)
    assert snapshot() == before


def test_checklist_second_screener_and_pending_queue(people, item):
    sam, sky = people["sam"], people["sky"]
    indicators = sam.get("/api/screening/indicators").json()
    assert len(indicators) == 19
    response = sam.post(
        f"/api/items/{item.uid}/screening",
        {
            "indicators": ["no-return-address", "misspelled-words"],
            "notes": "hand-written",
            "seconds_on_item": 35,
        },
    )
    assert response.status_code == 201, response.content
    decision = response.json()
    assert (decision["tier"], decision["status"], decision["screener"]) == (
        "elevated",
        "pending",
        "user:sam",
    )
    assert decision["seconds_on_item"] == 35
    assert [d["id"] for d in sky.get("/api/screening/pending").json()] == [decision["id"]]
    assert_refused(
        sam.post(f"/api/screening/decisions/{decision['id']}/confirm"), 403, "decision_id"
    )
    confirmed = sky.post(f"/api/screening/decisions/{decision['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.content
    assert (confirmed.json()["status"], confirmed.json()["item_state"]) == ("cleared", "cleared")
    history = sam.get(f"/api/items/{item.uid}/screening").json()
    assert [d["confirmed_by"] for d in history] == ["user:sky"]
    assert_refused(
        sam.post(f"/api/items/{item.uid}/screening", {"indicators": ["nope!"]}),
        422,
        "indicators.0",
    )
    assert_refused(
        sam.post(f"/api/items/{item.uid}/screening", {"seconds_on_item": -1}),
        422,
        "seconds_on_item",
    )


def test_policy_read_and_update(people, site):
    mona = people["mona"]
    policy = mona.get(f"/api/sites/{site.code}/screening-policy").json()
    assert (policy["version"], policy["actions"]["critical"]) == (0, "evacuate")
    response = mona.client.patch(
        f"/api/sites/{site.code}/screening-policy",
        '{"high_risk_departments": ["Executive Office"], "xray_tiers": {"knife": "critical"}}',
        content_type="application/json",
        headers=mona.headers,
    )
    assert response.status_code == 200, response.content
    assert response.json()["xray_tiers"]["knife"] == "critical"
    assert response.json()["high_risk_departments"] == ["Executive Office"]
    for caller, status, field in ((mona, 422, "elevated_at"), (people["sam"], 403, None)):
        # A screener is refused on the role before the body is read; the manager hears why.
        refused = caller.client.patch(
            f"/api/sites/{site.code}/screening-policy",
            '{"elevated_at": 0}',
            content_type="application/json",
            headers=caller.headers,
        )
        assert_refused(refused, status, field)


def test_quarantine_register_and_two_person_outcome(people, item, frozen_clock):
    sam, mona = people["sam"], people["mona"]
    sam.post(f"/api/items/{item.uid}/screening", {"indicators": ["protruding-wires"]})
    frozen_clock.advance(hours=3)
    register = sam.get("/api/quarantine").json()
    assert [(r["uid"], r["tier"], r["dwell"]) for r in register] == [
        (item.uid, "high", "3 h 0 min")
    ]
    proposed = sam.post(
        f"/api/items/{item.uid}/quarantine-outcome",
        {"outcome": "released", "reason": "wires were a phone charger"},
    )
    assert proposed.status_code == 201, proposed.content
    request_id = proposed.json()["id"]
    assert sam.get("/api/quarantine").json()[0]["request"]["status"] == "pending"
    assert_refused(sam.post(f"/api/quarantine/requests/{request_id}/confirm"), 403, None)
    confirmed = mona.post(f"/api/quarantine/requests/{request_id}/confirm")
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["confirmed_by"] == "user:mona"
    assert MailItem.objects.get(uid=item.uid).state == "released"
    assert sam.get("/api/quarantine").json() == []


def test_recipients_see_no_screening(people, item):
    rita = people["rita"]
    assert_refused(rita.get(f"/api/items/{item.uid}/scans"), 403, None)
    assert_refused(rita.get("/api/quarantine"), 403, None)
    assert_refused(rita.get("/api/screening/indicators"), 403, None)


def test_clearing_over_a_high_xray_finding_needs_confirm_findings(people, item, knife_pair):
    sam = people["sam"]
    uploaded = sam.upload(
        f"/api/items/{item.uid}/scans",
        high=tif(knife_pair.high, "k_high.tif"),
        low=tif(knife_pair.low, "k_low.tif"),
    )
    assert uploaded.status_code == 201, uploaded.content
    before = snapshot()
    refused = assert_refused(
        sam.post(f"/api/items/{item.uid}/screening", {"notes": "looks fine"}),
        400,
        "confirm_findings",
    )
    assert "high finding: knife" in refused["message"]
    assert "goes to quarantine" in refused["message"]
    assert snapshot() == before
    # With the finding confirmed, the policy decides: a knife quarantines the item.
    decided = sam.post(
        f"/api/items/{item.uid}/screening", {"notes": "seen it", "confirm_findings": True}
    )
    assert decided.status_code == 201, decided.content
    assert (decided.json()["tier"], decided.json()["item_state"]) == ("high", "quarantined")
