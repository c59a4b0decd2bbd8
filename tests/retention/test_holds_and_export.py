"""A legal hold on an item, or on an incident the item is linked to, stops its purge; released,
the next run purges. The custody export (JSON, PDF, API) of a purged item says plainly what was
purged, when and under which rule; only a security manager or an admin changes rules or holds."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from pypdf import PdfReader

from mailwarden.core import ledger, media
from mailwarden.core.errors import Conflict, Forbidden, ServiceError
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody import export
from mailwarden.custody.legal_holds import place_legal_hold, release_legal_hold
from mailwarden.custody.models import MailItem
from mailwarden.custody.retention import purge_content
from mailwarden.directory.retention import set_site_retention
from mailwarden.incidents.services import incidents, legal_holds
from tests.api.conftest import Api, token_for
from tests.factories import ADMIN, CLERK, MANAGER
from tests.retention.conftest import picked_up, png


def keep_30_days(site_code: str = "hq") -> None:
    set_site_retention(
        MANAGER, site_code, media_days=30, access_event_months=None, departed_person_days=None
    )


def purged(item: MailItem) -> bool:
    return MailItem.objects.get(pk=item.pk).content_purged_at is not None


def test_an_item_hold_stops_the_purge_and_its_release_lets_the_next_run_purge(
    committed, site, recipient, clock
):
    keep_30_days()
    item = picked_up(site, recipient)
    place_legal_hold(MANAGER, item.uid, "subpoena 2027-14")
    assert committed(purge_content, clock.advance(days=90)).subjects == []
    assert media.path_for(item.photo_sha256).exists() and not purged(item)
    held = MailItem.objects.get(pk=item.pk)
    assert (held.legal_hold_reason, held.legal_hold_by) == ("subpoena 2027-14", "user:manager")

    release_legal_hold(MANAGER, item.uid, "case settled")
    assert committed(purge_content, clock.advance(minutes=1)).subjects
    assert purged(item) and not media.path_for(item.photo_sha256).exists()
    actions = [e.action for e in ledger.entries_for("mailitem", item.uid)][-3:]
    assert actions == [
        "custody.legal_hold.placed",
        "custody.legal_hold.released",
        "custody.content.purged",
    ]
    assert ledger.verify().ok


def test_holds_are_refused_to_other_roles_and_without_a_reason(site, recipient):
    item = picked_up(site, recipient)
    with pytest.raises(Forbidden):
        place_legal_hold(CLERK, item.uid, "because")
    with pytest.raises(ServiceError) as refused:
        place_legal_hold(MANAGER, item.uid, "   ")
    assert refused.value.field == "reason"
    place_legal_hold(MANAGER, item.uid, "inquiry")
    with pytest.raises(Conflict):
        place_legal_hold(MANAGER, item.uid, "again")
    with pytest.raises(Forbidden):
        release_legal_hold(CLERK, item.uid, "done")


def open_incident_about(uid: str) -> int:
    incident = incidents.open_incident(
        ADMIN,
        incidents.OpenIncidentRequest(
            type="tampering_theft", severity=3, site="hq", title="Parcel opened in transit"
        ),
    )
    incidents.add_link(ADMIN, incident.pk, "item", uid)
    return incident.pk


def test_an_incident_hold_keeps_its_items_until_released(committed, site, recipient, clock):
    keep_30_days()
    linked = picked_up(site, recipient)
    other = picked_up(site, recipient)
    incident_id = open_incident_about(linked.uid)
    legal_holds.place_legal_hold(MANAGER, incident_id, "insurer's claim")

    run = committed(purge_content, clock.advance(days=31))
    assert [s.split(":")[0] for s in run.subjects] == [f"item {other.uid}"]
    assert not purged(linked)
    hold = export.custody_json(MailItem.objects.get(pk=linked.pk))["legal_hold"]
    assert hold["reason"].startswith("incident ") and "insurer's claim" in hold["reason"]

    with pytest.raises(Forbidden):
        legal_holds.release_legal_hold(CLERK, incident_id, "done")
    legal_holds.release_legal_hold(MANAGER, incident_id, "claim paid")
    run = committed(purge_content, clock.advance(minutes=1))
    assert [s.split(":")[0] for s in run.subjects] == [f"item {linked.uid}"]
    assert [e.action for e in ledger.entries_for("incident", str(incident_id))][-2:] == [
        "incidents.legal_hold.placed",
        "incidents.legal_hold.released",
    ]
    assert ledger.verify().ok


def pdf_text(data: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_custody_export_of_a_purged_item_names_what_when_and_the_rule(
    committed, site, recipient, clock
):
    keep_30_days()
    item = picked_up(site, recipient)
    committed(purge_content, clock.advance(days=31))
    stored = MailItem.objects.get(pk=item.pk)
    day = stored.content_purged_at.date().isoformat()
    rule = stored.content_purged_rule

    record = export.custody_json(stored)
    texts = [note["text"] for note in record["purged"]]
    assert texts == [
        f"Photo purged on {day} under the rule '{rule}'",
        f"Hand-over signature purged on {day} under the rule '{rule}'",
    ]
    assert record["purged"][0]["sha256"] == [item.photo_sha256]
    assert record["verification"]["ok"]

    text = " ".join(pdf_text(export.custody_pdf(stored)).split())
    assert f"Photo purged on {day}" in text
    assert "Hand-over signature purged on" in text
    assert "photos, signatures and X-ray images 30 days after the last step" in text


def staff_client(username: str, role: Role) -> Client:
    user = create_user(ADMIN, username, password="x", roles=[role.value], check_password=False)
    client = Client()
    client.force_login(user)
    return client


def test_the_item_page_says_purged_or_held_and_renders(committed, site, recipient, clock):
    keep_30_days()
    held = picked_up(site, recipient)
    gone = picked_up(site, recipient)
    place_legal_hold(MANAGER, held.uid, "police request 77")
    committed(purge_content, clock.advance(days=31))
    manager = staff_client("mona", Role.SECURITY_MANAGER)
    page = manager.get(f"/items/{gone.uid}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Photo purged on" in html and "Hand-over signature purged on" in html
    assert f"/items/{gone.uid}/photo/" not in html  # no broken image
    page = manager.get(f"/items/{held.uid}/")
    assert "Under a legal hold" in page.content.decode()
    assert "police request 77" in page.content.decode()
    assert "Release legal hold" in page.content.decode()
    clerk_page = staff_client("cleo", Role.CLERK).get(f"/items/{held.uid}/").content.decode()
    assert "Release legal hold" not in clerk_page


def test_the_console_places_a_hold_only_when_confirmed(site, recipient):
    item = picked_up(site, recipient)
    manager = staff_client("mona", Role.SECURITY_MANAGER)
    url = f"/items/{item.uid}/legal-hold/"
    refused = manager.post(url, {"reason": "inquiry"})
    assert refused.status_code == 400 and "tick the box to confirm" in refused.content.decode()
    assert not MailItem.objects.get(pk=item.pk).legally_held
    done = manager.post(url, {"reason": "inquiry", "confirm": "on"})
    assert done.status_code == 302 and MailItem.objects.get(pk=item.pk).legally_held
    clerk = staff_client("cleo", Role.CLERK)
    assert clerk.post(url, {"reason": "x", "confirm": "on", "release": "1"}).status_code == 403
    assert MailItem.objects.get(pk=item.pk).legally_held


def test_the_api_answers_and_refuses_by_role(committed, site, recipient, clock):
    item = picked_up(site, recipient)
    clerk, manager = Api(token_for(Role.CLERK)), Api(token_for(Role.SECURITY_MANAGER))
    rules = {"media_days": 30, "access_event_months": 6, "departed_person_days": None}

    assert clerk.put("/api/sites/hq/retention", rules).status_code == 403
    assert clerk.post(f"/api/items/{item.uid}/legal-hold", {"reason": "x"}).status_code == 403
    bad = manager.put("/api/sites/hq/retention", {**rules, "media_days": 0})
    assert bad.status_code == 422 and "media_days" in bad.content.decode()

    answer = manager.put("/api/sites/hq/retention", rules)
    assert answer.status_code == 200
    assert answer.json() == {"site": "hq", **rules, "own": True}
    assert clerk.get("/api/sites/hq/retention").json()["media_days"] == 30

    held = manager.post(f"/api/items/{item.uid}/legal-hold", {"reason": "audit"})
    assert held.status_code == 200 and held.json()["legal_hold"]["reason"] == "audit"
    released = manager.post(f"/api/items/{item.uid}/legal-hold/release", {"reason": "over"})
    assert released.json()["legal_hold"] is None

    committed(purge_content, clock.advance(days=31))
    body = clerk.get(f"/api/items/{item.uid}/retention").json()
    assert [note["content"] for note in body["purged"]] == ["Photo", "Hand-over signature"]
    assert "30 days after the last step" in body["purged"][0]["rule"]
    custody_json = json.loads(
        staff_client("cleo", Role.CLERK).get(f"/items/{item.uid}/custody.json").content
    )
    assert custody_json["purged"][0]["text"].startswith("Photo purged on")


def test_incident_holds_through_the_api_by_role(site, recipient):
    item = picked_up(site, recipient)
    incident_id = open_incident_about(item.uid)
    clerk = Api(token_for(Role.CLERK))
    operator = Api(token_for(Role.SECURITY_OPERATOR))
    manager = Api(token_for(Role.SECURITY_MANAGER))
    url = f"/api/incidents/{incident_id}/legal-hold"
    assert clerk.post(url, {"reason": "x"}).status_code == 403
    assert operator.post(url, {"reason": "x"}).status_code == 403
    empty = manager.post(url, {"reason": ""})
    assert empty.status_code == 422 and "reason" in empty.content.decode()
    held = manager.post(url, {"reason": "litigation"})
    assert held.status_code == 200 and held.json()["legal_hold_reason"] == "litigation"
    body = manager.get(f"/api/items/{item.uid}/retention").json()
    assert "litigation" in body["legal_hold"]["reason"]
    assert operator.post(f"{url}/release", {"reason": "over"}).status_code == 403
    released = manager.post(f"{url}/release", {"reason": "over"})
    assert released.json()["legal_hold_reason"] == ""
    assert manager.get(f"/api/items/{item.uid}/retention").json()["legal_hold"] is None


def test_a_photo_kept_as_incident_evidence_outlives_the_items_purge(
    committed, site, recipient, clock
):
    keep_30_days()
    photo = png(shade=3)
    item = picked_up(site, recipient, photo=photo)
    incident_id = open_incident_about(item.uid)
    incidents.add_evidence(ADMIN, incident_id, name="parcel.png", data=photo)
    run = committed(purge_content, clock.advance(days=31))
    assert [s.split(":")[0] for s in run.subjects] == [f"item {item.uid}"]
    assert item.photo_sha256 not in run.files
    assert media.path_for(item.photo_sha256).exists()


def test_the_photo_of_a_purged_item_answers_404_naming_the_rule(committed, site, recipient, clock):
    keep_30_days()
    item = picked_up(site, recipient)
    clerk = Api(token_for(Role.CLERK))
    assert clerk.get(f"/api/items/{item.uid}/photo").status_code == 200
    committed(purge_content, clock.advance(days=31))
    gone = clerk.get(f"/api/items/{item.uid}/photo")
    assert gone.status_code == 404 and "purged under the rule" in gone.content.decode()
