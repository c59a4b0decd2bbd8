"""Fixtures for the screening console: people signed in by role (two of each role that a
two-person rule needs), items awaiting screening, and scanner files from the simulator."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Recipient, Site
from mailwarden.screening import services
from mailwarden.screening.models import Scan, ScanSource
from tests.factories import ADMIN, intake, make_recipient, make_site

# The scanner-file fixtures are shared with the screening domain's own tests.
from tests.screening.conftest import clean_pair, colour_rgb, knife_pair  # noqa: F401

PASSWORD = "Correct-Horse-9-Battery"
SCANNER = Actor.device("dock-scanner", Role.SCREENER)


@pytest.fixture
def site(db) -> Site:
    return make_site()


@pytest.fixture
def recipient(db) -> Recipient:
    return make_recipient(first_name="Margaret", last_name="Hamilton", department="Research")


@pytest.fixture
def person(db) -> Callable[..., User]:
    def make(role: Role, username: str | None = None) -> User:
        name = username or role.value
        existing = User.objects.filter(username=name).first()
        if existing is not None:
            return existing
        return create_user(ADMIN, name, password=PASSWORD, roles=[role.value], check_password=False)

    return make


@pytest.fixture
def signed_in(person) -> Callable[..., Client]:
    """A test client signed in as ``username`` (by default, named after the role)."""

    def client_for(role: Role, username: str | None = None) -> Client:
        client = Client()
        client.force_login(person(role, username))
        return client

    return client_for


@pytest.fixture
def item(site: Site, recipient: Recipient) -> MailItem:
    """A parcel awaiting screening, with no scan."""
    return intake(site, recipient, sender="Northwind Traders")  # type: ignore[return-value]


@pytest.fixture
def scanned(item: MailItem, knife_pair) -> Scan:  # noqa: F811
    """The item, scanned by the dock scanner: a knife among everyday things."""
    return services.import_scan(
        SCANNER,
        item.uid,
        services.ScanUpload(high=knife_pair.high, low=knife_pair.low, filename="k_high.tif"),
        source=ScanSource.API,
    )


def opened_token(body: str) -> str:
    """The workstation's signed page-opened time, as the page hands it to its form."""
    found = re.search(r'name="opened" value="([^"]+)"', body)
    assert found, "the workstation has no decision form"
    return found.group(1)


def alerts(body: str) -> list[str]:
    return [
        re.sub(r"\s+", " ", a).strip()
        for a in re.findall(r'class="alert[^"]*"[^>]*>(.*?)</', body, re.S)
    ]
