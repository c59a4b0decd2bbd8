"""The access-control sync contract between the server and an edge controller.

Two device operations, both with the controller's device token (``Authorization: Bearer ...``):

``GET /api/access/rules?since=N``
    :class:`RulesResponse`. ``document`` is the envelope from
    :func:`mailwarden.edge.signing.sign_document`, embedded as a JSON object (not as a string):
    a ``rule-snapshot`` or a ``rule-delta`` signed with the controller's sync secret, ``key_id``
    being the controller's name. :meth:`SignedDocument.to_bytes` gives the bytes to hand to
    ``DecisionEngine.load_snapshot`` / ``apply_delta`` and to keep for ``restore``.

``POST /api/access/events``
    :class:`EventBatch` in, :class:`EventBatchResult` out. Each event carries its outbox key, so
    the server applies it once however often it is sent.

The event payloads themselves are the edge library's models (:mod:`mailwarden.edge.edge_events`),
re-exported here so both sides name one set of classes. They stay defined in the edge library so
that the library, which must import nothing outside itself, can still be used on its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mailwarden.edge.edge_events import (
    ACCESS_DECISION,
    CARD_ERROR,
    CLOCK_SKEW,
    DOOR_EVENT,
    READER_POWER,
    READER_STATUS,
    READER_TAMPER,
    RULES_REJECTED,
    AccessDecisionEvent,
    CardErrorEvent,
    ClockSkewEvent,
    DoorEventRecord,
    EdgeEvent,
    PresentedCard,
    ReaderPowerEvent,
    ReaderStatusEvent,
    ReaderTamperEvent,
    RulesRejectedEvent,
)
from mailwarden.edge.rules import RuleDelta, RuleSnapshot
from mailwarden.edge.signing import DocumentKind, canonical_json

__all__ = [
    "ACCESS_DECISION",
    "CARD_ERROR",
    "CLOCK_SKEW",
    "DOOR_EVENT",
    "EVENT_MODELS",
    "MAX_BATCH",
    "MAX_FUTURE_SKEW_S",
    "READER_POWER",
    "READER_STATUS",
    "READER_TAMPER",
    "RULES_REJECTED",
    "AccessDecisionEvent",
    "CardErrorEvent",
    "ClockSkewEvent",
    "DoorEventRecord",
    "EdgeEvent",
    "EventBatch",
    "EventBatchResult",
    "EventEnvelope",
    "PresentedCard",
    "ReaderPowerEvent",
    "ReaderStatusEvent",
    "ReaderTamperEvent",
    "RejectedEvent",
    "RuleDelta",
    "RuleSnapshot",
    "RulesRejectedEvent",
    "RulesResponse",
    "SignedDocument",
]

MAX_BATCH = 500
# An event stamped further ahead than this is refused: the controller's clock is wrong, and
# storing the time would put the access log out of order.
MAX_FUTURE_SKEW_S = 300

EVENT_MODELS: dict[str, type[EdgeEvent]] = {
    ACCESS_DECISION: AccessDecisionEvent,
    CARD_ERROR: CardErrorEvent,
    READER_STATUS: ReaderStatusEvent,
    READER_TAMPER: ReaderTamperEvent,
    READER_POWER: ReaderPowerEvent,
    DOOR_EVENT: DoorEventRecord,
    RULES_REJECTED: RulesRejectedEvent,
    CLOCK_SKEW: ClockSkewEvent,
}


class SignedDocument(BaseModel):
    """The signed envelope, as :func:`mailwarden.edge.signing.sign_document` builds it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DocumentKind
    alg: str
    key_id: str
    payload: dict[str, Any]
    signature: str

    def to_bytes(self) -> bytes:
        # The signature covers canonical JSON, so re-encoding canonically gives back the exact
        # bytes the server signed.
        return canonical_json(self.model_dump(mode="json"))


class RulesResponse(BaseModel):
    """``document`` is absent when ``up_to_date``; else a snapshot, or a delta from ``since``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    up_to_date: bool
    version: int = Field(ge=0)
    document: SignedDocument | None = None


class EventEnvelope(BaseModel):
    """One outbox event: ``type`` is an ``edge_events`` constant, ``event`` its model's fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: uuid.UUID
    type: str = Field(min_length=1, max_length=40)
    event: dict[str, Any]


class EventBatch(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    events: list[EventEnvelope] = Field(max_length=MAX_BATCH)


class RejectedEvent(BaseModel):
    """``key`` is the key as sent (None when the item had none that could be read)."""

    key: str | None
    reason: str


class EventBatchResult(BaseModel):
    """Keys are echoed as sent. ``applied`` and ``duplicates`` are both stored: mark them
    delivered. ``rejected`` ones were not stored; one refused for clock skew is accepted once its
    time is no longer ahead of the server's, a malformed one never is."""

    applied: list[str] = []
    duplicates: list[str] = []
    rejected: list[RejectedEvent] = []
