"""Fixtures of helper E's tests (live TIP, proficiency), imported by their modules: people with
roles as real users (TIP trials point at users), a site with live TIP on, an item scanned with a
real high/low pair, and a projector seed that does or does not project for that item."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Recipient, Site
from mailwarden.screening import services as screening
from mailwarden.screening.models import Scan, ScanSource
from mailwarden.training.services import tip_live
from tests.factories import ADMIN, intake, make_recipient, make_site
from tests.screening.conftest import clean_pair, colour_rgb, encode  # noqa: F401

PASSWORD = "Correct-Horse-9-Battery"
DOCK_SCANNER = Actor.device("dock-scanner", Role.SCREENER)


@pytest.fixture
def site(db) -> Site:
    return make_site()


@pytest.fixture
def recipient(db) -> Recipient:
    return make_recipient(department="Research")


@pytest.fixture
def person(db) -> Callable[..., User]:
    def make(role: Role, username: str | None = None) -> User:
        name = username or role.value
        found = User.objects.filter(username=name).first()
        if found is not None:
            return found
        return create_user(ADMIN, name, password=PASSWORD, roles=[role.value], check_password=False)

    return make


@pytest.fixture
def actor_for(person) -> Callable[..., Actor]:
    def make(role: Role, username: str | None = None) -> Actor:
        return Actor.for_user(person(role, username))

    return make


@pytest.fixture
def signed_in(person) -> Callable[..., Client]:
    def client_for(role: Role, username: str | None = None) -> Client:
        client = Client()
        client.force_login(person(role, username))
        return client

    return client_for


@pytest.fixture
def manager(actor_for) -> Actor:
    return actor_for(Role.SECURITY_MANAGER)


@pytest.fixture
def screener(actor_for) -> Actor:
    return actor_for(Role.SCREENER)


@pytest.fixture
def live_site(site: Site, manager: Actor) -> Site:
    tip_live.set_policy(manager, site.code, enabled=True, rate_percent=10.0, categories=["knife"])
    return site


@pytest.fixture
def item(site: Site, recipient: Recipient) -> MailItem:
    return intake(site, recipient, sender="Northwind Traders")  # type: ignore[return-value]


@pytest.fixture
def scan(item: MailItem, clean_pair) -> Scan:  # noqa: F811
    return screening.import_scan(
        DOCK_SCANNER,
        item.uid,
        screening.ScanUpload(high=clean_pair.high, low=clean_pair.low, filename="bag_high.tif"),
        source=ScanSource.API,
    )


def seed_for(user_id: int, uid: str, rate: float, *, projects: bool) -> str:
    """A projector seed under which this screener's draw for this item does (or does not)
    fall within ``rate`` percent."""
    for n in range(1000):
        seed = f"test-seed-{n}"
        falls = tip_live.draw(seed, user_id, uid).random() * 100 < rate
        if falls == projects:
            return seed
    raise AssertionError("no seed found")


@pytest.fixture
def projecting(screener: Actor, item: MailItem) -> Iterator[None]:
    """The screener's draw for the item projects a test image (at the 10 % rate)."""
    assert screener.user_id is not None
    tip_live.PROJECTOR.seed = seed_for(screener.user_id, item.uid, 10.0, projects=True)
    yield
    tip_live.PROJECTOR.seed = None


@pytest.fixture
def not_projecting(screener: Actor, item: MailItem) -> Iterator[None]:
    assert screener.user_id is not None
    tip_live.PROJECTOR.seed = seed_for(screener.user_id, item.uid, 10.0, projects=False)
    yield
    tip_live.PROJECTOR.seed = None
