"""Sign-in, lockout, and two-factor sign-in with a real TOTP code."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailwarden.config import get_settings
from mailwarden.core import services
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden, ServiceError
from mailwarden.core.models import LedgerEntry, RolePolicy
from mailwarden.core.roles import Role
from tests.console.conftest import PASSWORD
from tests.factories import MANAGER


def code_for(device: TOTPDevice) -> str:
    return str(
        TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    ).zfill(6)


def wrong_code_for(device: TOTPDevice) -> str:
    right = code_for(device)
    return "000000" if right != "000000" else "111111"


def sign_in(username: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client


@pytest.fixture
def no_default_mfa():
    """The config's default list of roles needing two-factor, emptied for the test."""
    security = get_settings().security
    before = security.mfa_required_roles
    security.mfa_required_roles = []
    yield security
    security.mfa_required_roles = before


def test_role_without_the_requirement_goes_straight_in(make_person, no_default_mfa):
    make_person(Role.CLERK)
    client = sign_in("clerk")
    assert client.get("/").status_code == 200


def test_wrong_password_is_refused_with_a_message(make_person):
    make_person(Role.CLERK)
    client = Client()
    response = client.post("/login/", {"username": "clerk", "password": "not-it"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()
    assert client.get("/").status_code == 302


def test_lockout_after_the_failure_limit_shows_a_429_page(make_person):
    make_person(Role.CLERK)
    client = Client()
    limit = settings.AXES_FAILURE_LIMIT
    for _ in range(limit - 1):
        assert client.post("/login/", {"username": "clerk", "password": "wrong"}).status_code == 200
    assert client.post("/login/", {"username": "clerk", "password": "wrong"}).status_code == 429
    # Locked out: even the right password is refused now.
    response = client.post("/login/", {"username": "clerk", "password": PASSWORD})
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many failed sign-ins" in body and 'data-lockout="account"' in body
    assert f"{get_settings().security.login_cooloff_minutes} minutes" in body
    assert client.get("/").status_code == 302


@pytest.fixture
def address_limit():
    """A per-address limit small enough to reach in a test; restored afterwards."""
    security = get_settings().security
    before = security.login_failure_limit_per_address
    security.login_failure_limit_per_address = 4
    yield security.login_failure_limit_per_address
    security.login_failure_limit_per_address = before


def test_one_address_trying_many_names_is_paused_for_every_name(
    make_person, no_default_mfa, address_limit
):
    make_person(Role.CLERK)
    spraying = Client(REMOTE_ADDR="198.51.100.7")
    # Each name fails fewer times than the per-name limit: only the address limit can stop this.
    for n in range(address_limit - 1):
        tried = spraying.post("/login/", {"username": f"guess-{n}", "password": "wrong"})
        assert tried.status_code == 200
    # Signing in to an account of one's own from there does not start the count again.
    assert spraying.post("/login/", {"username": "clerk", "password": PASSWORD}).status_code == 302
    spraying.post("/logout/")
    paused = spraying.post("/login/", {"username": "guess-x", "password": "wrong"})
    assert paused.status_code == 429
    body = paused.content.decode()
    assert 'data-lockout="address"' in body
    assert "failed from your network address" in body
    # Every name is paused from that address, the right password too ...
    again = spraying.post("/login/", {"username": "clerk", "password": PASSWORD})
    assert again.status_code == 429 and 'data-lockout="address"' in again.content.decode()
    # ... and only from that address.
    elsewhere = Client(REMOTE_ADDR="198.51.100.8")
    assert elsewhere.post("/login/", {"username": "clerk", "password": PASSWORD}).status_code == 302
    locked = LedgerEntry.objects.filter(action="core.user.locked_out").values_list(
        "subject_id", flat=True
    )
    assert "guess-x" in set(locked)


def test_sign_out_needs_post_and_ends_the_session(make_person, no_default_mfa):
    make_person(Role.CLERK)
    client = sign_in("clerk")
    assert client.get("/logout/").status_code == 405
    response = client.post("/logout/")
    assert response.status_code == 302 and response["Location"] == "/login/"
    assert client.get("/").status_code == 302


def test_required_role_enrols_a_device_with_a_real_code(make_person, no_default_mfa):
    services.set_mfa_required(MANAGER, "screener", True)
    user = make_person(Role.SCREENER)
    client = sign_in("screener")

    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/mfa/setup/?next=%2F"
    assert client.get("/items/")["Location"].startswith("/mfa/setup/")
    # The API refuses the half-signed-in session too.
    assert client.get("/api/items").status_code == 401

    page = client.get("/mfa/setup/?next=/items/")
    assert page.status_code == 200
    assert "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=user)
    assert not device.confirmed

    refused = client.post("/mfa/setup/", {"token": wrong_code_for(device), "next": "/items/"})
    assert refused.status_code == 400
    assert "not right" in refused.content.decode()
    assert client.get("/").status_code == 302

    done = client.post("/mfa/setup/", {"token": code_for(device), "next": "/items/"})
    assert done.status_code == 302 and done["Location"] == "/items/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get("/").status_code == 200
    assert client.get("/api/items").status_code == 200
    assert LedgerEntry.objects.filter(
        action="core.user.mfa_enrolled", subject_id=str(user.pk)
    ).exists()


def test_required_role_with_a_device_must_give_the_code(make_person, no_default_mfa):
    services.set_mfa_required(MANAGER, "clerk", True)
    user = make_person(Role.CLERK)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = sign_in("clerk")

    assert client.get("/intake/")["Location"] == "/mfa/verify/?next=%2Fintake%2F"
    # Enrolling another device is no way around the one already there.
    assert client.get("/mfa/setup/")["Location"].startswith("/mfa/verify/")

    refused = client.post("/mfa/verify/", {"token": wrong_code_for(device)})
    assert refused.status_code == 400
    assert "not right" in refused.content.decode()
    assert client.get("/intake/").status_code == 302

    done = client.post("/mfa/verify/", {"token": code_for(device), "next": "/intake/"})
    assert done.status_code == 302 and done["Location"] == "/intake/"
    assert client.get("/intake/").status_code == 200


def test_one_wrong_code_then_the_right_one_signs_in(make_person, no_default_mfa):
    user = make_person(Role.CLERK)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = sign_in("clerk")
    refused = client.post("/mfa/verify/", {"token": wrong_code_for(device)})
    assert "not right" in refused.content.decode()
    done = client.post("/mfa/verify/", {"token": code_for(device), "next": "/intake/"})
    assert done.status_code == 302 and done["Location"] == "/intake/"
    assert client.get("/intake/").status_code == 200


def test_enrolment_takes_the_right_code_after_a_wrong_one(make_person, no_default_mfa):
    user = make_person(Role.CLERK)
    person = Actor.for_user(user)
    device = services.start_totp_enrolment(person)
    with pytest.raises(ServiceError, match="not right"):
        services.confirm_totp_enrolment(person, wrong_code_for(device))
    assert services.confirm_totp_enrolment(person, code_for(device)).confirmed


def test_after_several_wrong_codes_the_next_try_must_wait(
    make_person, no_default_mfa, frozen_clock
):
    user = make_person(Role.CLERK)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = sign_in("clerk")
    for _ in range(services.FREE_TRIES):
        refused = client.post("/mfa/verify/", {"token": wrong_code_for(device)})
        assert "not right" in refused.content.decode()
    # Even the right code is refused until the wait has passed, so guessing stays slow.
    response = client.post("/mfa/verify/", {"token": code_for(device)})
    assert response.status_code == 400
    assert "wait a few seconds" in response.content.decode()
    assert client.get("/").status_code == 302
    frozen_clock.advance(seconds=1)
    done = client.post("/mfa/verify/", {"token": code_for(device), "next": "/intake/"})
    assert done.status_code == 302 and done["Location"] == "/intake/"
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_verify_does_not_redirect_off_site(make_person, no_default_mfa):
    user = make_person(Role.CLERK)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = sign_in("clerk")
    done = client.post("/mfa/verify/", {"token": code_for(device), "next": "https://evil.example/"})
    assert done["Location"] == "/"


def test_config_default_applies_until_a_policy_is_stored(make_person, no_default_mfa):
    no_default_mfa.mfa_required_roles = ["clerk"]
    make_person(Role.CLERK)
    client = sign_in("clerk")
    assert client.get("/")["Location"].startswith("/mfa/setup/")
    services.set_mfa_required(MANAGER, "clerk", False)
    assert client.get("/").status_code == 200


def test_a_device_enrolled_by_choice_is_asked_for_too(make_person, no_default_mfa):
    user = make_person(Role.AUDITOR)
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client = sign_in("auditor")
    assert client.get("/")["Location"].startswith("/mfa/verify/")


def test_security_manager_sets_the_policy_on_the_page(as_role, no_default_mfa):
    client = as_role(Role.SECURITY_MANAGER)
    page = client.get("/settings/security/").content.decode()
    assert re.search(r'name="screener"', page)
    before = LedgerEntry.objects.filter(action="core.mfa_policy.changed").count()

    response = client.post("/settings/security/", {"screener": "on", "admin": "on"})
    assert response.status_code == 302
    assert set(RolePolicy.objects.filter(mfa_required=True).values_list("role", flat=True)) == {
        "screener",
        "admin",
    }
    entries = LedgerEntry.objects.filter(action="core.mfa_policy.changed").order_by("seq")
    assert entries.count() == before + 2
    assert {e.subject_id for e in entries} == {"screener", "admin"}
    after = client.get("/settings/security/").content.decode()
    assert re.search(r'name="screener"[^>]*checked', after)
    assert not re.search(r'name="clerk"[^>]*checked', after)


def test_other_roles_cannot_change_the_policy(as_role, no_default_mfa):
    response = as_role(Role.CLERK).post("/settings/security/", {"clerk": "on"})
    assert response.status_code == 403
    assert not RolePolicy.objects.exists()


def test_set_mfa_required_refuses_bad_input_and_changes_nothing(db):
    clerk = Actor("user", "clerk", frozenset({Role.CLERK}))
    with pytest.raises(Forbidden):
        services.set_mfa_required(clerk, "screener", True)
    with pytest.raises(ServiceError) as bad:
        services.set_mfa_required(MANAGER, "janitor", True)
    assert bad.value.field == "role"
    assert not RolePolicy.objects.exists()
    assert not LedgerEntry.objects.filter(action="core.mfa_policy.changed").exists()


def test_a_device_is_enrolled_for_the_person_signed_in_only(make_person):
    user = make_person(Role.CLERK, "zoe")
    person = Actor.for_user(user)
    device = services.start_totp_enrolment(person)
    assert device.user_id == user.pk
    assert services.start_totp_enrolment(person) == device  # the same QR on reload
    confirmed = services.confirm_totp_enrolment(person, code_for(device))
    assert confirmed.confirmed
    [entry] = LedgerEntry.objects.filter(action="core.user.mfa_enrolled")
    assert (entry.actor, entry.subject_id) == (person.label, str(user.pk))
    for job in (Actor.job("cli"), Actor.device("dock-1", Role.CLERK)):
        with pytest.raises(ServiceError):
            services.start_totp_enrolment(job)
        with pytest.raises(ServiceError):
            services.verify_totp(job, code_for(device))
    assert TOTPDevice.objects.count() == 1
