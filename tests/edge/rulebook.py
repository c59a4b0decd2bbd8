"""A small site's rules for the edge tests, and the device secret that signs them.

Site time zone Europe/London. In June it is on BST (UTC+1), so a test that mixes up UTC and local
time is an hour out and fails at the schedule edges.
"""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from typing import Any

from mailwarden.edge.rules import (
    AccessLevel,
    AntiPassbackArea,
    AntiPassbackMode,
    CredentialEntry,
    Door,
    DoorMode,
    FirstPersonIn,
    Reader,
    RuleDelta,
    RuleSnapshot,
    Schedule,
    TimeWindow,
    TwoPersonRule,
    WeeklyWindow,
    pin_hash,
)
from mailwarden.edge.signing import DocumentKind, sign_document
from mailwarden.edge.wiegand import WiegandFormat

SECRET = secrets.token_bytes(32)
KEY_ID = "edge-test"
KEYS = {KEY_ID: SECRET}
PIN_SALT = "00112233445566778899aabbccddeeff"
PIN_ITERATIONS = 1000  # small so tests stay fast; production snapshots use far more

# Monday 1 June 2026, 12:00 BST.
MONDAY_NOON = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)
BANK_HOLIDAY = date(2026, 5, 25)  # Monday, the spring bank holiday

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


def card(
    entry_id: str,
    holder: str,
    number: int,
    *levels: str,
    facility: int = 10,
    fmt: WiegandFormat = WiegandFormat.H10301,
    **extra: Any,
) -> CredentialEntry:
    return CredentialEntry(
        id=entry_id,
        holder_id=holder,
        format=fmt,
        facility=facility,
        card=number,
        levels=levels,
        **extra,
    )


def pin(entry_id: str, holder: str, digits: str, *levels: str) -> CredentialEntry:
    return CredentialEntry(
        id=entry_id,
        holder_id=holder,
        pin_hash=pin_hash(digits, PIN_SALT, PIN_ITERATIONS),
        levels=levels,
    )


STANDARD_CREDENTIALS = (
    card("c-alice", "alice", 1001, "office-hours"),
    card("c-bob", "bob", 1002, "office-hours"),
    card("c-carol", "carol", 1003, "vault"),
    card("c-dave", "dave", 1004, "vault"),
    card("c-sam", "sam", 1005, "supervisor", "office-hours"),
    card("c-rita", "rita", 1006, "responder"),
    pin("p-erin", "erin", "4321", "office-hours"),
)


def snapshot(version: int = 1, *, credentials: tuple[CredentialEntry, ...] = (), **over: Any):
    fields: dict[str, Any] = {
        "version": version,
        "site_id": "hq",
        "timezone": "Europe/London",
        "issued_at": MONDAY_NOON,
        "holidays": (BANK_HOLIDAY,),
        "pin_salt": PIN_SALT,
        "pin_iterations": PIN_ITERATIONS,
        "schedules": (
            Schedule(
                id="office", windows=(WeeklyWindow(days=WEEKDAYS, start="08:00", end="18:00"),)
            ),
            Schedule(
                id="always",
                windows=(WeeklyWindow(days=(*WEEKDAYS, "sat", "sun"), start="00:00", end="24:00"),),
                holiday_windows=(TimeWindow(start="00:00", end="24:00"),),
            ),
            Schedule(
                id="dock-hours", windows=(WeeklyWindow(days=WEEKDAYS, start="09:00", end="17:00"),)
            ),
        ),
        "levels": (
            AccessLevel(id="office-hours", doors=("mailroom", "dock"), schedule_id="office"),
            AccessLevel(id="vault", doors=("vault",), schedule_id="always"),
            AccessLevel(id="supervisor", doors=("dock",), schedule_id="always"),
            AccessLevel(id="responder", doors=(), schedule_id="always"),
        ),
        "doors": (
            Door(id="mailroom", lockdown_levels=("responder",)),
            Door(id="vault", two_person=TwoPersonRule(window_s=30)),
            Door(
                id="dock",
                mode=DoorMode.SCHEDULED_UNLOCK,
                unlock_schedule_id="dock-hours",
                first_person_in=FirstPersonIn(levels=("supervisor",)),
            ),
        ),
        "readers": (
            Reader(id="mailroom-in", door_id="mailroom", area_to="mailroom"),
            Reader(id="mailroom-out", door_id="mailroom", area_from="mailroom"),
            Reader(id="vault-in", door_id="vault"),
            Reader(id="dock-in", door_id="dock"),
        ),
        "areas": (AntiPassbackArea(id="mailroom", mode=AntiPassbackMode.HARD),),
        "credentials": credentials or STANDARD_CREDENTIALS,
    }
    fields.update(over)
    return RuleSnapshot(**fields)


def signed(model: RuleSnapshot | RuleDelta, secret: bytes = SECRET, key_id: str = KEY_ID) -> bytes:
    kind = DocumentKind.SNAPSHOT if isinstance(model, RuleSnapshot) else DocumentKind.DELTA
    return sign_document(kind, model, secret, key_id)
