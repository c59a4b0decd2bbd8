"""Fixtures for the reports: the known week's mailroom, and people with one role each."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from tests.factories import ADMIN
from tests.reports.mailroom import Mailroom, build

PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def room(db, frozen_clock) -> Mailroom:
    return build(frozen_clock)


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    def make(role: Role, username: str, email: str = "", first_name: str = "") -> User:
        user = create_user(
            ADMIN,
            username,
            password=PASSWORD,
            roles=[role.value],
            first_name=first_name or username.capitalize(),
            last_name="Example",
            email=email,
            check_password=False,
        )
        assert isinstance(user, User)
        return user

    return make
