"""The People endpoints: list, create, details, roles, deactivate, lockout, two-factor reset;
administrators only, every change on the ledger."""

from __future__ import annotations

from django.test import Client

from mailwarden.core import services
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerEntry
from mailwarden.core.roles import Role
from tests.api.conftest import Api, assert_refused, snapshot, token_for
from tests.factories import ADMIN

PASSWORD = "Correct-Horse-9-Battery"


def test_an_admin_runs_people_through_the_api(admin, db, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    made = admin.post(
        "/api/users",
        {"username": "cleo", "password": PASSWORD, "roles": ["clerk"], "first_name": "Cleo"},
    )
    assert made.status_code == 201, made.content
    assert made.json()["roles"] == ["clerk"] and made.json()["is_active"] is True
    assert [u["username"] for u in admin.get("/api/users").json()] == ["cleo"]

    changed = admin.patch("/api/users/cleo", {"email": "cleo@example.org"})
    assert changed.status_code == 200, changed.content
    assert (changed.json()["email"], changed.json()["first_name"]) == ("cleo@example.org", "Cleo")

    roles = admin.put("/api/users/cleo/roles", {"roles": ["clerk", "screener"]})
    assert roles.json()["roles"] == ["screener", "clerk"]

    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "cleo", "password": "wrong"})
    assert admin.get("/api/users/cleo").json()["locked_out"] is True
    cleared = admin.delete("/api/users/cleo/lockout")
    assert cleared.status_code == 200, cleared.content
    assert (cleared.json()["locked_out"], cleared.json()["failed_sign_ins"]) == (False, 0)
    assert_refused(admin.delete("/api/users/cleo/lockout"), 409, "username")
    assert_refused(admin.delete("/api/users/cleo/mfa"), 409, "username")

    deactivated = admin.post("/api/users/cleo/deactivate", {"reason": "left"})
    assert deactivated.json()["is_active"] is False
    assert admin.post("/api/users/cleo/reactivate").json()["is_active"] is True

    actions = list(
        LedgerEntry.objects.filter(subject_type="user", subject_id="cleo")
        .exclude(action="core.user.sign_in_failed")
        .exclude(action="core.user.locked_out")
        .values_list("action", flat=True)
    )
    assert actions == [
        "core.user.created",
        "core.user.updated",
        "core.user.roles_changed",
        "core.user.lockout_cleared",
        "core.user.deactivated",
        "core.user.reactivated",
    ]


def test_people_endpoints_are_for_admins_only(as_role, db):
    services.create_user(ADMIN, "cleo", password="x", roles=["clerk"], check_password=False)
    manager = as_role(Role.SECURITY_MANAGER)
    before = snapshot()
    assert_refused(manager.get("/api/users"), 403, None)
    assert_refused(manager.get("/api/users/cleo"), 403, None)
    assert_refused(
        manager.post("/api/users", {"username": "x", "password": PASSWORD, "roles": ["admin"]}),
        403,
        None,
    )
    assert_refused(manager.patch("/api/users/cleo", {"email": "a@b.c"}), 403, None)
    assert_refused(manager.put("/api/users/cleo/roles", {"roles": ["admin"]}), 403, None)
    assert_refused(manager.post("/api/users/cleo/deactivate", {}), 403, None)
    assert_refused(manager.post("/api/users/cleo/reactivate"), 403, None)
    assert_refused(manager.delete("/api/users/cleo/lockout"), 403, None)
    assert_refused(manager.delete("/api/users/cleo/mfa"), 403, None)
    assert snapshot() == before


def test_a_refused_role_sees_no_schema_details(as_role, db):
    manager = as_role(Role.SECURITY_MANAGER)
    assert_refused(manager.post("/api/users", {"username": 7}), 403, None)
    assert_refused(manager.put("/api/users/cleo/roles", {"roles": ["king"]}), 403, None)


def test_bad_people_requests_name_the_field(admin, db):
    assert_refused(admin.get("/api/users/ghost"), 404, "username")
    assert_refused(
        admin.post("/api/users", {"username": "x y", "password": PASSWORD, "roles": []}),
        422,
        "username",
    )
    assert_refused(admin.put("/api/users/ghost/roles", {"roles": ["clerk"]}), 404, "username")
    assert_refused(
        admin.post("/api/users", {"username": "x", "password": PASSWORD, "roles": ["king"]}),
        422,
        "roles.0",
    )
    assert_refused(
        admin.post("/api/users", {"username": "x", "password": "1", "roles": []}), 400, "password"
    )


def test_a_persons_own_admin_token_cannot_deactivate_them(db):
    ada = services.create_user(ADMIN, "ada", password="x", roles=["admin"], check_password=False)
    services.create_user(ADMIN, "bob", password="x", roles=["admin"], check_password=False)
    api = Api(token_for(Role.ADMIN, ada))
    assert_refused(api.post("/api/users/ada/deactivate", {}), 403, "username")
    assert_refused(api.delete("/api/users/ada/mfa"), 403, "username")
    assert Actor.for_user(ada).person_id == ada.pk
