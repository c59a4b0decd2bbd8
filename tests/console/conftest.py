"""Fixtures for console tests: a site, a recipient, and one signed-in person per role."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Recipient, Site
from tests.factories import ADMIN, make_recipient, make_site

PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def site(db) -> Site:
    return make_site()


@pytest.fixture
def recipient(db) -> Recipient:
    return make_recipient(first_name="Margaret", last_name="Hamilton", department="Research")


@pytest.fixture
def make_person(db) -> Callable[..., User]:
    def make(role: Role, username: str | None = None) -> User:
        existing = User.objects.filter(username=username or role.value).first()
        if existing is not None:
            return existing
        return create_user(
            ADMIN,
            username or role.value,
            password=PASSWORD,
            roles=[role.value],
            check_password=False,
        )

    return make


@pytest.fixture
def as_role(make_person) -> Callable[[Role], Client]:
    """A test client signed in with the given role (the session is made directly)."""

    def client_for(role: Role) -> Client:
        client = Client()
        client.force_login(make_person(role))
        return client

    return client_for


@pytest.fixture
def item(site: Site, recipient: Recipient) -> MailItem:
    from tests.factories import VALID_UPS, intake

    return intake(site, recipient, tracking_number=VALID_UPS)  # type: ignore[return-value]
