"""The edge controller's core loop body: reader events in, decisions, doors, feedback, outbox.

``AccessController.handle`` takes what a reader panel reports. For a card or a PIN it decides,
records the decision in the outbox, releases the door on a grant, and only then shows the
reader green (or red, or amber while a two-person door waits for the second person). Recording
before acting means an access that happened is always in the outbox; if the disk write fails, the
decision still stands and the failure is logged, because people at a door must not wait on a disk.

``tick`` drives the doors: free access from the rules' unlock schedules, the failure state when
there are no rules, and door alarms into the outbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Protocol

from pydantic import BaseModel

from .clock import MonotonicClock, WallClock, monotonic, utc_now
from .decisions import Decision, DecisionEngine, Pin
from .doors import DoorEvent, DoorStateMachine
from .edge_events import (
    ACCESS_DECISION,
    CARD_ERROR,
    DOOR_EVENT,
    READER_POWER,
    READER_STATUS,
    READER_TAMPER,
    AccessDecisionEvent,
    CardErrorEvent,
    DoorEventRecord,
    PresentedCard,
    ReaderPowerEvent,
    ReaderStatusEvent,
    ReaderTamperEvent,
)
from .keypad import PinCollector
from .outbox import Outbox
from .reader_events import (
    CardRead,
    KeypadInput,
    PowerChanged,
    ReaderEvent,
    ReaderStatus,
    TamperChanged,
)
from .wiegand import Credential

log = logging.getLogger(__name__)


class ReaderFeedback(Protocol):
    def grant(self, reader_id: str) -> bool: ...

    def deny(self, reader_id: str) -> bool: ...

    def pending(self, reader_id: str) -> bool: ...


class AccessController:
    def __init__(
        self,
        engine: DecisionEngine,
        outbox: Outbox,
        feedback: ReaderFeedback,
        doors: Mapping[str, DoorStateMachine] | None = None,
        *,
        clock: WallClock = utc_now,
        monotonic_clock: MonotonicClock = monotonic,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.feedback = feedback
        self.doors = dict(doors or {})
        self._clock = clock
        self._pins = PinCollector(monotonic_clock)
        self._lock = threading.RLock()

    def handle(self, event: ReaderEvent) -> list[Decision]:
        """Act on one reader event; returns the decisions it led to (none, or one per PIN)."""
        with self._lock:
            if isinstance(event, CardRead):
                return self._card(event)
            if isinstance(event, KeypadInput):
                return [
                    self._decide(event.reader_id, Pin(pin), None)
                    for pin in self._pins.feed(event.reader_id, event.keys)
                ]
            now = self._clock()
            if isinstance(event, ReaderStatus):
                self._record(
                    READER_STATUS,
                    ReaderStatusEvent(
                        occurred_at=now,
                        reader_id=event.reader_id,
                        online=event.online,
                        secure=event.secure,
                    ),
                )
            elif isinstance(event, TamperChanged):
                self._record(
                    READER_TAMPER,
                    ReaderTamperEvent(
                        occurred_at=now,
                        reader_id=event.reader_id,
                        tampered=event.tampered,
                        source=event.source.value,
                    ),
                )
            elif isinstance(event, PowerChanged):
                self._record(
                    READER_POWER,
                    ReaderPowerEvent(
                        occurred_at=now, reader_id=event.reader_id, failed=event.failed
                    ),
                )
            return []

    def tick(self) -> None:
        """Advance the doors; call it every few tens of milliseconds."""
        with self._lock:
            now = self._clock()
            have_rules = self.engine.version is not None
            for door_id, door in self.doors.items():
                events = door.update(
                    rules_available=have_rules,
                    lockdown=self.engine.door_locked_down(door_id),
                    free_access=self.engine.door_unlocked(door_id, now),
                )
                self._record_door(events)

    def _card(self, event: CardRead) -> list[Decision]:
        if event.credential is None:
            error = event.error
            self._record(
                CARD_ERROR,
                CardErrorEvent(
                    occurred_at=self._clock(),
                    reader_id=event.reader_id,
                    bit_length=event.length,
                    data_hex=event.data.hex(),
                    error=error.reason.value if error else "unknown",
                    message=str(error) if error else "",
                ),
            )
            self.feedback.deny(event.reader_id)
            return []
        return [self._decide(event.reader_id, event.credential, event.credential)]

    def _decide(
        self, reader_id: str, presented: Credential | Pin, card: Credential | None
    ) -> Decision:
        decision = self.engine.decide(reader_id, presented, self._clock())
        self._record(
            ACCESS_DECISION,
            AccessDecisionEvent(
                occurred_at=decision.at,
                reader_id=reader_id,
                door_id=decision.door_id,
                granted=decision.granted,
                reason=decision.reason.value,
                holder_id=decision.holder_id,
                credential_id=decision.credential_id,
                card=PresentedCard(
                    format=card.format.value,
                    facility=card.facility,
                    card=card.card,
                    bits=str(card.bits),
                )
                if card
                else None,
                snapshot_version=decision.snapshot_version,
                companion_id=decision.companion_id,
            ),
        )
        if decision.granted:
            door = self.doors.get(decision.door_id or "")
            if door is not None:
                self._record_door(door.grant())
            self.feedback.grant(reader_id)
        elif decision.pending:
            self.feedback.pending(reader_id)
        else:
            self.feedback.deny(reader_id)
        return decision

    def _record_door(self, events: list[DoorEvent]) -> None:
        now = self._clock()
        for event in events:
            self._record(
                DOOR_EVENT,
                DoorEventRecord(occurred_at=now, door_id=event.door_id, kind=event.kind.value),
            )

    def _record(self, kind: str, payload: BaseModel) -> None:
        try:
            self.outbox.put(kind, payload)
        except Exception:
            log.exception("outbox write failed; %s event not recorded: %r", kind, payload)
