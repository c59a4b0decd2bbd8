"""A read that waited in the reader never opens the door when the reader comes back.

A libosdp peripheral keeps the cards and keys presented while no panel polls it (the edge
stopped, the line cut, the reader being provisioned) and hands them over as soon as a panel
brings it online. These tests queue reads in a real simulated reader while no panel is there,
then start a panel: each read is decided and recorded as ``stale_read``, the door stays locked
and the reader shows red; a card presented once the reader has settled opens the door as ever.
The panel's settling window runs on an injected clock, so no test waits for time to pass.
"""

from __future__ import annotations

import dataclasses
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import osdp as libosdp
import pytest

from mailwarden.edge.channels import SocketChannel
from mailwarden.edge.clock import ManualClock
from mailwarden.edge.controller import AccessController
from mailwarden.edge.decisions import DecisionEngine, Pin, Reason
from mailwarden.edge.doors import DoorConfig, DoorStateMachine, SimulatedIO
from mailwarden.edge.edge_events import ACCESS_DECISION
from mailwarden.edge.osdp import ReaderConfig, ReaderPanel, provision
from mailwarden.edge.outbox import Outbox
from mailwarden.edge.reader_events import CardRead, KeypadInput, ReaderEvent
from mailwarden.edge.rules import pin_hash
from mailwarden.edge.simulated_reader import SimulatedReader
from mailwarden.edge.wiegand import WiegandFormat, decode, encode

from .conftest import QUIET, SETTLE_S, WAIT, EventLog
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

GREEN = libosdp.CommandLEDColor.Green
RED = libosdp.CommandLEDColor.Red
ALICE, CAROL, DAVE, PAT = 1001, 1003, 1004, 1010
PAT_PIN = "2468"
ERIN_PIN = "4321"  # p-erin's PIN, which opens the mailroom on its own
ADDRESS = 1


class PanelClock:
    """The panel's clock: it moves ``step`` seconds each time it is read.

    The panel reads it once per event libosdp hands over, so ``step`` is the time between two
    events as the panel sees it: a reader draining its queue slowly, or a person arriving late.
    """

    def __init__(self, step: float = 0.0) -> None:
        self.step = step
        self._now = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self._now += self.step
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


class PanelFeedback:
    """Reader feedback through the panel, once a test has started one and asked for it."""

    def __init__(self) -> None:
        self.panel: ReaderPanel | None = None

    def grant(self, reader_id: str) -> bool:
        return self.panel is not None and self.panel.grant(reader_id)

    def deny(self, reader_id: str) -> bool:
        return self.panel is not None and self.panel.deny(reader_id)

    def pending(self, reader_id: str, wait_s: float) -> bool:
        return self.panel is not None and self.panel.pending(reader_id, wait_s)


@dataclass
class Door:
    """One reader at the mailroom door; the reader runs from the start, the panel on demand."""

    reader: SimulatedReader
    panel_end: SocketChannel
    key: bytes
    clock: PanelClock
    outbox: Outbox
    io: SimulatedIO
    controller: AccessController
    feedback: PanelFeedback
    events: EventLog
    panel: ReaderPanel | None = None

    def on_event(self, event: ReaderEvent) -> None:
        self.controller.handle(event)
        self.events(event)  # after handling: a test that saw the event sees its decision

    def start_panel(self, *, feedback: bool = True) -> ReaderPanel:
        self.panel = ReaderPanel(
            [ReaderConfig("mailroom-in", ADDRESS, self.panel_end, self.key)],
            self.on_event,
            clock=self.clock,
            log_level=QUIET,
        )
        if feedback:
            self.feedback.panel = self.panel
        self.panel.start()
        assert self.panel.wait_secure("mailroom-in", WAIT)
        return self.panel

    def present(self, number: int) -> None:
        assert self.reader.present_card(encode(WiegandFormat.H10301, 10, number))

    def decisions(self) -> list[dict[str, Any]]:
        return [e.payload for e in self.outbox.due(limit=1000) if e.kind == ACCESS_DECISION]

    def reads(self, count: int, *, after: int = 0) -> list[CardRead]:
        """The next ``count`` card reads after position ``after``, waiting for them."""
        found: list[CardRead] = []
        for _ in range(count):
            read = self.events.wait_for(CardRead, after=after)
            found.append(read)
            after = next(i for i, e in enumerate(self.events.events) if e is read) + 1
        return found

    def leds(self) -> list[int]:
        return [c["on_color"] for c in self.reader.commands if c["command"] == libosdp.Command.LED]


@pytest.fixture
def door(tmp_path) -> Iterator[Door]:
    reader_end, panel_end = socket.socketpair()
    key = secrets.token_bytes(16)
    reader = SimulatedReader(SocketChannel(reader_end), ADDRESS, key, log_level=QUIET)
    wall = ManualClock(MONDAY_NOON)
    engine = DecisionEngine(KEYS)
    engine.load_snapshot(signed(snapshot()))
    io = SimulatedIO()
    machine = DoorStateMachine(DoorConfig("mailroom"), io, wall.monotonic)
    outbox = Outbox(tmp_path / "outbox.sqlite3", clock=wall.now)
    feedback = PanelFeedback()
    controller = AccessController(engine, outbox, feedback, {"mailroom": machine}, clock=wall.now)
    door = Door(
        reader,
        SocketChannel(panel_end),
        key,
        PanelClock(),
        outbox,
        io,
        controller,
        feedback,
        EventLog(),
    )
    reader.start()
    try:
        yield door
    finally:
        if door.panel is not None:
            door.panel.stop()
        reader.stop()
        outbox.close()
        reader_end.close()
        panel_end.close()


def test_a_card_read_while_the_edge_was_away_is_recorded_but_opens_nothing(door):
    # The edge is stopped; Alice badges and leaves. The edge starts later.
    door.present(ALICE)
    door.start_panel()

    read = door.events.wait_for(CardRead)
    assert read.stale and read.credential.card == ALICE
    [decision] = door.decisions()
    assert (decision["granted"], decision["reason"]) == (False, "stale_read")
    # Decided: whose card it was and where is known, for the record.
    assert (decision["holder_id"], decision["credential_id"], decision["door_id"]) == (
        "alice",
        "c-alice",
        "mailroom",
    )
    assert decision["card"]["card"] == ALICE
    assert door.io.locked is True
    assert door.reader.wait_for_led(WAIT) is not None
    assert door.leds() == [RED]  # anyone still there presents the card again

    # Once the reader has settled, Alice's card opens the door as ever: the stale read moved
    # her nowhere (the mailroom has hard anti-passback, which a recorded entry would trip).
    door.clock.advance(SETTLE_S)
    mark = door.events.mark()
    door.present(ALICE)
    fresh = door.events.wait_for(CardRead, after=mark)
    assert not fresh.stale
    assert (door.decisions()[-1]["granted"], door.decisions()[-1]["reason"]) == (True, "granted")
    assert door.io.locked is False


def test_a_long_queue_is_stale_to_its_end_however_slowly_it_drains(door):
    for _ in range(4):
        door.present(ALICE)
    # Each event reaches the panel 0.6 s after the one before: the four reads span 2.4 s, more
    # than the settling window, but each follows a stale one within it.
    # (No LED commands here: their completion notices would be events, read on the clock too.)
    door.clock.step = 0.6
    door.start_panel(feedback=False)
    reads = door.reads(4)
    assert all(read.stale for read in reads)
    assert [d["reason"] for d in door.decisions()] == ["stale_read"] * 4
    assert door.io.locked is True

    door.clock.step = SETTLE_S  # a person, a while after the queue ran out
    mark = door.events.mark()
    door.present(ALICE)
    assert not door.events.wait_for(CardRead, after=mark).stale
    assert door.decisions()[-1]["granted"] is True


def test_a_pin_typed_while_the_edge_was_away_opens_nothing(door):
    assert door.reader.press_keys(ERIN_PIN + "#")
    door.start_panel()
    keys = door.events.wait_for(KeypadInput)
    assert keys.stale
    [decision] = door.decisions()
    assert (decision["granted"], decision["reason"], decision["holder_id"]) == (
        False,
        "stale_read",
        "erin",
    )
    assert ERIN_PIN not in str(door.decisions())
    assert door.io.locked is True


def test_a_card_read_before_provisioning_opens_nothing_afterwards(tmp_path):
    # A reader fresh from the box, in install mode; someone badges before it is provisioned.
    reader_end, panel_end = socket.socketpair()
    fresh = SimulatedReader(SocketChannel(reader_end), 9, None, log_level=QUIET)
    events = EventLog()
    try:
        with fresh:
            assert fresh.present_card(encode(WiegandFormat.H10301, 10, ALICE))
            key = secrets.token_bytes(16)
            provision(SocketChannel(panel_end), 9, key, timeout=WAIT, log_level=QUIET)
            panel = ReaderPanel(
                [ReaderConfig("dock", 9, SocketChannel(panel_end), key)],
                events,
                clock=PanelClock(),
                log_level=QUIET,
            )
            with panel:
                assert panel.wait_secure("dock", WAIT)
                read = events.wait_for(CardRead)
                assert read.stale and read.credential.card == ALICE
    finally:
        reader_end.close()
        panel_end.close()


# -- the engine and the controller -------------------------------------------------------------


def badge(number: int):
    frame = encode(WiegandFormat.H10301, 10, number)
    return decode(frame.value, frame.length)


def stale_read(reader_id: str, number: int) -> CardRead:
    credential = badge(number)
    bits = credential.bits
    return CardRead(reader_id, bits.length, bits.to_osdp(), credential, None, stale=True)


@pytest.fixture
def engine() -> DecisionEngine:
    engine = DecisionEngine(KEYS)
    pat = card(
        "c-pat",
        "pat",
        PAT,
        "office-hours",
        pin_hash=pin_hash(PAT_PIN, PIN_SALT, PIN_ITERATIONS),
    )
    engine.load_snapshot(signed(snapshot(credentials=(*STANDARD_CREDENTIALS, pat))))
    return engine


class TestEngine:
    def test_a_stale_read_is_refused_naming_the_holder(self, engine):
        decision = engine.decide("mailroom-in", badge(ALICE), MONDAY_NOON, stale=True)
        assert (decision.granted, decision.reason) == (False, Reason.STALE_READ)
        assert (decision.holder_id, decision.door_id) == ("alice", "mailroom")

    def test_an_unknown_or_pin_read_is_stale_too(self, engine):
        unknown = engine.decide("mailroom-in", badge(4242), MONDAY_NOON, stale=True)
        assert (unknown.reason, unknown.holder_id) == (Reason.STALE_READ, None)
        pin = engine.decide("mailroom-in", Pin(ERIN_PIN), MONDAY_NOON, stale=True)
        assert (pin.reason, pin.holder_id) == (Reason.STALE_READ, "erin")

    def test_a_stale_read_changes_no_state(self, engine):
        # At the two-person vault a stale first badge starts no wait for a second person.
        engine.decide("vault-in", badge(CAROL), MONDAY_NOON, stale=True)
        assert engine.decide("vault-in", badge(DAVE), MONDAY_NOON).reason is (
            Reason.TWO_PERSON_WAITING
        )


class Shown:
    def __init__(self) -> None:
        self.shown: list[str] = []

    def grant(self, reader_id: str) -> bool:
        self.shown.append("grant")
        return True

    def deny(self, reader_id: str) -> bool:
        self.shown.append("deny")
        return True

    def pending(self, reader_id: str, wait_s: float) -> bool:
        self.shown.append("pending")
        return True


class TestController:
    @pytest.fixture
    def controller(self, engine, tmp_path) -> Iterator[tuple[AccessController, Shown, Outbox]]:
        clock = ManualClock(MONDAY_NOON)
        shown = Shown()
        with Outbox(tmp_path / "outbox.sqlite3", clock=clock.now) as outbox:
            yield (
                AccessController(
                    engine, outbox, shown, clock=clock.now, monotonic_clock=clock.monotonic
                ),
                shown,
                outbox,
            )

    def test_a_stale_card_is_recorded_and_shown_red(self, controller):
        ctl, shown, outbox = controller
        [decision] = ctl.handle(stale_read("mailroom-in", ALICE))
        assert (decision.granted, decision.reason) == (False, Reason.STALE_READ)
        assert shown.shown == ["deny"]
        [event] = [e.payload for e in outbox.due(limit=10) if e.kind == ACCESS_DECISION]
        assert event["reason"] == "stale_read"

    def test_stale_keys_that_complete_nothing_never_begin_a_later_pin(self, controller):
        ctl, _, _ = controller
        assert ctl.handle(KeypadInput("mailroom-in", "43", stale=True)) == []
        [decision] = ctl.handle(KeypadInput("mailroom-in", "21#"))
        assert decision.reason is Reason.UNKNOWN_CREDENTIAL  # "21", not "4321"
        [decision] = ctl.handle(KeypadInput("mailroom-in", ERIN_PIN + "#"))
        assert decision.granted

    def test_a_pin_that_waited_in_the_reader_refuses_the_card_it_followed(self, controller):
        ctl, shown, _ = controller
        fresh = dataclasses.replace(stale_read("mailroom-in", PAT), stale=False)
        [asked] = ctl.handle(fresh)
        assert asked.reason is Reason.PIN_REQUIRED
        [decision] = ctl.handle(KeypadInput("mailroom-in", PAT_PIN + "#", stale=True))
        assert (decision.granted, decision.reason, decision.holder_id) == (
            False,
            Reason.STALE_READ,
            "pat",
        )
        assert shown.shown == ["pending", "deny"]
