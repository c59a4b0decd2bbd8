"""Builders shared by the playbooks tests: incidents opened as ``open_incident`` will open them
(the row, then ``start_playbook`` in the same transaction), doors, items and staff by role."""

from __future__ import annotations

from itertools import count

from django.contrib.auth.models import AbstractUser
from django.db import transaction

from mailwarden.access import services as access
from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.directory.models import Site
from mailwarden.incidents.models import Incident, IncidentSeverity
from mailwarden.incidents.services import playbooks
from tests.custody_services.conftest import item_in
from tests.factories import ADMIN, make_recipient

_refs = count(1)
PASSWORD = "Correct-Horse-9-Battery"


def open_incident(
    site: Site,
    type: str = "suspicious_package",
    *,
    exercise: bool = False,
    armed: bool = False,
    title: str = "Leaking parcel at the dock",
) -> Incident:
    with transaction.atomic():
        incident = Incident.objects.create(
            reference=f"INC-T{next(_refs):04d}",
            type=type,
            severity=IncidentSeverity.SEV1,
            title=title,
            site=site,
            opened_at=clock.now(),
            opened_by="user:mona",
            exercise=exercise,
            exercise_type="drill" if exercise else "",
            armed=armed,
        )
        playbooks.start_playbook(ADMIN, incident)
    return incident


def add_doors(site: Site, n: int) -> None:
    manager = Actor("user", "doors", frozenset({Role.SECURITY_MANAGER}))
    for i in range(n):
        access.doors.create_door(manager, access.doors.DoorData(site=site.code, code=f"door-{i}"))


def ready_item(site: Site) -> MailItem:
    return item_in(site, make_recipient(), State.READY_FOR_PICKUP)


def staff(role: Role, username: str, email: str = "") -> AbstractUser:
    return create_user(
        ADMIN, username, password=PASSWORD, roles=[role.value], email=email, check_password=False
    )


def person(user: AbstractUser) -> Actor:
    return Actor.for_user(user)
