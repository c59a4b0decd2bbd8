"""Browser fixtures for the training console (TIP sessions, and live TIP on the workstation):
the e2e folder's Chromium and pages, and screeners who can sign in."""

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
def make_user(transactional_db) -> Callable[..., User]:
    """A person with one role and the shared test password, who can sign in in the browser."""

    def make(role: Role, username: str) -> User:
        existing = User.objects.filter(username=username).first()
        if existing is not None:
            return existing
        return create_user(
            ADMIN, username, password=PASSWORD, roles=[role.value], check_password=False
        )

    return make
