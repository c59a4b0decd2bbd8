"""Card + PIN: a card that opens only with its PIN typed on the same reader after it.

The engine answers such a card PIN_REQUIRED (changing no state) until it is asked again with the
digits; the controller shows amber, collects the keys on the injected clock, and records only the
final decision, never the digits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from mailwarden.edge.clock import ManualClock
from mailwarden.edge.controller import AccessController
from mailwarden.edge.decisions import Decision, DecisionEngine, Pin, Reason
from mailwarden.edge.doors import DoorConfig, DoorStateMachine, SimulatedIO
from mailwarden.edge.edge_events import ACCESS_DECISION
from mailwarden.edge.outbox import Outbox
from mailwarden.edge.reader_events import CardRead, KeypadInput
from mailwarden.edge.rules import CredentialEntry, pin_hash
from mailwarden.edge.wiegand import Credential, WiegandFormat, decode, encode

from .rulebook import (
    KEYS,
    MONDAY_NOON,
    PIN_ITERATIONS,
    PIN_SALT,
    STANDARD_CREDENTIALS,
    card,
    signed,
    snapshot,
)

PAT_PIN = "2468"
PAT, ALICE, QUINN = 1010, 1001, 1011


def card_and_pin(entry_id: str, holder: str, number: int, digits: str, *levels: str, **extra):
    return card(
        entry_id,
        holder,
        number,
        *levels,
        pin_hash=pin_hash(digits, PIN_SALT, PIN_ITERATIONS),
        **extra,
    )


CREDENTIALS = (
    *STANDARD_CREDENTIALS,
    card_and_pin("c-pat", "pat", PAT, PAT_PIN, "office-hours"),
    card_and_pin("c-quinn", "quinn", QUINN, "1357", "office-hours", enabled=False),
)


def badge(number: int) -> Credential:
    frame = encode(WiegandFormat.H10301, 10, number)
    return decode(frame.value, frame.length)


def read(reader_id: str, number: int) -> CardRead:
    credential = badge(number)
    bits = credential.bits
    return CardRead(reader_id, bits.length, bits.to_osdp(), credential, None)


@pytest.fixture
def engine() -> DecisionEngine:
    engine = DecisionEngine(KEYS)
    engine.load_snapshot(signed(snapshot(credentials=CREDENTIALS)))
    return engine


# -- the rule model ----------------------------------------------------------------------------


class TestRules:
    def test_a_card_may_carry_a_pin_hash(self):
        entry = CREDENTIALS[-2]
        assert entry.needs_pin and entry.card_key is not None
        assert not STANDARD_CREDENTIALS[0].needs_pin  # a plain card
        assert not STANDARD_CREDENTIALS[-1].needs_pin  # a PIN on its own

    def test_a_credential_still_needs_a_card_or_a_pin(self):
        with pytest.raises(ValueError, match="a card"):
            CredentialEntry(id="x", holder_id="h")

    def test_a_cards_pin_need_not_differ_from_a_pin_credential(self):
        erin_pin = "4321"  # p-erin's PIN, which opens on its own
        snapshot(credentials=(*CREDENTIALS, card_and_pin("c-zed", "zed", 1020, erin_pin)))

    def test_the_card_itself_is_still_unique(self):
        with pytest.raises(ValueError, match="issued twice"):
            snapshot(credentials=(*CREDENTIALS, card("c-dup", "dup", PAT)))


# -- the engine --------------------------------------------------------------------------------


class TestEngine:
    def test_the_card_alone_asks_for_the_pin(self, engine):
        decision = engine.decide("mailroom-in", badge(PAT), MONDAY_NOON)
        assert (decision.granted, decision.reason) == (False, Reason.PIN_REQUIRED)
        assert decision.pending and decision.awaiting_pin
        assert (decision.holder_id, decision.credential_id) == ("pat", "c-pat")

    def test_the_right_pin_grants(self, engine):
        decision = engine.decide("mailroom-in", badge(PAT), MONDAY_NOON, pin=PAT_PIN)
        assert (decision.granted, decision.reason) == (True, Reason.GRANTED)

    @pytest.mark.parametrize("digits", ["1111", "24680", "", "24a8"])
    def test_a_wrong_pin_is_refused(self, engine, digits):
        decision = engine.decide("mailroom-in", badge(PAT), MONDAY_NOON, pin=digits)
        assert (decision.granted, decision.reason) == (False, Reason.WRONG_PIN)

    def test_the_cards_pin_alone_opens_nothing(self, engine):
        decision = engine.decide("mailroom-in", Pin(PAT_PIN), MONDAY_NOON)
        assert decision.reason is Reason.UNKNOWN_CREDENTIAL

    def test_a_plain_card_needs_no_pin(self, engine):
        decision = engine.decide("mailroom-in", badge(ALICE), MONDAY_NOON)
        assert (decision.granted, decision.reason) == (True, Reason.GRANTED)

    def test_a_card_refused_anyway_asks_for_no_pin(self, engine):
        night = datetime(2026, 6, 1, 22, 0, tzinfo=UTC)
        assert engine.decide("mailroom-in", badge(PAT), night).reason is Reason.OUTSIDE_SCHEDULE
        assert engine.decide("vault-in", badge(PAT), MONDAY_NOON).reason is Reason.NO_ACCESS
        disabled = engine.decide("mailroom-in", badge(QUINN), MONDAY_NOON, pin="1357")
        assert disabled.reason is Reason.CREDENTIAL_DISABLED

    def test_asking_and_a_wrong_pin_change_no_anti_passback_state(self, engine):
        engine.decide("mailroom-in", badge(PAT), MONDAY_NOON)
        engine.decide("mailroom-in", badge(PAT), MONDAY_NOON, pin="0000")
        assert engine.decide("mailroom-in", badge(PAT), MONDAY_NOON, pin=PAT_PIN).granted
        again = engine.decide("mailroom-in", badge(PAT), MONDAY_NOON, pin=PAT_PIN)
        assert again.reason is Reason.ANTI_PASSBACK


# -- the controller ----------------------------------------------------------------------------


class Lights:
    """Reader feedback that remembers what each reader was shown."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []
        self.waits: list[float] = []  # how long each "pending" was to show

    def grant(self, reader_id: str) -> bool:
        self.shown.append(("grant", reader_id))
        return True

    def deny(self, reader_id: str) -> bool:
        self.shown.append(("deny", reader_id))
        return True

    def pending(self, reader_id: str, wait_s: float) -> bool:
        self.shown.append(("pending", reader_id))
        self.waits.append(wait_s)
        return True


@dataclass
class Door:
    controller: AccessController
    clock: ManualClock
    outbox: Outbox
    lights: Lights
    io: SimulatedIO

    def card(self, number: int) -> list[Decision]:
        return self.controller.handle(read("mailroom-in", number))

    def keys(self, keys: str) -> list[Decision]:
        return self.controller.handle(KeypadInput("mailroom-in", keys))

    def decisions(self) -> list[dict[str, Any]]:
        return [e.payload for e in self.outbox.due(limit=1000) if e.kind == ACCESS_DECISION]

    def recorded_text(self) -> str:
        return json.dumps([e.payload for e in self.outbox.due(limit=1000)])


PIN_TIMEOUT_S = 10.0


@pytest.fixture
def door(engine, tmp_path) -> Iterator[Door]:
    clock = ManualClock(MONDAY_NOON)
    lights = Lights()
    io = SimulatedIO()
    machine = DoorStateMachine(DoorConfig("mailroom"), io, clock.monotonic)
    with Outbox(tmp_path / "outbox.sqlite3", clock=clock.now) as outbox:
        controller = AccessController(
            engine,
            outbox,
            lights,
            {"mailroom": machine},
            clock=clock.now,
            monotonic_clock=clock.monotonic,
            pin_timeout_s=PIN_TIMEOUT_S,
        )
        yield Door(controller, clock, outbox, lights, io)


class TestController:
    def test_right_pin_after_the_card_opens_the_door(self, door):
        [asked] = door.card(PAT)
        assert asked.reason is Reason.PIN_REQUIRED
        assert door.lights.shown == [("pending", "mailroom-in")]  # amber, short beep
        assert door.lights.waits == [PIN_TIMEOUT_S]  # flashing while the PIN is awaited
        assert door.decisions() == []  # nothing final yet
        assert door.io.locked is True

        door.clock.advance(3)
        assert door.keys("24") == []
        door.clock.advance(2)
        [decision] = door.keys("68#")
        assert (decision.granted, decision.reason) == (True, Reason.GRANTED)
        assert door.io.locked is False
        assert door.lights.shown[-1] == ("grant", "mailroom-in")
        [recorded] = door.decisions()
        assert (recorded["granted"], recorded["reason"], recorded["holder_id"]) == (
            True,
            "granted",
            "pat",
        )
        assert recorded["credential_id"] == "c-pat"
        assert recorded["card"]["card"] == PAT
        assert PAT_PIN not in door.recorded_text()

    def test_wrong_pin_is_refused_and_recorded(self, door):
        door.card(PAT)
        [decision] = door.keys("9753#")
        assert (decision.granted, decision.reason) == (False, Reason.WRONG_PIN)
        assert door.io.locked is True
        assert door.lights.shown == [("pending", "mailroom-in"), ("deny", "mailroom-in")]
        [recorded] = door.decisions()
        assert (recorded["granted"], recorded["reason"]) == (False, "wrong_pin")
        assert recorded["holder_id"] == "pat" and recorded["card"]["card"] == PAT
        assert "9753" not in door.recorded_text()
        # The wait is over: the right PIN typed now is a PIN on its own, which opens nothing.
        [alone] = door.keys(f"{PAT_PIN}#")
        assert alone.reason is Reason.UNKNOWN_CREDENTIAL
        assert door.io.locked is True

    def test_no_pin_in_time_is_refused_on_tick(self, door):
        door.card(PAT)
        door.keys("24")
        door.clock.advance(PIN_TIMEOUT_S)
        door.controller.tick()
        assert door.decisions() == []  # exactly at the limit is still in time
        door.clock.advance(0.5)
        door.controller.tick()
        [recorded] = door.decisions()
        assert (recorded["granted"], recorded["reason"]) == (False, "pin_timeout")
        assert recorded["holder_id"] == "pat" and recorded["card"]["card"] == PAT
        assert door.lights.shown[-1] == ("deny", "mailroom-in")
        # The half-typed PIN went with it.
        [late] = door.keys("68#")
        assert late.reason is Reason.UNKNOWN_CREDENTIAL
        assert door.io.locked is True

    def test_a_pin_typed_too_late_is_refused_without_a_tick(self, door):
        door.card(PAT)
        door.clock.advance(PIN_TIMEOUT_S + 1)
        timeout, alone = door.keys(f"{PAT_PIN}#")
        assert (timeout.granted, timeout.reason) == (False, Reason.PIN_TIMEOUT)
        assert alone.reason is Reason.UNKNOWN_CREDENTIAL
        assert [d["reason"] for d in door.decisions()] == ["pin_timeout", "unknown_credential"]
        assert door.io.locked is True

    def test_keys_typed_before_the_card_are_not_its_pin(self, door):
        door.keys("24")
        door.card(PAT)
        [decision] = door.keys("68#")
        assert decision.reason is Reason.WRONG_PIN

    def test_another_card_ends_the_wait(self, door):
        door.card(PAT)
        timeout, alice = door.card(ALICE)
        assert (timeout.reason, timeout.holder_id) == (Reason.PIN_TIMEOUT, "pat")
        assert (alice.reason, alice.holder_id) == (Reason.GRANTED, "alice")
        [late] = door.keys(f"{PAT_PIN}#")
        assert late.reason is Reason.UNKNOWN_CREDENTIAL

    def test_a_plain_card_needs_no_pin(self, door):
        [decision] = door.card(ALICE)
        assert (decision.granted, decision.reason) == (True, Reason.GRANTED)
        assert door.lights.shown == [("grant", "mailroom-in")]
        assert door.io.locked is False
        assert [d["reason"] for d in door.decisions()] == ["granted"]

    def test_a_pin_on_its_own_still_works(self, door):
        [decision] = door.keys("4321#")
        assert (decision.granted, decision.holder_id) == (True, "erin")
