"""The People and API tokens pages: administrators only, every change through a service and on
the ledger, a confirmation before anything that cannot be undone at a click."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailwarden.core import services
from mailwarden.core.actor import Actor
from mailwarden.core.models import ApiToken, LedgerEntry
from mailwarden.core.roles import Role
from mailwarden.core.tokens import authenticate
from tests.console.conftest import PASSWORD


@pytest.fixture(autouse=True)
def quick_hash(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client(as_role) -> Client:
    return as_role(Role.ADMIN)


def actions(username: str) -> list[str]:
    return list(
        LedgerEntry.objects.filter(subject_type="user", subject_id=username).values_list(
            "action", flat=True
        )
    )


def test_only_admins_see_the_pages(as_role, make_person):
    make_person(Role.CLERK, "cleo")
    for role in (Role.SECURITY_MANAGER, Role.CLERK, Role.AUDITOR):
        client = as_role(role)
        for path in ("/people/", "/people/cleo/", "/people/cleo/deactivate/"):
            assert client.get(path).status_code == 403, (role, path)
        refused = client.post("/people/cleo/", {"roles_submit": "1", "roles": ["admin"]})
        assert refused.status_code == 403
    assert services.held_roles(User.objects.get(username="cleo")) == {Role.CLERK}
    menu = as_role(Role.ADMIN).get("/").content.decode()
    assert 'href="/people/"' in menu and 'href="/settings/tokens/"' in menu
    assert 'href="/people/"' not in as_role(Role.SECURITY_MANAGER).get("/").content.decode()


def test_add_a_person_with_errors_next_to_the_fields(admin_client):
    page = admin_client.get("/people/")
    assert page.status_code == 200
    refused = admin_client.post("/people/", {"username": "", "password": "", "roles": ["king"]})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert 'data-field-error="username"' in body and 'data-field-error="roles"' in body
    made = admin_client.post(
        "/people/",
        {
            "username": "cleo",
            "first_name": "Cleo",
            "password": PASSWORD,
            "roles": ["clerk", "screener"],
        },
    )
    assert made.status_code == 302 and made["Location"] == "/people/cleo/"
    assert services.held_roles(User.objects.get(username="cleo")) == {Role.CLERK, Role.SCREENER}
    assert actions("cleo") == ["core.user.created"]
    weak = admin_client.post("/people/", {"username": "dan", "password": "1", "roles": []})
    assert weak.status_code == 400 and 'data-field-error="password"' in weak.content.decode()


def test_edit_details_and_roles(admin_client, make_person):
    make_person(Role.CLERK, "cleo")
    assert admin_client.get("/people/cleo/").status_code == 200
    saved = admin_client.post(
        "/people/cleo/", {"first_name": "Cleo", "last_name": "Ng", "email": "cleo@example.org"}
    )
    assert saved.status_code == 302
    roles = admin_client.post("/people/cleo/", {"roles_submit": "1", "roles": ["auditor"]})
    assert roles.status_code == 302
    cleo = User.objects.get(username="cleo")
    assert (cleo.first_name, cleo.email) == ("Cleo", "cleo@example.org")
    assert services.held_roles(cleo) == {Role.AUDITOR}
    assert actions("cleo")[-2:] == ["core.user.updated", "core.user.roles_changed"]
    bad = admin_client.post("/people/cleo/", {"email": "not-an-address"})
    assert bad.status_code == 400 and 'data-field-error="email"' in bad.content.decode()
    assert admin_client.get("/people/ghost/").status_code == 404


def test_deactivate_asks_first_then_revokes_tokens(admin_client, make_person):
    sam = make_person(Role.SCREENER, "sam")
    issued = services.issue_token(Actor.for_user(sam), name="s", role="screener", user_id=sam.pk)
    asked = admin_client.get("/people/sam/deactivate/")
    assert asked.status_code == 200
    assert "every API token that acts for them is revoked" in asked.content.decode()
    # A POST without the confirmation shows the question again and changes nothing.
    assert admin_client.post("/people/sam/deactivate/", {}).status_code == 200
    assert User.objects.get(username="sam").is_active
    done = admin_client.post("/people/sam/deactivate/", {"confirmed": "1", "reason": "left"})
    assert done.status_code == 302
    assert not User.objects.get(username="sam").is_active
    assert authenticate(issued.secret) is None
    assert "core.user.deactivated" in actions("sam")
    page = admin_client.get("/people/sam/").content.decode()
    assert "Deactivated" in page and "Revoked" in page
    admin_client.post("/people/sam/reactivate/")
    assert User.objects.get(username="sam").is_active


def test_an_admin_cannot_deactivate_themselves_on_the_page(admin_client):
    page = admin_client.get("/people/admin/").content.decode()
    assert "/people/admin/deactivate/" not in page
    admin_client.post("/people/admin/deactivate/", {"confirmed": "1"}, follow=True)
    assert User.objects.get(username="admin").is_active


def test_reset_two_factor_and_clear_a_lockout(admin_client, make_person, settings):
    mona = make_person(Role.SECURITY_MANAGER, "mona")
    TOTPDevice.objects.create(user=mona, name="phone", confirmed=True)
    page = admin_client.get("/people/mona/").content.decode()
    assert "/people/mona/reset-mfa/" in page
    assert "they enrol a new app" in admin_client.get("/people/mona/reset-mfa/").content.decode()
    admin_client.post("/people/mona/reset-mfa/", {"confirmed": "1"})
    assert not TOTPDevice.objects.filter(user=mona).exists()

    for _ in range(settings.AXES_FAILURE_LIMIT):
        Client().post("/login/", {"username": "mona", "password": "wrong"})
    assert "Locked out" in admin_client.get("/people/").content.decode()
    admin_client.post("/people/mona/clear-lockout/")
    assert Client().post("/login/", {"username": "mona", "password": PASSWORD}).status_code == 302
    assert {"core.user.mfa_reset", "core.user.lockout_cleared"} <= set(actions("mona"))


def test_tokens_page_issues_for_a_device_or_for_yourself_and_revokes(admin_client):
    assert admin_client.get("/settings/tokens/").status_code == 200
    missing = admin_client.post(
        "/settings/tokens/", {"name": "dock", "role": "clerk", "acts_for": "device"}
    )
    assert missing.status_code == 400 and 'data-field-error="device"' in missing.content.decode()
    issued = admin_client.post(
        "/settings/tokens/",
        {"name": "dock", "role": "clerk", "acts_for": "device", "device": "dock-1"},
    )
    secret = re.search(r"data-secret>(mw_[^<]+)<", issued.content.decode())
    assert secret is not None
    actor = authenticate(secret.group(1))
    assert actor is not None and actor.kind == "device"
    mine = admin_client.post(
        "/settings/tokens/", {"name": "cron", "role": "auditor", "acts_for": "me"}
    )
    assert mine.status_code == 200
    token = ApiToken.objects.get(name="cron")
    assert token.user is not None and token.user.username == "admin"
    assert token.issued_by_id == token.user_id

    prefix = ApiToken.objects.get(name="dock").prefix
    asked = admin_client.get(f"/settings/tokens/{prefix}/revoke/")
    assert "cannot be restored" in asked.content.decode()
    admin_client.post(f"/settings/tokens/{prefix}/revoke/", {"confirmed": "1"})
    assert ApiToken.objects.get(prefix=prefix).revoked_at is not None
    assert LedgerEntry.objects.filter(action="core.token.revoked", subject_id=prefix).exists()


def test_anyone_issues_and_revokes_tokens_for_themselves_only(as_role, make_person):
    sam = make_person(Role.SCREENER, "screener")
    other = make_person(Role.CLERK, "cleo")
    theirs = services.issue_token(Actor.for_user(other), name="c", role="clerk", user_id=other.pk)
    client = as_role(Role.SCREENER)
    page = client.get("/settings/tokens/")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="device"' not in body and theirs.token.prefix not in body
    # A device token, or a role the person does not hold, is refused next to its field.
    refused = client.post(
        "/settings/tokens/",
        {"name": "x", "role": "screener", "acts_for": "device", "device": "dock-1"},
    )
    assert refused.status_code == 400 and 'data-field-error="acts_for"' in refused.content.decode()
    wrong_role = client.post(
        "/settings/tokens/", {"name": "x", "role": "security_manager", "acts_for": "me"}
    )
    assert wrong_role.status_code == 400
    assert 'data-field-error="role"' in wrong_role.content.decode()
    issued = client.post(
        "/settings/tokens/", {"name": "cron", "role": "screener", "acts_for": "me"}
    )
    assert issued.status_code == 200 and "data-secret" in issued.content.decode()
    mine = ApiToken.objects.get(name="cron")
    assert (mine.user_id, mine.issued_by_id) == (sam.pk, sam.pk)
    # Someone else's token is not theirs to revoke.
    client.post(f"/settings/tokens/{theirs.token.prefix}/revoke/", {"confirmed": "1"})
    assert ApiToken.objects.get(prefix=theirs.token.prefix).revoked_at is None
    client.post(f"/settings/tokens/{mine.prefix}/revoke/", {"confirmed": "1"})
    assert ApiToken.objects.get(prefix=mine.prefix).revoked_at is not None
