"""The demo's sign-ins are hashed at a light Argon2 cost as they are seeded, and at the full
cost from their first sign-in on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.hashers import get_hasher
from django.contrib.auth.models import User

from mailwarden.core import demo
from mailwarden.core.plugins import DemoOptions

pytestmark = pytest.mark.django_db

OPTIONS = DemoOptions(seed=7, items=1, recipients=1, history_from=datetime(2026, 2, 1, tzinfo=UTC))


def test_demo_sign_ins_are_hashed_lightly_then_fully_at_first_sign_in(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    # The server's hashers, not the tests' quick ones (tests/conftest.py).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
    with demo.light_demo_hashing():
        demo.StaffDemo().seed(OPTIONS)
    password = demo.demo_logins().password
    argon2 = get_hasher("argon2")
    seeded = User.objects.get(username="clerk").password
    assert argon2.decode(seeded)["memory_cost"] == demo.DemoSeedArgon2Hasher.memory_cost
    assert argon2.must_update(seeded)
    clerk = User.objects.get(username="clerk")
    assert not clerk.check_password("not the password")
    # The configured hasher checks it, and hashes it again at its own cost (as a sign-in does).
    assert clerk.check_password(password)
    upgraded = User.objects.get(username="clerk").password
    assert upgraded != seeded and not argon2.must_update(upgraded)
    assert argon2.decode(upgraded)["memory_cost"] == argon2.memory_cost
