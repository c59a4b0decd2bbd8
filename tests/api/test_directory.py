"""Sites, locations, recipients (including CSV import and fuzzy matching) and carrier checks."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from mailwarden.custody.api import recipient_index
from mailwarden.directory.models import Recipient
from tests.api.conftest import assert_refused, snapshot
from tests.factories import VALID_UPS, make_recipient

CSV = (
    "employee_id,first_name,last_name,email,department,mail_stop\n"
    "E100,Grace,Hopper,grace@example.org,Research,B4-217\n"
    "E101,Alan,Turing,alan@example.org,Research,B4-218\n"
)


def test_sites_and_locations(admin, clerk):
    created = admin.post(
        "/api/sites", {"code": "north", "name": "North", "timezone": "Europe/Oslo"}
    )
    assert created.status_code == 201, created.content
    assert created.json() == {
        "code": "north",
        "name": "North",
        "timezone": "Europe/Oslo",
        "address": "",
    }
    loc = admin.post(
        "/api/sites/north/locations", {"code": "dock-1", "name": "Dock", "kind": "dock"}
    )
    assert loc.status_code == 201, loc.content
    assert clerk.get("/api/sites").json()[0]["code"] == "north"
    assert clerk.get("/api/sites/north/locations").json() == [
        {"code": "dock-1", "name": "Dock", "kind": "dock"}
    ]


def test_site_refusals_name_the_field_and_change_nothing(admin, site):
    before = snapshot()
    assert_refused(admin.post("/api/sites", {"code": "hq", "name": "Again"}), 409, "code")
    body = assert_refused(
        admin.post("/api/sites", {"code": "x", "timezone": "Mars/Olympus"}), 400, "timezone"
    )
    assert "Mars/Olympus" in body["message"]
    assert_refused(admin.post("/api/sites", {"code": "has space"}), 422, "code")
    assert_refused(
        admin.post("/api/sites/hq/locations", {"code": "l1", "kind": "attic"}), 422, "kind"
    )
    assert_refused(
        admin.post("/api/sites/hq/locations", {"code": "dock", "kind": "dock"}), 409, "code"
    )
    assert_refused(admin.get("/api/sites/nowhere/locations"), 404, "code")
    assert snapshot() == before


def test_recipients_create_list_and_page(admin, clerk):
    made = admin.post(
        "/api/recipients",
        {
            "employee_id": "E1",
            "first_name": "Grace",
            "last_name": "Hopper",
            "email": "g@example.org",
        },
    )
    assert made.status_code == 201, made.content
    assert made.json()["display_name"] == "Grace Hopper"
    for n in range(3):
        make_recipient(last_name=f"Zed{n}")
    assert [r["employee_id"] for r in clerk.get("/api/recipients", q="hopper").json()] == ["E1"]
    page = clerk.get("/api/recipients", limit=2, offset=1).json()
    assert [r["last_name"] for r in page] == ["Zed0", "Zed1"]


def test_recipient_refusals(admin, recipient):
    before = snapshot()
    base = {"employee_id": "E9", "first_name": "A", "last_name": "B", "email": "a@example.org"}
    assert_refused(admin.post("/api/recipients", {**base, "email": "not-mail"}), 422, "email")
    assert_refused(
        admin.post("/api/recipients", {**base, "employee_id": recipient.employee_id}),
        409,
        "employee_id",
    )
    assert_refused(
        admin.post("/api/recipients", {**base, "manager_employee_id": "NOBODY"}),
        400,
        "manager_employee_id",
    )
    assert_refused(admin.post("/api/recipients", {**base, "last_name": "x" * 81}), 422, "last_name")
    assert_refused(admin.get("/api/recipients", limit=0), 422, "limit")
    assert_refused(admin.get("/api/recipients", limit=201), 422, "limit")
    assert_refused(admin.get("/api/recipients", offset=-1), 422, "offset")
    assert_refused(admin.get("/api/recipients", limit="ten"), 422, "limit")
    assert snapshot() == before


def test_import_csv_as_text_body_then_as_upload(admin):
    response = admin.client.post(
        "/api/recipients/import", CSV, content_type="text/csv", headers=admin.headers
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 2, "updated": 0}
    upload = SimpleUploadedFile("people.csv", CSV.replace("B4-217", "C1").encode(), "text/csv")
    again = admin.upload("/api/recipients/import", file=upload)
    assert again.status_code == 200, again.content
    assert again.json() == {"created": 0, "updated": 2}
    assert Recipient.objects.get(employee_id="E100").mail_stop == "C1"


def test_import_refuses_the_whole_file_with_per_line_errors(admin):
    before = snapshot()
    bad = CSV + "E102,Ada,,ada@example.org,,\nE103,Edsger,Dijkstra,nope,,\n"
    response = admin.client.post(
        "/api/recipients/import", bad, content_type="text/csv", headers=admin.headers
    )
    body = assert_refused(response, 400, "last_name")
    assert [(e["line"], e["field"]) for e in body["errors"]] == [(4, "last_name"), (5, "email")]
    not_utf8 = admin.client.post(
        "/api/recipients/import", b"\xff\xfe", content_type="text/csv", headers=admin.headers
    )
    assert_refused(not_utf8, 400, "file")
    assert_refused(admin.post("/api/recipients/import", {"csv": CSV}), 400, "file")
    assert snapshot() == before


def test_match_ranks_candidates_and_sees_new_recipients(clerk):
    make_recipient(first_name="Grace", last_name="Hopper", mail_stop="B4-217")
    make_recipient(first_name="Alan", last_name="Turing")
    found = clerk.get("/api/recipients/match", q="Hoper, Grace").json()
    assert found[0]["recipient"]["last_name"] == "Hopper"
    assert 65 <= found[0]["score"] <= 100
    assert all(m["recipient"]["last_name"] != "Turing" for m in found)
    assert recipient_index() is recipient_index()
    make_recipient(first_name="Edsger", last_name="Dijkstra")
    assert (
        clerk.get("/api/recipients/match", q="Dijkstra").json()[0]["recipient"]["first_name"]
        == "Edsger"
    )
    assert_refused(clerk.get("/api/recipients/match"), 422, "q")


def test_carrier_detect(clerk):
    good = clerk.get("/api/carriers/detect", number=VALID_UPS.lower()).json()
    assert (good["carrier"], good["type"], good["valid"]) == ("ups", "ups", True)
    assert good["number"] == VALID_UPS
    bad = clerk.get("/api/carriers/detect", number=VALID_UPS[:-1] + "8").json()
    assert bad["valid"] is False
    assert "check digit" in bad["reason"]


def test_import_with_an_unknown_manager_names_the_line(admin):
    before = snapshot()
    text = "employee_id,first_name,last_name,email,manager_employee_id\nE1,A,B,a@example.org,E999\n"
    response = admin.client.post(
        "/api/recipients/import", text, content_type="text/csv", headers=admin.headers
    )
    body = assert_refused(response, 400, "manager_employee_id")
    assert body["errors"][0]["line"] == 2
    assert snapshot() == before


def test_import_refuses_values_longer_than_their_columns(admin):
    before = snapshot()
    text = "employee_id,first_name,last_name,email\nE1," + "A" * 100 + ",B,a@example.org\n"
    response = admin.client.post(
        "/api/recipients/import", text, content_type="text/csv", headers=admin.headers
    )
    assert_refused(response, 400, "first_name")
    assert snapshot() == before


def test_a_site_is_changed_and_departments_are_listed(admin, clerk, site):
    changed = admin.put(
        "/api/sites/hq", {"name": "Head office", "timezone": "Europe/Dublin", "address": "Quay"}
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["timezone"] == "Europe/Dublin"
    assert_refused(clerk.put("/api/sites/hq", {"name": "X", "timezone": "UTC"}), 403, None)
    assert_refused(admin.put("/api/sites/nowhere", {"name": "X", "timezone": "UTC"}), 404, "code")
    make_recipient(department="Research")
    make_recipient(department="research ")
    make_recipient(department="Legal")
    listed = clerk.get("/api/departments").json()
    assert [(d["name"], d["members"]) for d in listed] == [("Legal", 1), ("Research", 2)]
