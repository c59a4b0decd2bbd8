"""A small access-controlled mailroom, built through the services.

Site ``hq`` (Europe/London) with two edge controllers. ``edge-1`` serves the quarantine room
(an entry and an exit reader, hard anti-passback inside) and the dock; ``edge-2`` serves the
lobby. Alice may enter quarantine at any time; Bob and Erin (a PIN) only have office hours.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from mailwarden.access import services
from mailwarden.access.models import (
    AccessAlarm,
    AccessController,
    AccessEvent,
    AccessLevel,
    Cardholder,
    Credential,
    Door,
    Reader,
    RulePublication,
    Schedule,
    SiteRules,
)
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerHead, OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.directory.models import Site
from mailwarden.edge.decisions import DecisionEngine
from tests.factories import ADMIN, make_recipient, make_site

MANAGER = Actor("user", "mona", frozenset({Role.SECURITY_MANAGER}), user_id=9101)
OPERATOR = Actor("user", "otto", frozenset({Role.SECURITY_OPERATOR}), user_id=9102)
CLERK = Actor("user", "cleo", frozenset({Role.CLERK}), user_id=9201)
SCREENER = Actor("user", "sam", frozenset({Role.SCREENER}), user_id=9202)
AUDITOR = Actor("user", "aud", frozenset({Role.AUDITOR}), user_id=9203)

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
# The frozen clock's start: Monday 2 March 2026, 09:00 UTC (09:00 in London, GMT).
MONDAY_9AM = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Mailroom:
    site: Site
    edge1: AccessController
    edge2: AccessController
    secret1: bytes
    secret2: bytes
    token1: str
    token2: str
    office: Schedule
    always: Schedule
    quarantine: Door
    dock: Door
    lobby: Door
    q_in: Reader
    q_out: Reader
    dock_in: Reader
    lobby_in: Reader
    screeners: AccessLevel
    staff: AccessLevel
    alice: Cardholder
    bob: Cardholder
    erin: Cardholder
    alice_card: Credential
    bob_card: Credential
    erin_pin: Credential

    def engine(self, which: int = 1) -> DecisionEngine:
        ctl = self.edge1 if which == 1 else self.edge2
        return DecisionEngine({ctl.name: bytes.fromhex(ctl.sync_secret)})


def card(holder: Cardholder, number: int, *levels: AccessLevel, **extra: Any) -> Credential:
    return services.credentials.issue_credential(
        MANAGER,
        services.credentials.CredentialData(
            holder_id=holder.pk,
            format="H10301",
            facility=10,
            card=number,
            level_ids=[lv.pk for lv in levels],
            **extra,
        ),
    )


@pytest.fixture(autouse=True)
def watching_all_along():
    """The controller watch began long before each test's clock (a server that has been up):
    the tests of a watch that has just begun say so."""
    services.alarms.restart_watch(datetime(2000, 1, 1, tzinfo=UTC))
    yield
    services.alarms.restart_watch(None)


@pytest.fixture
def mailroom(db, frozen_clock) -> Mailroom:
    site = make_site()
    e1 = services.doors.create_controller(ADMIN, name="edge-1", site="hq")
    e2 = services.doors.create_controller(ADMIN, name="edge-2", site="hq")
    office = services.levels.create_schedule(
        MANAGER,
        site="hq",
        name="office",
        windows=[{"days": WEEKDAYS, "start": "08:00", "end": "18:00"}],
    )
    always = services.levels.create_schedule(
        MANAGER,
        site="hq",
        name="always",
        windows=[{"days": [*WEEKDAYS, "sat", "sun"], "start": "00:00", "end": "24:00"}],
        holiday_windows=[{"start": "00:00", "end": "24:00"}],
    )
    services.doors.create_area(MANAGER, site="hq", code="quarantine-room", mode="hard")
    quarantine = services.doors.create_door(
        MANAGER,
        services.doors.DoorData(
            site="hq",
            code="quarantine",
            name="Quarantine room",
            location="quarantine",
            area_inside="quarantine-room",
        ),
    )
    dock = services.doors.create_door(
        MANAGER, services.doors.DoorData(site="hq", code="dock", location="dock")
    )
    lobby = services.doors.create_door(MANAGER, services.doors.DoorData(site="hq", code="lobby"))
    q_in = services.doors.create_reader(
        MANAGER, controller="edge-1", door="quarantine", code="q-in", osdp_address=1
    )
    q_out = services.doors.create_reader(
        MANAGER,
        controller="edge-1",
        door="quarantine",
        code="q-out",
        osdp_address=2,
        direction="out",
    )
    dock_in = services.doors.create_reader(
        MANAGER, controller="edge-1", door="dock", code="dock-in", osdp_address=3
    )
    lobby_in = services.doors.create_reader(
        MANAGER, controller="edge-2", door="lobby", code="lobby-in", osdp_address=1
    )
    screeners = services.levels.create_level(
        MANAGER, site="hq", name="screeners", schedule_id=always.pk, doors=["quarantine"]
    )
    staff = services.levels.create_level(
        MANAGER, site="hq", name="staff", schedule_id=office.pk, doors=["dock", "lobby"]
    )
    alice = services.credentials.create_cardholder(
        MANAGER, employee_id=make_recipient(first_name="Alice").employee_id
    )
    bob = services.credentials.create_cardholder(MANAGER, name="Bob Baker")
    erin = services.credentials.create_cardholder(MANAGER, name="Erin Eve")
    alice_card = card(alice, 1001, screeners, staff)
    bob_card = card(bob, 1002, staff)
    erin_pin = services.credentials.issue_credential(
        MANAGER,
        services.credentials.CredentialData(
            holder_id=erin.pk, kind="pin", pin="4321", level_ids=[staff.pk]
        ),
    )
    return Mailroom(
        site=site,
        edge1=e1.controller,
        edge2=e2.controller,
        secret1=bytes.fromhex(e1.sync_secret),
        secret2=bytes.fromhex(e2.sync_secret),
        token1=e1.token,
        token2=e2.token,
        office=office,
        always=always,
        quarantine=quarantine,
        dock=dock,
        lobby=lobby,
        q_in=q_in,
        q_out=q_out,
        dock_in=dock_in,
        lobby_in=lobby_in,
        screeners=screeners,
        staff=staff,
        alice=alice,
        bob=bob,
        erin=erin,
        alice_card=alice_card,
        bob_card=bob_card,
        erin_pin=erin_pin,
    )


def device(controller: AccessController) -> Actor:
    return Actor.device(controller.name, Role.SECURITY_OPERATOR)


def event(kind: str, at: datetime, /, **fields: Any) -> dict[str, Any]:
    """One batch item as an edge sends it, with a fresh key."""
    return {
        "key": str(uuid.uuid4()),
        "type": kind,
        "event": {"occurred_at": at.isoformat(), **fields},
    }


def decision(
    at: datetime,
    reader: str,
    *,
    granted: bool,
    reason: str,
    door: str | None = None,
    holder: str | None = None,
    credential: str | None = None,
    card: dict[str, Any] | None = None,
    companion: str | None = None,
    version: int | None = 1,
) -> dict[str, Any]:
    return event(
        "access.decision",
        at,
        reader_id=reader,
        door_id=door,
        granted=granted,
        reason=reason,
        holder_id=holder,
        credential_id=credential,
        card=card,
        snapshot_version=version,
        companion_id=companion,
    )


def state() -> tuple[object, ...]:
    """Everything a refused change must leave as it was."""
    head = LedgerHead.objects.filter(id=1).values_list("seq", "hash").first()
    return (
        head,
        OutboxEvent.objects.count(),
        list(SiteRules.objects.values_list("site_id", "version", "lockdown")),
        Credential.objects.count(),
        list(Credential.objects.values_list("pk", "revoked_at")),
        Door.objects.count(),
        list(Door.objects.values_list("pk", "mode")),
        Reader.objects.count(),
        AccessLevel.objects.count(),
        Schedule.objects.count(),
        list(Cardholder.objects.order_by("pk").values_list("pk", "name", "kind", "company")),
        AccessController.objects.count(),
        AccessEvent.objects.count(),
        AccessAlarm.objects.count(),
        RulePublication.objects.count(),
    )
