"""The alarm console's tests: a site (Europe/London), people by role, and helpers that send
the sources' real catalogue events through the outbox to the real handlers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from mailwarden.contracts.events import DomainEvent, DoorForced, ScreeningAlarm
from mailwarden.core import clock, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.directory.models import Site
from tests.factories import make_site

# delivery: loopback receivers, the broker's subscriber, channel settings, and the SMTP server.
from tests.incidents.delivery_helpers import channels, mqtt_topic_root, receiver  # noqa: F401
from tests.notify.conftest import smtp_server  # noqa: F401

MANAGER = Actor("user", "mona", frozenset({Role.SECURITY_MANAGER}), user_id=9101)
OPERATOR = Actor("user", "otto", frozenset({Role.SECURITY_OPERATOR}), user_id=9102)
AUDITOR = Actor("user", "aud", frozenset({Role.AUDITOR}), user_id=9103)
CLERK = Actor("user", "cleo", frozenset({Role.CLERK}), user_id=9104)


@pytest.fixture
def site(db) -> Site:
    return make_site()


def deliver(*events: DomainEvent) -> int:
    """Emit the events as their sources do, then let the dispatcher deliver everything due."""
    if events:
        with transaction.atomic():
            outbox.emit_many(list(events))
    return outbox.dispatch_due(clock.now() + timedelta(seconds=1), limit=1000)


def forced(alarm: int, door: str = "LOBBY", at: datetime | None = None) -> DoorForced:
    return DoorForced(
        alarm=alarm,
        site="hq",
        controller="edge-1",
        door=door,
        reader=None,
        occurred_at=at or datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        detail=f"{door} opened without a grant",
    )


def threat(decision: int = 7, uid: str = "MW-ABCDEFGH") -> ScreeningAlarm:
    return ScreeningAlarm(
        uid=uid,
        tier="critical",
        reasons=["wires and a power source"],
        screener="user:sam",
        decision=decision,
        site="hq",
        location="quarantine",
    )


@pytest.fixture
def send() -> Callable[..., int]:
    return deliver
