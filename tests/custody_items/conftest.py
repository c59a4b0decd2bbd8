"""Fixtures for the items list, its exports and its bulk actions: two sites, people, and
clients for the console and the API speaking as any role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.directory.models import Recipient, Site
from tests.api.conftest import Api, token_for
from tests.factories import ADMIN, make_recipient, make_site

PASSWORD = "Correct-Horse-9-Battery"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def site(db) -> Site:
    return make_site()


@pytest.fixture
def ny_site(db) -> Site:
    """A second site five hours behind the first, so a day there ends later."""
    site = make_site("ny")
    # The directory has no service that moves a site to another zone; the test sets it here.
    Site.objects.filter(pk=site.pk).update(timezone="America/New_York")
    site.refresh_from_db()
    return site


@pytest.fixture
def ada(db) -> Recipient:
    return make_recipient(first_name="Ada", last_name="Byron", department="Research")


@pytest.fixture
def alan(db) -> Recipient:
    return make_recipient(first_name="Alan", last_name="Turing", department="Codes")


@pytest.fixture
def console(db) -> Callable[[Role], Client]:
    """A console client signed in with the given role."""

    def client_for(role: Role) -> Client:
        user = User.objects.filter(username=role.value).first() or create_user(
            ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False
        )
        client = Client()
        client.force_login(user)
        return client

    return client_for


@pytest.fixture
def api(db) -> Callable[[Role], Api]:
    return lambda role: Api(token_for(role))
