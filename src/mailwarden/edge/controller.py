"""The edge controller's core loop body: reader events in, decisions, doors, feedback, outbox.

``AccessController.handle`` takes what a reader panel reports. For a card or a PIN it decides,
records the decision in the outbox, releases the door on a grant, and only then shows the
reader green (or red, or amber while a two-person door waits for the second person). Recording
before acting means an access that happened is always in the outbox; if the disk write fails, the
decision still stands and the failure is logged, because people at a door must not wait on a disk.

A card that also needs its PIN (card + PIN) is not decided at once: the reader goes amber with a
short beep, and the keys typed on that same reader up to ``#`` within ``pin_timeout_s`` (measured
on the monotonic clock) are the card's PIN. The decision is then made and recorded like any
other: granted only if the PIN matches, else refused as ``wrong_pin``; no PIN in time (or another
card at that reader first) is refused as ``pin_timeout``. The digits themselves are never
recorded.

A stale read (``CardRead.stale``, ``KeypadInput.stale``: it reached the controller as its reader
came back online, and may have waited there for anyone to hear it) is decided and recorded like
any other, but as ``stale_read``: the door stays shut and the reader shows red, so a person who
is still there presents the card again. Stale keys that complete a PIN are decided the same way;
stale keys after a card waiting for its PIN refuse that card as ``stale_read``; stale keys that
complete nothing are dropped, so they never begin a later PIN.

``tick`` drives the doors: free access from the rules' unlock schedules, the failure state when
there are no rules, and door alarms into the outbox.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from .clock import MonotonicClock, WallClock, monotonic, utc_now
from .decisions import Decision, DecisionEngine, Pin, Reason
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

    def pending(self, reader_id: str, wait_s: float) -> bool: ...


@dataclass(frozen=True, slots=True)
class _AwaitingPin:
    """A card + PIN credential's card, read at a reader whose keypad is to give its PIN."""

    card: Credential
    asked: Decision  # the PIN_REQUIRED answer to the card
    since: float  # monotonic seconds at the card read


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
        pin_timeout_s: float = 10.0,
    ) -> None:
        if pin_timeout_s <= 0:
            raise ValueError("pin_timeout_s must be positive")
        self.engine = engine
        self.outbox = outbox
        self.feedback = feedback
        self.doors = dict(doors or {})
        self._clock = clock
        self._monotonic = monotonic_clock
        self._pin_timeout_s = pin_timeout_s
        self._pins = PinCollector(monotonic_clock)
        self._awaiting: dict[str, _AwaitingPin] = {}  # reader -> card waiting for its PIN
        self._lock = threading.RLock()

    def handle(self, event: ReaderEvent) -> list[Decision]:
        """Act on one reader event; returns the decisions it led to (none, or one per PIN).

        A card that needs its PIN returns its PIN_REQUIRED answer (``pending``), which is not
        recorded; the decision recorded is the one made when the PIN comes, or the timeout.
        """
        with self._lock:
            if isinstance(event, CardRead):
                # A new card ends any earlier card's wait for its PIN at this reader.
                return [*self._expire(event.reader_id, force=True), *self._card(event)]
            if isinstance(event, KeypadInput) and event.stale:
                return self._stale_keys(event)
            if isinstance(event, KeypadInput):
                decisions = self._expire(event.reader_id)
                for digits in self._pins.feed(event.reader_id, event.keys):
                    waiting = self._awaiting.pop(event.reader_id, None)
                    if waiting is not None:
                        decisions.append(
                            self._decide(event.reader_id, waiting.card, waiting.card, digits)
                        )
                    else:
                        decisions.append(self._decide(event.reader_id, Pin(digits), None))
                return decisions
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
        """Advance the doors and PIN timeouts; call it every few tens of milliseconds."""
        with self._lock:
            for reader_id in list(self._awaiting):
                self._expire(reader_id)
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
        return [
            self._decide(event.reader_id, event.credential, event.credential, stale=event.stale)
        ]

    def _stale_keys(self, event: KeypadInput) -> list[Decision]:
        reader_id = event.reader_id
        waiting = self._awaiting.pop(reader_id, None)
        if waiting is not None:
            # The card's PIN (or part of it) waited in the reader: refuse the card.
            self._pins.clear(reader_id)
            decision = dataclasses.replace(
                waiting.asked, granted=False, reason=Reason.STALE_READ, at=self._clock()
            )
            return [self._act(decision, waiting.card)]
        pins = self._pins.feed(reader_id, event.keys)
        self._pins.clear(reader_id)
        return [self._decide(reader_id, Pin(digits), None, stale=True) for digits in pins]

    def _expire(self, reader_id: str, *, force: bool = False) -> list[Decision]:
        """Refuse the card waiting at ``reader_id`` for its PIN if its time is up (or ``force``)."""
        waiting = self._awaiting.get(reader_id)
        if waiting is None:
            return []
        if not force and self._monotonic() - waiting.since <= self._pin_timeout_s:
            return []
        del self._awaiting[reader_id]
        self._pins.clear(reader_id)
        decision = dataclasses.replace(
            waiting.asked, granted=False, reason=Reason.PIN_TIMEOUT, at=self._clock()
        )
        return [self._act(decision, waiting.card)]

    def _decide(
        self,
        reader_id: str,
        presented: Credential | Pin,
        card: Credential | None,
        pin: str | None = None,
        *,
        stale: bool = False,
    ) -> Decision:
        decision = self.engine.decide(reader_id, presented, self._clock(), pin=pin, stale=stale)
        if decision.awaiting_pin and card is not None:
            # Keys typed before the card are not its PIN.
            self._pins.clear(reader_id)
            self._awaiting[reader_id] = _AwaitingPin(card, decision, self._monotonic())
            # amber, flashing for as long as the PIN is awaited, and a short beep: type the PIN
            self.feedback.pending(reader_id, self._pin_timeout_s)
            return decision
        return self._act(decision, card)

    def _act(self, decision: Decision, card: Credential | None) -> Decision:
        """Record a decision, release the door on a grant, then show the reader the answer."""
        reader_id = decision.reader_id
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
            self.feedback.pending(reader_id, decision.wait_s or self._pin_timeout_s)
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
