"""Access events and credentials as a person reads them: what happened, to whom, where, when;
a credential's number and whether it is in use.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from django.utils import timezone

from mailwarden.access.models import AccessEvent, Credential, CredentialKind
from mailwarden.access.views.common import site_zone
from mailwarden.contracts.access import (
    ACCESS_DECISION,
    CARD_ERROR,
    DOOR_EVENT,
    READER_POWER,
    READER_STATUS,
    READER_TAMPER,
)
from mailwarden.edge.decisions import Reason

REASON_LABELS: dict[str, str] = {
    Reason.GRANTED: "Access granted",
    Reason.GRANTED_SOFT_ANTI_PASSBACK: "Granted (anti-passback flagged)",
    Reason.GRANTED_TWO_PERSON: "Granted with a second person",
    Reason.GRANTED_LOCKDOWN_OVERRIDE: "Granted during lockdown",
    Reason.NO_RULES: "Refused: the controller has no rules",
    Reason.UNKNOWN_READER: "Refused: unknown reader",
    Reason.UNKNOWN_CREDENTIAL: "Refused: unknown card",
    Reason.CREDENTIAL_DISABLED: "Refused: credential revoked",
    Reason.NOT_YET_VALID: "Refused: not yet valid",
    Reason.EXPIRED: "Refused: expired",
    Reason.NO_ACCESS: "Refused: no access to this door",
    Reason.OUTSIDE_SCHEDULE: "Refused: outside its schedule",
    Reason.LOCKDOWN: "Refused: lockdown",
    Reason.ANTI_PASSBACK: "Refused: anti-passback",
    Reason.TWO_PERSON_WAITING: "Waiting for a second person",
    Reason.TWO_PERSON_SAME_HOLDER: "Refused: the same person twice",
    Reason.AWAITING_FIRST_PERSON: "Refused: waiting for the first person in",
    Reason.STALE_READ: "Refused: stale read (queued while the reader was offline)",
}
DOOR_EVENT_LABELS = {
    "opened": "Door opened",
    "closed": "Door closed",
    "forced_open": "Door forced open",
    "held_open": "Door held open",
    "unlocked": "Door unlocked",
    "locked": "Door locked",
    "request_to_exit": "Exit button pressed",
    "grant_ignored": "Grant ignored: the lock has no power",
    "power_lost": "Lock power lost",
    "power_restored": "Lock power restored",
    "rules_lost": "Controller lost its rules",
    "rules_restored": "Controller has rules again",
}
ALARMING_DOOR_KINDS = frozenset({"forced_open", "held_open", "power_lost", "rules_lost"})


@dataclass(frozen=True)
class EventRow:
    """An access event as a person reads it: what happened, to whom, where, when."""

    event: AccessEvent
    tone: str  # ok | warn | danger | info
    title: str
    who: str
    credential: str
    door: str
    reader: str
    at: datetime

    @property
    def where(self) -> str:
        return (
            f"{self.door} · {self.reader}"
            if self.door and self.reader
            else self.door or self.reader
        )


def _credential_label(credential: Credential | None, payload: dict[str, Any]) -> str:
    if credential is not None:
        return credential_number(credential)
    card = payload.get("card") if isinstance(payload, dict) else None
    if isinstance(card, dict) and "card" in card:
        facility = "" if card.get("facility") is None else f"{card['facility']}/"
        return f"{card.get('format', '')} {facility}{card['card']}".strip()
    return ""


def credential_number(credential: Credential) -> str:
    if credential.kind == CredentialKind.PIN:
        return "PIN"
    facility = "" if credential.facility is None else f"{credential.facility}/"
    number = f"{credential.format} {facility}{credential.card}"
    return f"{number} + PIN" if credential.kind == CredentialKind.CARD_AND_PIN else number


def describe(event: AccessEvent, zone: tzinfo | None = None) -> EventRow:
    tone, title = "info", event.type
    reason = event.reason
    if event.type == ACCESS_DECISION:
        title = REASON_LABELS.get(reason, reason.replace("_", " ").capitalize())
        if event.granted:
            tone = "ok"
        elif reason == Reason.TWO_PERSON_WAITING:
            tone = "warn"
        else:
            tone = "danger"
    elif event.type == CARD_ERROR:
        tone, title = "danger", "Refused: card could not be read"
    elif event.type == READER_STATUS:
        online = reason == "online"
        tone = "ok" if online else "danger"
        title = "Reader online" if online else "Reader offline"
    elif event.type == READER_TAMPER:
        tampered = reason == "tamper"
        tone = "danger" if tampered else "ok"
        title = "Reader tampered" if tampered else "Reader tamper cleared"
    elif event.type == READER_POWER:
        failed = reason == "power_failed"
        tone = "danger" if failed else "ok"
        title = "Reader power failed" if failed else "Reader power restored"
    elif event.type == DOOR_EVENT:
        title = DOOR_EVENT_LABELS.get(reason, reason.replace("_", " ").capitalize())
        tone = "danger" if reason in ALARMING_DOOR_KINDS else "info"
    who = event.cardholder.name if event.cardholder else (event.holder_ref or "")
    if event.companion is not None:
        who = f"{who} with {event.companion.name}" if who else event.companion.name
    door = str(event.door) if event.door else event.door_ref
    at = timezone.localtime(event.occurred_at, zone or site_zone(event.site))
    credential = _credential_label(event.credential, event.payload)
    return EventRow(event, tone, title, who, credential, door, event.reader_ref, at)


@dataclass(frozen=True)
class CredentialRow:
    credential: Credential
    number: str
    status: str  # live | revoked | expired | pending
    status_label: str
    valid_until: datetime | None


def credential_rows(credentials: Iterable[Credential], now: datetime) -> list[CredentialRow]:
    rows = []
    for c in credentials:
        if c.revoked_at is not None:
            status, label = "revoked", "Revoked"
        elif c.valid_until is not None and c.valid_until <= now:
            status, label = "expired", "Expired"
        elif c.valid_from is not None and c.valid_from > now:
            status, label = "pending", "Not yet valid"
        else:
            status, label = "live", "In use"
        rows.append(CredentialRow(c, credential_number(c), status, label, c.valid_until))
    return rows
