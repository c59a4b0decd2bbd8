"""Every role is refused somewhere it must not reach, and a refusal changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.core import clock
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user, issue_token, revoke_token
from tests.api.conftest import Api, assert_refused, snapshot, token_for
from tests.factories import ADMIN
from tests.factories import intake as intake_item


def intake_body(site, recipient):
    return {"site": site.code, "recipient_id": recipient.pk, "kind": "letter"}


@pytest.fixture
def item(site, recipient):
    return intake_item(site, recipient)


@pytest.mark.parametrize(
    "role", [Role.SCREENER, Role.AUDITOR, Role.SECURITY_OPERATOR, Role.RECIPIENT]
)
def test_only_clerks_and_managers_log_items(as_role, role, site, recipient):
    api = as_role(role)
    before = snapshot()
    body = assert_refused(api.post("/api/items", intake_body(site, recipient)), 403, None)
    assert "logging an item" in body["message"]
    assert snapshot() == before


def test_clerk_cannot_clear_an_item_or_issue_tokens(clerk, item):
    before = snapshot()
    body = assert_refused(clerk.post(f"/api/items/{item.uid}/screening", {}), 403, None)
    assert "screener" in body["message"]
    assert_refused(clerk.post("/api/tokens", {"name": "x", "role": "admin"}), 403, None)
    assert snapshot() == before


def test_auditor_reads_and_verifies_but_changes_nothing(as_role, item):
    auditor = as_role(Role.AUDITOR)
    before = snapshot()
    assert_refused(auditor.post(f"/api/items/{item.uid}/screening", {}), 403, None)
    assert_refused(
        auditor.post(f"/api/items/{item.uid}/move", {"location_code": "xray"}), 403, None
    )
    assert_refused(auditor.post("/api/sites", {"code": "x"}), 403, None)
    assert snapshot() == before
    verified = auditor.get("/api/ledger/verify")
    assert verified.status_code == 200
    assert verified.json()["ok"] is True
    assert auditor.get(f"/api/items/{item.uid}/custody").status_code == 200


def test_security_manager_cannot_issue_or_revoke_tokens(as_role):
    manager = as_role(Role.SECURITY_MANAGER)
    victim = issue_token(ADMIN, name="device", role="clerk").token
    before = snapshot()
    assert_refused(manager.post("/api/tokens", {"name": "x", "role": "admin"}), 403, None)
    assert_refused(manager.delete(f"/api/tokens/{victim.prefix}"), 403, None)
    assert_refused(manager.get("/api/tokens"), 403, None)
    assert snapshot() == before


def test_recipient_sees_only_their_own_items(employee, site, item):
    mine = intake_item(site, employee.recipient)
    listed = employee.api.get("/api/items").json()
    assert [i["uid"] for i in listed] == [mine.uid]
    assert employee.api.get("/api/items", recipient_id=item.recipient_id).json() == []
    assert employee.api.get(f"/api/items/{mine.uid}").status_code == 200
    assert_refused(employee.api.get(f"/api/items/{item.uid}"), 404, "uid")
    assert_refused(employee.api.get(f"/api/items/{item.uid}/custody"), 404, "uid")
    assert_refused(employee.api.get("/api/recipients"), 403, None)
    assert_refused(employee.api.get("/api/dashboard"), 403, None)
    assert_refused(employee.api.get(f"/api/items/{mine.uid}/label.png"), 403, None)


def test_recipient_cannot_log_items(employee, site):
    before = snapshot()
    assert_refused(
        employee.api.post("/api/items", intake_body(site, employee.recipient)), 403, None
    )
    assert snapshot() == before


def test_anonymous_and_bad_tokens_get_401(site, recipient, frozen_clock):
    issued = issue_token(ADMIN, name="soon gone", role="clerk")
    expiring = issue_token(
        ADMIN, name="short", role="clerk", expires_at=clock.now() + timedelta(hours=1)
    )
    revoke_token(ADMIN, issued.token.prefix)
    frozen_clock.advance(hours=2)
    before = snapshot()
    for api in (
        Api(None),
        Api(issued.secret),
        Api(expiring.secret),
        Api("mw_deadbeef_not-a-real-secret"),
        Api("nonsense"),
    ):
        assert_refused(api.get("/api/items"), 401, "Authorization")
        assert_refused(api.post("/api/items", intake_body(site, recipient)), 401, "Authorization")
    assert snapshot() == before


def test_console_session_is_accepted(db, site, recipient):
    user = create_user(ADMIN, "clerk1", password="x", roles=["clerk"], check_password=False)
    api = Api(None)
    api.client.force_login(user)
    before = snapshot()
    # A session is CSRF-checked, as the console's own HTMX calls are.
    refused = api.post("/api/items", intake_body(site, recipient))
    assert (refused.status_code, refused.json()["message"]) == (403, "CSRF check Failed")
    assert snapshot() == before
    api.client.get("/")  # the console page sets the CSRF cookie
    api.headers = {"X-CSRFToken": api.client.cookies["csrftoken"].value}
    response = api.post("/api/items", intake_body(site, recipient))
    assert response.status_code == 201, response.content
    assert api.get("/api/items").json()[0]["uid"] == response.json()["uid"]


def test_device_token_acts_as_its_device(db, site, recipient):
    secret = issue_token(ADMIN, name="dock scanner", role="clerk", device="dock-1").secret
    uid = Api(secret).post("/api/items", intake_body(site, recipient)).json()["uid"]
    chain = Api(token_for(Role.AUDITOR)).get(f"/api/items/{uid}/custody").json()
    assert chain[0]["actor"] == "device:dock-1"


# ----------------------------------------------------------------------------- roles before input


def test_a_refused_role_gets_403_before_its_body_is_read(clerk, site):
    """A clerk's malformed body to a manager's operation learns nothing of the schema."""
    before = snapshot()
    for path, body in (
        ("/api/sites", {"code": 5, "name": ["x"], "timezone": None, "surplus": 1}),
        (f"/api/sites/{site.code}/locations", {"kind": "roof"}),
        ("/api/recipients", {}),
        ("/api/tokens", {"role": "god"}),
        (f"/api/access/sites/{site.code}/doors", {"osdp_address": "x"}),
    ):
        refused = assert_refused(clerk.post(path, body), 403, None)
        assert "errors" not in refused
        assert "needs one of these roles" in refused["message"]
    # The same with a malformed path or query value: the role is checked first.
    assert_refused(clerk.delete(f"/api/access/sites/{site.code}/holidays/not-a-day"), 403, None)
    assert_refused(clerk.get("/api/access/log", limit="many"), 403, None)
    assert snapshot() == before


def test_a_refused_session_gets_403_before_its_body_is_read(site):
    from django.test import Client

    user = create_user(ADMIN, "cleo", password="x", roles=[Role.CLERK.value], check_password=False)
    client = Client()
    client.force_login(user)
    refused = client.post("/api/sites", {"code": 5}, content_type="application/json")
    assert_refused(refused, 403, None)


def test_an_allowed_role_still_hears_what_is_wrong_with_its_body(as_role):
    manager = as_role(Role.SECURITY_MANAGER)
    assert_refused(manager.post("/api/sites", {"code": 5}), 422, "code")


def test_every_api_operation_declares_who_may_call_it():
    from mailwarden.core.api import gate_of
    from mailwarden.core.plugins import api_routers

    undeclared = [
        f"{sorted(op.methods)} {path}"
        for router in api_routers()
        for path, view in router.path_operations.items()
        for op in view.operations
        if gate_of(op.view_func) is None
    ]
    assert undeclared == []
