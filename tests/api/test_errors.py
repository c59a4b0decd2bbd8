"""Whatever goes wrong with a request, the answer is JSON with a message (never an HTML page)."""

from __future__ import annotations

from tests.api.conftest import assert_refused, snapshot


def test_unknown_api_paths_answer_in_json(admin):
    assert_refused(admin.get("/api/no/such/thing"), 404, None)
    assert_refused(admin.post("/api/items/MW-1/nowhere"), 404, None)


def test_a_wrong_method_answers_in_json_with_the_allowed_ones(admin):
    before = snapshot()
    response = admin.client.delete("/api/items", headers=admin.headers)
    body = assert_refused(response, 405, None)
    assert set(response["Allow"].split(", ")) == {"GET", "POST"}
    assert body["message"].startswith("DELETE is not allowed here; allowed: ")
    assert snapshot() == before


def test_malformed_bodies_are_refused(admin, site):
    before = snapshot()
    broken = admin.client.post(
        "/api/sites", "{not json", content_type="application/json", headers=admin.headers
    )
    assert_refused(broken, 400, None)
    multipart = admin.client.post(
        "/api/recipients/import",
        b"garbage",
        content_type="multipart/form-data; boundary=",
        headers=admin.headers,
    )
    assert_refused(multipart, 400, None)
    assert snapshot() == before


def test_an_oversized_body_is_refused(admin, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    before = snapshot()
    response = admin.post("/api/sites", {"code": "big", "name": "x" * 2000})
    assert_refused(response, 413, None)
    assert snapshot() == before


def test_validation_errors_list_every_field(admin):
    response = admin.post("/api/recipients", {"employee_id": "", "email": "nope"})
    body = assert_refused(response, 422, "employee_id")
    fields = {e["field"] for e in body["errors"]}
    assert fields == {"employee_id", "first_name", "last_name", "email"}
