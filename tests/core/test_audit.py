import pytest
from django.test import Client

from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerEntry
from mailwarden.core.services import create_user

USERS = Actor.job("users")


@pytest.mark.django_db
def test_sign_ins_failures_and_new_users_are_on_the_ledger():
    create_user(USERS, "olga", password="correct horse battery", roles=["clerk"])
    client = Client()
    client.post("/login/", {"username": "olga", "password": "wrong password"})
    client.post("/login/", {"username": "olga", "password": "correct horse battery"})
    client.post("/logout/")
    actions = list(
        LedgerEntry.objects.filter(subject_type="user", subject_id="olga").values_list(
            "action", "actor"
        )
    )
    assert actions == [
        ("core.user.created", "job:users"),
        ("core.user.sign_in_failed", "job:sign-in"),
        ("core.user.signed_in", "user:olga"),
        ("core.user.signed_out", "user:olga"),
    ]


@pytest.mark.django_db
def test_lockout_is_on_the_ledger(settings):
    create_user(USERS, "pavel", password="correct horse battery", roles=["clerk"])
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        client.post("/login/", {"username": "pavel", "password": "nope"})
    actions = set(LedgerEntry.objects.filter(subject_id="pavel").values_list("action", flat=True))
    assert "core.user.locked_out" in actions
