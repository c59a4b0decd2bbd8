"""People, roles, tokens, lockouts and two-factor devices change only through services, each on
the ledger (issue 11, point 2); Django's /admin/ shows them and changes nothing."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import ProtectedError
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailwarden.core import ledger, services
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import ApiToken, LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.core.tokens import authenticate
from tests.factories import ADMIN, CLERK

PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def quick_hash(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def person(username: str, *roles: Role) -> User:
    return services.create_user(
        ADMIN, username, password=PASSWORD, roles=[r.value for r in roles], check_password=False
    )


def last(action: str, username: str) -> dict:
    entry = LedgerEntry.objects.filter(action=action, subject_id=username).last()
    assert entry is not None, f"no {action} entry for {username}"
    return ledger.entry_data(entry)


def test_create_update_and_roles_are_on_the_ledger(db, quick_hash):
    ada = person("ada", Role.ADMIN)
    by_ada = Actor.for_user(ada)
    services.create_user(
        by_ada, "cleo", password=PASSWORD, roles=["clerk"], email="c@x.org", check_password=False
    )
    assert last("core.user.created", "cleo")["roles"] == ["clerk"]

    services.update_user(by_ada, "cleo", email="cleo@x.org", first_name="Cleo", last_name="")
    assert last("core.user.updated", "cleo") == {
        "email": {"was": "c@x.org", "now": "cleo@x.org"},
        "first_name": {"was": "", "now": "Cleo"},
    }
    count = LedgerEntry.objects.count()
    services.update_user(by_ada, "cleo", email="cleo@x.org", first_name="Cleo", last_name="")
    assert LedgerEntry.objects.count() == count  # nothing changed, nothing recorded

    services.set_user_roles(by_ada, "cleo", ["clerk", "screener"])
    assert last("core.user.roles_changed", "cleo") == {
        "roles": ["clerk", "screener"],
        "was": ["clerk"],
        "tokens_revoked": [],
    }
    assert services.held_roles(User.objects.get(username="cleo")) == {Role.CLERK, Role.SCREENER}
    services.set_user_roles(by_ada, "cleo", ["admin"])
    cleo = User.objects.get(username="cleo")
    assert (cleo.is_superuser, cleo.is_staff) == (True, True)


def test_only_an_admin_changes_people_and_refusals_change_nothing(db, quick_hash):
    person("cleo", Role.CLERK)
    count = LedgerEntry.objects.count()
    for call in (
        lambda: services.create_user(CLERK, "x", password=PASSWORD, roles=[], check_password=False),
        lambda: services.set_user_roles(CLERK, "cleo", ["admin"]),
        lambda: services.deactivate_user(CLERK, "cleo"),
        lambda: services.clear_lockout(CLERK, "cleo"),
        lambda: services.reset_mfa(CLERK, "cleo"),
        lambda: services.update_user(CLERK, "cleo", email="", first_name="", last_name=""),
    ):
        with pytest.raises(Forbidden):
            call()
    with pytest.raises(ServiceError) as bad_role:
        services.set_user_roles(ADMIN, "cleo", ["king"])
    assert bad_role.value.field == "role"
    with pytest.raises(NotFound):
        services.set_user_roles(ADMIN, "ghost", ["clerk"])
    assert LedgerEntry.objects.count() == count
    assert services.held_roles(User.objects.get(username="cleo")) == {Role.CLERK}


def test_the_last_admin_cannot_be_removed_and_no_one_deactivates_themselves(db, quick_hash):
    ada = person("ada", Role.ADMIN)
    with pytest.raises(Conflict, match="last active administrator"):
        services.set_user_roles(ADMIN, "ada", ["clerk"])
    with pytest.raises(Conflict, match="last active administrator"):
        services.deactivate_user(ADMIN, "ada")
    person("bob", Role.ADMIN)
    with pytest.raises(Forbidden, match="yourself"):
        services.deactivate_user(Actor.for_user(ada), "ada")
    services.deactivate_user(Actor.for_user(User.objects.get(username="bob")), "ada")


def test_deactivating_a_person_revokes_their_tokens_and_keeps_their_history(db, quick_hash):
    person("ada", Role.ADMIN)
    sam = person("sam", Role.SCREENER)
    own = services.issue_token(Actor.for_user(sam), name="a", role="screener", user_id=sam.pk)
    spare = services.issue_token(Actor.for_user(sam), name="b", role="screener", user_id=sam.pk)
    services.deactivate_user(ADMIN, "sam", "left the company")
    data = last("core.user.deactivated", "sam")
    assert data["reason"] == "left the company"
    assert data["tokens_revoked"] == sorted([own.token.prefix, spare.token.prefix])
    revoked = LedgerEntry.objects.filter(action="core.token.revoked")
    assert {e.subject_id for e in revoked} == {own.token.prefix, spare.token.prefix}
    assert authenticate(own.secret) is None
    assert ApiToken.objects.filter(user=sam).count() == 2  # kept, revoked
    assert not User.objects.get(username="sam").is_active
    # Deleting the person would take their tokens' history with it: refused.
    with pytest.raises(ProtectedError):
        User.objects.get(username="sam").delete()
    with pytest.raises(Conflict):
        services.deactivate_user(ADMIN, "sam")
    services.reactivate_user(ADMIN, "sam")
    assert User.objects.get(username="sam").is_active
    assert authenticate(own.secret) is None  # revoked tokens stay revoked
    assert LedgerEntry.objects.filter(action="core.user.reactivated", subject_id="sam").exists()


def test_losing_a_role_revokes_the_tokens_that_carry_it(db, quick_hash):
    mona = person("mona", Role.SECURITY_MANAGER, Role.CLERK)
    as_mona = Actor.for_user(mona)
    manager = services.issue_token(as_mona, name="m", role="security_manager", user_id=mona.pk)
    clerk = services.issue_token(as_mona, name="c", role="clerk", user_id=mona.pk)
    services.set_user_roles(ADMIN, "mona", ["clerk"])
    assert last("core.user.roles_changed", "mona")["tokens_revoked"] == [manager.token.prefix]
    assert authenticate(manager.secret) is None
    still = authenticate(clerk.secret)
    assert still is not None and still.roles == {Role.CLERK}


def test_clearing_a_lockout_lets_the_person_sign_in_again(db, quick_hash):
    person("cleo", Role.CLERK)
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "cleo", "password": "wrong"})
    assert client.post("/login/", {"username": "cleo", "password": PASSWORD}).status_code == 429
    cleared = services.clear_lockout(ADMIN, "cleo")
    assert cleared >= 1
    assert last("core.user.lockout_cleared", "cleo")["failures"] >= settings.AXES_FAILURE_LIMIT
    assert client.post("/login/", {"username": "cleo", "password": PASSWORD}).status_code == 302
    with pytest.raises(Conflict, match="no failed sign-ins"):
        services.clear_lockout(ADMIN, "cleo")


def test_resetting_two_factor_removes_the_device_on_the_ledger(db, quick_hash):
    ada = person("ada", Role.ADMIN)
    mona = person("mona", Role.SECURITY_MANAGER)
    device = services.start_totp_enrolment(Actor.for_user(mona))
    code = str(TOTP(device.bin_key, device.step, device.t0, device.digits).token()).zfill(6)
    services.confirm_totp_enrolment(Actor.for_user(mona), code)
    assert TOTPDevice.objects.filter(user=mona, confirmed=True).exists()
    with pytest.raises(Forbidden, match="your own"):
        services.reset_mfa(Actor.for_user(ada), "ada")
    assert services.reset_mfa(Actor.for_user(ada), "mona") == 1
    assert not TOTPDevice.objects.filter(user=mona).exists()
    assert last("core.user.mfa_reset", "mona") == {"devices": 1}
    with pytest.raises(Conflict, match="no two-factor device"):
        services.reset_mfa(Actor.for_user(ada), "mona")


# ----------------------------------------------------------------------------- /admin/


def test_admin_shows_people_and_changes_nothing(db, quick_hash):
    ada = person("ada", Role.ADMIN)
    cleo = person("cleo", Role.CLERK)
    client = Client()
    client.force_login(ada)
    assert client.get("/admin/auth/user/").status_code == 200
    assert client.get(f"/admin/auth/user/{cleo.pk}/change/").status_code == 200
    assert client.get("/admin/auth/user/add/").status_code == 403
    refused = client.post(
        f"/admin/auth/user/{cleo.pk}/change/", {"username": "cleo", "is_superuser": "on"}
    )
    assert refused.status_code == 403
    assert client.post(f"/admin/auth/user/{cleo.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"/admin/auth/user/{cleo.pk}/password/").status_code == 403
    bulk = client.post(
        "/admin/auth/user/", {"action": "delete_selected", "_selected_action": [cleo.pk]}
    )
    assert bulk.status_code in (200, 302)
    assert client.get("/admin/axes/accessattempt/").status_code == 200
    # A two-factor device's key would let a reader make the person's codes: not shown at all.
    assert client.get("/admin/otp_totp/totpdevice/").status_code == 404
    cleo.refresh_from_db()
    assert (cleo.is_superuser, cleo.is_active) == (False, True)
    assert User.objects.filter(username="cleo").exists()
