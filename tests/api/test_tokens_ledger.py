"""API tokens (admin only, secret shown once) and ledger verification."""

from __future__ import annotations

from datetime import timedelta

from mailwarden.contracts.events import LedgerVerifyFailed
from mailwarden.core import clock
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.core.roles import Role
from tests.api.conftest import Api, actor_label, assert_refused, snapshot
from tests.factories import intake


def test_issue_use_list_and_revoke_a_token(admin, site, recipient, frozen_clock):
    expires = (clock.now() + timedelta(days=30)).isoformat()
    issued = admin.post(
        "/api/tokens",
        {"name": "dock scanner", "role": "clerk", "device": "dock-1", "expires_at": expires},
    )
    assert issued.status_code == 201, issued.content
    body = issued.json()
    assert body["secret"].startswith(f"mw_{body['prefix']}_")
    assert (body["role"], body["device"], body["revoked_at"]) == ("clerk", "dock-1", None)

    scanner = Api(body["secret"])
    logged = scanner.post(
        "/api/items", {"site": site.code, "recipient_id": recipient.pk, "kind": "letter"}
    )
    assert logged.status_code == 201

    listed = {t["prefix"]: t for t in admin.get("/api/tokens").json()}
    assert "secret" not in listed[body["prefix"]]
    assert listed[body["prefix"]]["last_used_at"] is not None

    revoked = admin.delete(f"/api/tokens/{body['prefix']}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    assert_refused(scanner.get("/api/items"), 401, "Authorization")


def test_a_token_that_acts_for_a_person_is_theirs_to_issue(admin, employee):
    # Tokens people issue for themselves: tests/api/test_person_tokens.py.
    refused = admin.post(
        "/api/tokens", {"name": "script", "role": "recipient", "username": "employee"}
    )
    assert_refused(refused, 403, "username")
    assert employee.api.get("/api/items").status_code == 200


def test_token_refusals(admin, frozen_clock):
    before = snapshot()
    assert_refused(admin.post("/api/tokens", {"name": "x", "role": "king"}), 422, "role")
    assert_refused(admin.post("/api/tokens", {"name": "   ", "role": "clerk"}), 400, "name")
    assert_refused(
        admin.post("/api/tokens", {"name": "x", "role": "clerk", "username": "ghost"}),
        400,
        "username",
    )
    past = (clock.now() - timedelta(minutes=1)).isoformat()
    assert_refused(
        admin.post("/api/tokens", {"name": "x", "role": "clerk", "expires_at": past}),
        400,
        "expires_at",
    )
    assert_refused(
        admin.post(
            "/api/tokens", {"name": "x", "role": "clerk", "expires_at": "2030-01-01T00:00:00"}
        ),
        422,
        "expires_at",
    )
    assert_refused(
        admin.post(
            "/api/tokens",
            {"name": "x", "role": "clerk", "expires_at": "9999-12-31T23:59:00-23:00"},
        ),
        422,
        "expires_at",
    )
    assert_refused(admin.delete("/api/tokens/0123abcd"), 404, "prefix")
    assert_refused(admin.delete("/api/tokens/XYZ"), 422, "prefix")
    assert snapshot() == before


def test_ledger_verify_names_a_changed_entry(as_role, site, recipient):
    auditor = as_role(Role.AUDITOR)
    item = intake(site, recipient)
    assert auditor.get("/api/ledger/verify").json()["ok"] is True
    entry = LedgerEntry.objects.filter(subject_id=item.uid).order_by("seq").first()
    # Simulates tampering done behind the application's back, straight in the database.
    LedgerEntry.objects.filter(pk=entry.pk).update(body=entry.body.replace("parcel", "letter"))
    result = auditor.get("/api/ledger/verify").json()
    assert result["ok"] is False
    assert result["problem"].startswith(f"entry {entry.seq}: changed")
    # Whoever listens hears of it: one event per failed check, none for the check that passed.
    (row,) = OutboxEvent.objects.filter(topic=LedgerVerifyFailed.TOPIC)
    failed = LedgerVerifyFailed.model_validate(row.payload)
    assert (failed.source, failed.actor) == ("api", actor_label(auditor))
    assert (failed.problem_seq, failed.problem_kind) == (entry.seq, "changed")
    assert failed.head_hash == result["head_hash"]
