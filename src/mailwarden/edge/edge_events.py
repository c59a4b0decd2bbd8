"""The events an edge controller writes to its outbox for the server.

``mailwarden.contracts.access`` re-exports them as the sync contract; they are defined here so
that the edge library imports nothing outside itself. PIN digits never appear in them.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

ACCESS_DECISION = "access.decision"
CARD_ERROR = "access.card_error"
READER_STATUS = "reader.status"
READER_TAMPER = "reader.tamper"
READER_POWER = "reader.power"
DOOR_EVENT = "door.event"
RULES_REJECTED = "edge.rules_rejected"
CLOCK_SKEW = "edge.clock_skew"


class EdgeEvent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    occurred_at: datetime


class PresentedCard(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    format: str
    facility: int | None
    card: int
    bits: str


class AccessDecisionEvent(EdgeEvent):
    reader_id: str
    door_id: str | None
    granted: bool
    reason: str
    holder_id: str | None
    credential_id: str | None
    card: PresentedCard | None  # None for a PIN
    snapshot_version: int | None
    companion_id: str | None = None


class CardErrorEvent(EdgeEvent):
    reader_id: str
    bit_length: int
    data_hex: str
    error: str
    message: str


class ReaderStatusEvent(EdgeEvent):
    reader_id: str
    online: bool
    secure: bool


class ReaderTamperEvent(EdgeEvent):
    reader_id: str
    tampered: bool
    source: str


class ReaderPowerEvent(EdgeEvent):
    reader_id: str
    failed: bool


class DoorEventRecord(EdgeEvent):
    door_id: str
    kind: str


class RulesRejectedEvent(EdgeEvent):
    """A rule document the controller refused; it keeps deciding from ``held_version``."""

    reason: str
    message: str
    offered_version: int | None
    held_version: int | None


class ClockSkewEvent(EdgeEvent):
    """The local clock is ``offset_s`` behind the server's (negative: ahead), or back in line."""

    offset_s: float
    threshold_s: float
    exceeded: bool
