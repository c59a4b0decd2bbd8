"""Fixtures for the access console: the access services' small mailroom (tests/access), people
signed in by role, and helpers that send edge events through the real ingestion service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from mailwarden.access import services, snapshots
from mailwarden.access.models import Cardholder, Credential
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user

# The access services' mailroom is the console's too: one set of doors, people and cards.
from tests.access.conftest import MANAGER as MANAGER_ACTOR  # noqa: F401
from tests.access.conftest import (  # noqa: F401
    Mailroom,
    decision,
    device,
    event,
    mailroom,
    state,
)
from tests.factories import ADMIN

PASSWORD = "Correct-Horse-9-Battery"


@pytest.fixture
def person(db) -> Callable[[Role], User]:
    def make(role: Role) -> User:
        existing = User.objects.filter(username=role.value).first()
        if existing is not None:
            return existing
        return create_user(
            ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False
        )

    return make


@pytest.fixture
def as_role(person) -> Callable[[Role], Client]:
    def client_for(role: Role) -> Client:
        client = Client()
        client.force_login(person(role))
        return client

    return client_for


def ingest(room: Mailroom, *batch: dict[str, Any]) -> services.ingest.IngestResult:
    """Events as the quarantine and dock controller (edge-1) delivers them."""
    result = services.ingest.ingest_events(device(room.edge1), room.edge1.name, list(batch))
    assert result.rejected == [], result.rejected
    return result


def badge(
    room: Mailroom,
    at: datetime,
    holder: Cardholder,
    credential: Credential,
    *,
    reader: str = "dock-in",
    door: str = "dock",
    granted: bool = True,
    reason: str = "granted",
    companion: Cardholder | None = None,
) -> dict[str, Any]:
    """One card presentation, decided as the edge would report it."""
    return decision(
        at,
        reader,
        granted=granted,
        reason=reason,
        door=door,
        holder=snapshots.holder_id(holder.pk),
        credential=snapshots.credential_id(credential.pk),
        card={
            "format": credential.format,
            "facility": credential.facility,
            "card": credential.card,
            "bits": "0" * 26,
        },
        companion=snapshots.holder_id(companion.pk) if companion else None,
    )
