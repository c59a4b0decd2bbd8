"""The edge library end to end, without a server: a simulated reader presents a card over OSDP
with Secure Channel, the controller decides from a signed snapshot, releases the door, writes the
decision to the outbox, and the reader receives its LED command."""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import osdp as libosdp
import pytest

from mailwarden.edge.channels import SocketChannel
from mailwarden.edge.clock import ManualClock
from mailwarden.edge.controller import AccessController
from mailwarden.edge.decisions import DecisionEngine
from mailwarden.edge.doors import DoorConfig, DoorStateMachine, SimulatedIO
from mailwarden.edge.edge_events import ACCESS_DECISION, CARD_ERROR, DOOR_EVENT, READER_STATUS
from mailwarden.edge.osdp import ReaderConfig, ReaderPanel
from mailwarden.edge.outbox import Outbox
from mailwarden.edge.reader_events import ReaderEvent, ReaderStatus
from mailwarden.edge.rules import pin_hash
from mailwarden.edge.simulated_reader import SimulatedReader
from mailwarden.edge.wiegand import WiegandFormat, decode, encode

from .conftest import QUIET, SETTLE_S, WAIT
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
AMBER = libosdp.CommandLEDColor.Amber

ALICE, BOB, CAROL, DAVE, UNKNOWN = 1001, 1002, 1003, 1004, 4242


class Dispatch:
    """Hands the panel's events to whichever controller the current test installed."""

    def __init__(self) -> None:
        self.controller: AccessController | None = None

    def __call__(self, event: ReaderEvent) -> None:
        if self.controller is not None:
            self.controller.handle(event)


@dataclass
class Readers:
    """Two simulated readers on their own socketpairs, each with its own key, on one panel."""

    panel: ReaderPanel
    by_id: dict[str, SimulatedReader]
    dispatch: Dispatch


@pytest.fixture(scope="module")
def readers() -> Iterator[Readers]:
    configs, simulated, sockets = [], {}, []
    for address, reader_id in enumerate(("mailroom-in", "vault-in"), start=1):
        reader_end, panel_end = socket.socketpair()
        sockets += [reader_end, panel_end]
        key = secrets.token_bytes(16)
        simulated[reader_id] = SimulatedReader(
            SocketChannel(reader_end), address, key, log_level=QUIET
        )
        configs.append(ReaderConfig(reader_id, address, SocketChannel(panel_end), key))
    dispatch = Dispatch()
    panel_clock = ManualClock(MONDAY_NOON)
    panel = ReaderPanel(configs, dispatch, clock=panel_clock.monotonic, log_level=QUIET)
    for reader in simulated.values():
        reader.start()
    panel.start()
    try:
        for reader_id in simulated:
            assert panel.wait_secure(reader_id, WAIT)
        panel_clock.advance(SETTLE_S)  # past the readers' settling: reads are people now
        yield Readers(panel, simulated, dispatch)
    finally:
        panel.stop()
        for reader in simulated.values():
            reader.stop()
        for s in sockets:
            s.close()


@dataclass
class Site:
    readers: Readers
    clock: ManualClock
    outbox: Outbox
    engine: DecisionEngine
    doors: dict[str, SimulatedIO]

    def present(self, reader_id: str, number: int, facility: int = 10) -> dict[str, Any]:
        """Present a card and return the LED command the reader gets back."""
        reader = self.readers.by_id[reader_id]
        mark = reader.mark()
        assert reader.present_card(encode(WiegandFormat.H10301, facility, number))
        led = reader.wait_for_led(WAIT, after=mark)
        assert led is not None, "the reader got no LED command"
        return led

    def recorded(self, kind: str) -> list[dict[str, Any]]:
        return [e.payload for e in self.outbox.due(limit=1000) if e.kind == kind]

    def last_decision(self) -> dict[str, Any]:
        return self.recorded(ACCESS_DECISION)[-1]


@pytest.fixture
def site(readers, tmp_path) -> Iterator[Site]:
    clock = ManualClock(MONDAY_NOON)
    engine = DecisionEngine(KEYS)
    engine.load_snapshot(signed(snapshot()))
    outbox = Outbox(tmp_path / "outbox.sqlite3", clock=clock.now)
    ios = {"mailroom": SimulatedIO(), "vault": SimulatedIO()}
    doors = {
        door_id: DoorStateMachine(DoorConfig(door_id), io, clock.monotonic)
        for door_id, io in ios.items()
    }
    readers.dispatch.controller = AccessController(
        engine, outbox, readers.panel, doors, clock=clock.now, monotonic_clock=clock.monotonic
    )
    try:
        yield Site(readers, clock, outbox, engine, ios)
    finally:
        readers.dispatch.controller = None
        outbox.close()


def test_a_valid_card_opens_the_door_turns_the_reader_green_and_is_recorded(site):
    led = site.present("mailroom-in", ALICE)
    assert led["on_color"] == GREEN
    assert site.doors["mailroom"].locked is False
    decision = site.last_decision()
    assert decision["granted"] is True
    assert (decision["holder_id"], decision["door_id"], decision["reason"]) == (
        "alice",
        "mailroom",
        "granted",
    )
    assert decision["card"] == {
        "format": "H10301",
        "facility": 10,
        "card": ALICE,
        "bits": str(encode("H10301", 10, ALICE)),
    }
    assert decision["snapshot_version"] == 1
    assert {"door_id": "mailroom", "kind": "unlocked"} in [
        {k: e[k] for k in ("door_id", "kind")} for e in site.recorded(DOOR_EVENT)
    ]


def test_an_unknown_card_is_refused_red(site):
    led = site.present("mailroom-in", UNKNOWN)
    assert led["on_color"] == RED
    assert site.doors["mailroom"].locked is True
    decision = site.last_decision()
    assert (decision["granted"], decision["reason"]) == (False, "unknown_credential")
    assert decision["card"]["card"] == UNKNOWN


def test_a_misread_is_refused_and_recorded_as_a_card_error(site):
    reader = site.readers.by_id["mailroom-in"]
    mark = reader.mark()
    reader.present_card(encode(WiegandFormat.H10301, 10, ALICE).flipped(3))
    assert reader.wait_for_led(WAIT, after=mark)["on_color"] == RED
    error = site.recorded(CARD_ERROR)[-1]
    assert (error["error"], error["bit_length"]) == ("parity", 26)


@pytest.mark.parametrize(
    ("local_time", "colour", "reason"),
    [
        ("07:59", RED, "outside_schedule"),
        ("08:01", GREEN, "granted"),
        ("17:59", GREEN, "granted"),
        ("18:01", RED, "outside_schedule"),
    ],
)
def test_schedule_edges_in_the_site_time_zone(site, local_time, colour, reason):
    hour, minute = map(int, local_time.split(":"))
    # London is on BST (UTC+1) on Monday 1 June 2026.
    site.clock.set(datetime(2026, 6, 1, hour - 1, minute, tzinfo=UTC))
    assert site.present("mailroom-in", BOB)["on_color"] == colour
    assert site.last_decision()["reason"] == reason


def test_anti_passback_refuses_a_second_entry_without_an_exit(site):
    assert site.present("mailroom-in", ALICE)["on_color"] == GREEN
    site.clock.advance(60)
    assert site.present("mailroom-in", ALICE)["on_color"] == RED
    assert site.last_decision()["reason"] == "anti_passback"


def test_two_person_rule(site):
    vault = site.doors["vault"]
    first = site.present("vault-in", CAROL)
    assert first["on_color"] == AMBER  # valid, waiting for a second person
    # As long as the light can last (25.5 s; the window is 30 s), not a wrapped-around 4.4 s.
    assert first["timer_count"] == 255
    assert vault.locked is True

    site.clock.advance(5)
    same_card = site.present("vault-in", CAROL)
    assert same_card["on_color"] == RED
    assert site.last_decision()["reason"] == "two_person_same_holder"
    assert vault.locked is True

    site.clock.advance(20)  # 25 s after Carol, inside the 30 s window
    second = site.present("vault-in", DAVE)
    assert second["on_color"] == GREEN
    assert vault.locked is False
    decision = site.last_decision()
    assert (decision["reason"], decision["holder_id"], decision["companion_id"]) == (
        "granted_two_person",
        "dave",
        "carol",
    )


def test_a_pin_typed_on_the_keypad(site):
    reader = site.readers.by_id["mailroom-in"]
    mark = reader.mark()
    reader.press_keys("4321#")
    assert reader.wait_for_led(WAIT, after=mark)["on_color"] == GREEN
    decision = site.last_decision()
    assert (decision["holder_id"], decision["card"]) == ("erin", None)


def test_card_then_pin_typed_on_the_same_reader(site):
    pat_pin = "2468"
    pat = card(
        "c-pat",
        "pat",
        1010,
        "office-hours",
        pin_hash=pin_hash(pat_pin, PIN_SALT, PIN_ITERATIONS),
    )
    site.engine.load_snapshot(signed(snapshot(2, credentials=(*STANDARD_CREDENTIALS, pat))))
    reader = site.readers.by_id["mailroom-in"]

    # The card asks for the PIN: amber for the PIN's 10 s and a short beep, the door stays
    # shut, nothing recorded.
    mark = reader.mark()
    asked = site.present("mailroom-in", 1010)
    assert (asked["on_color"], asked["timer_count"]) == (AMBER, 100)
    assert reader.wait_for(lambda c: c.get("command") == libosdp.Command.Buzzer, WAIT, after=mark)
    assert site.doors["mailroom"].locked is True
    assert site.recorded(ACCESS_DECISION) == []

    site.clock.advance(4)
    mark = reader.mark()
    assert reader.press_keys(pat_pin + "#")
    assert reader.wait_for_led(WAIT, after=mark)["on_color"] == GREEN
    assert site.doors["mailroom"].locked is False
    [decision] = site.recorded(ACCESS_DECISION)
    assert (decision["granted"], decision["reason"], decision["holder_id"]) == (
        True,
        "granted",
        "pat",
    )
    assert decision["card"]["card"] == 1010 and decision["snapshot_version"] == 2
    assert pat_pin not in json.dumps([e.payload for e in site.outbox.due(limit=1000)])

    # A wrong PIN after the card is refused red (checked before anti-passback, so it reads as
    # what it is).
    site.clock.advance(60)
    assert site.present("mailroom-in", 1010)["on_color"] == AMBER
    mark = reader.mark()
    assert reader.press_keys("9753#")
    assert reader.wait_for_led(WAIT, after=mark)["on_color"] == RED
    assert site.last_decision()["reason"] == "wrong_pin"


def test_the_outbox_keeps_the_decisions_across_a_restart(site, tmp_path):
    site.present("mailroom-in", UNKNOWN)
    site.present("vault-in", UNKNOWN)
    site.outbox.close()
    reopened = Outbox(tmp_path / "outbox.sqlite3", clock=site.clock.now)
    site.outbox = reopened
    controller = site.readers.dispatch.controller
    assert controller is not None
    controller.outbox = reopened
    decisions = [e for e in reopened.due(limit=100) if e.kind == ACCESS_DECISION]
    assert [d.payload["reader_id"] for d in decisions] == ["mailroom-in", "vault-in"]
    assert len({d.key for d in decisions}) == 2


def test_without_rules_every_card_is_refused_and_doors_fail_secure(readers, tmp_path):
    clock = ManualClock(MONDAY_NOON)
    io = SimulatedIO()
    door = DoorStateMachine(DoorConfig("mailroom"), io, clock.monotonic)
    door.hold_unlocked(True)
    with Outbox(tmp_path / "o.sqlite3", clock=clock.now) as outbox:
        controller = AccessController(
            DecisionEngine(KEYS), outbox, readers.panel, {"mailroom": door}, clock=clock.now
        )
        controller.tick()
        assert io.locked is True
        kinds = [e.payload["kind"] for e in outbox.due() if e.kind == DOOR_EVENT]
        assert kinds == ["rules_lost", "locked"]
        readers.dispatch.controller = controller
        try:
            reader = readers.by_id["mailroom-in"]
            mark = reader.mark()
            reader.present_card(encode(WiegandFormat.H10301, 10, ALICE))
            assert reader.wait_for_led(WAIT, after=mark)["on_color"] == RED
            decision = [e for e in outbox.due() if e.kind == ACCESS_DECISION][-1]
            assert decision.payload["reason"] == "no_rules"
        finally:
            readers.dispatch.controller = None


def test_reader_status_reaches_the_outbox(readers, tmp_path):
    with Outbox(tmp_path / "o.sqlite3") as outbox:
        controller = AccessController(DecisionEngine(KEYS), outbox, readers.panel)
        controller.handle(ReaderStatus("vault-in", online=False, secure=False))
        [event] = outbox.due()
        assert event.kind == READER_STATUS
        assert event.payload["reader_id"] == "vault-in" and event.payload["online"] is False


def test_scheduled_unlock_follows_the_rules_on_tick(tmp_path, readers):
    clock = ManualClock(datetime(2026, 6, 1, 8, 30, tzinfo=UTC))  # 09:30 BST
    engine = DecisionEngine(KEYS)
    engine.load_snapshot(signed(snapshot()))
    io = SimulatedIO()
    door = DoorStateMachine(DoorConfig("dock"), io, clock.monotonic)
    with Outbox(tmp_path / "o.sqlite3", clock=clock.now) as outbox:
        controller = AccessController(
            engine, outbox, readers.panel, {"dock": door}, clock=clock.now
        )
        controller.tick()
        assert io.locked is True  # the dock waits for its first supervisor
        sam = encode(WiegandFormat.H10301, 10, 1005)
        engine.decide("dock-in", decode(sam.value, sam.length), clock.now())
        controller.tick()
        assert io.locked is False
        clock.advance(timedelta(hours=8).total_seconds())  # 17:30 BST: unlock window over
        controller.tick()
        assert io.locked is True
