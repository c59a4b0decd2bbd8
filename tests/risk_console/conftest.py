"""Fixtures for the risk console: people with one role each, and the questionnaire template."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from tests.e2e.conftest import (  # noqa: F401
    DESKTOP,
    PASSWORD,
    TABLET,
    open_page,
    shot,
    sign_in,
)
from tests.factories import ADMIN


@pytest.fixture
def make_user() -> Callable[..., User]:
    """A person with one role and the shared test password (the browser tests sign in)."""

    def make(role: Role, username: str, first_name: str = "", last_name: str = "") -> User:
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            return existing
        user = create_user(
            ADMIN,
            username,
            password=PASSWORD,
            roles=[role.value],
            first_name=first_name,
            last_name=last_name,
            check_password=False,
        )
        assert isinstance(user, User)
        return user

    return make
