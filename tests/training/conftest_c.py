"""Fixtures for the TIP tests (helper C's): screeners as users and actors, a site with a
screener who works there, and an item cleared at that site with a real high/low scan."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from tests.factories import ADMIN

PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def person(db) -> Callable[..., User]:
    def make(role: Role | str, username: str | None = None) -> User:
        role = Role(role)
        name = username or role.value
        existing = User.objects.filter(username=name).first()
        if existing is not None:
            return existing
        return create_user(ADMIN, name, password=PASSWORD, roles=[role.value], check_password=False)

    return make


@pytest.fixture
def screener(person) -> Actor:
    return Actor.for_user(person(Role.SCREENER, "tip-screener"))
