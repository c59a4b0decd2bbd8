"""Shared set-up of the incidents tests: a site with a door, an item, a person, staff who
sign in, and a helper that opens an incident as an operator."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from mailwarden.access import services as access
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Recipient, Site
from mailwarden.incidents.models import Incident
from mailwarden.incidents.services import incidents as services
from tests.factories import ADMIN, MANAGER, intake, make_recipient, make_site
from tests.incidents.conftest import OPERATOR

PASSWORD = "Correct-Horse-9-Battery"


def staff(role: Role, username: str | None = None) -> User:
    name = username or role.value
    found = User.objects.filter(username=name).first()
    return found or create_user(
        ADMIN, name, password=PASSWORD, roles=[role.value], check_password=False
    )


@dataclass
class World:
    site: Site
    item: MailItem
    person: Recipient
    operator: User
    manager: User


@pytest.fixture
def world(db, frozen_clock, settings, tmp_path: Path) -> World:
    settings.MEDIA_STORE_DIR = tmp_path / "media"
    site = make_site()
    person = make_recipient(first_name="Grace", last_name="Hopper")
    item = intake(site, person)
    assert isinstance(item, MailItem)
    access.doors.create_door(
        MANAGER, access.doors.DoorData(site="hq", code="lobby", name="Main lobby")
    )
    return World(
        site=site,
        item=item,
        person=person,
        operator=staff(Role.SECURITY_OPERATOR),
        manager=staff(Role.SECURITY_MANAGER),
    )


def open_one(**kw: object) -> Incident:
    values: dict[str, object] = {
        "type": "suspicious_package",
        "severity": 2,
        "site": "hq",
        "title": "Leaking parcel at the dock",
        "summary": "White powder on the floor",
    }
    values.update(kw)
    return services.open_incident(OPERATOR, services.OpenIncidentRequest(**values))  # type: ignore[arg-type]
