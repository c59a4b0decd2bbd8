"""The panel sends a queued command at once, not at its next idle refresh.

The panel's idle refreshes are paced by an injected ``RefreshPace``. These tests hold it, so no
idle refresh comes at all, and show that the reader still gets its answer: queuing a command
refreshes libosdp by itself, and keeps refreshing until the command is through.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import osdp as libosdp
import pytest

from mailwarden.edge.clock import ManualClock
from mailwarden.edge.controller import AccessController
from mailwarden.edge.decisions import DecisionEngine
from mailwarden.edge.doors import DoorConfig, DoorStateMachine, SimulatedIO
from mailwarden.edge.osdp import ReaderConfig, ReaderPanel
from mailwarden.edge.outbox import Outbox
from mailwarden.edge.reader_events import CardRead, ReaderEvent
from mailwarden.edge.simulated_reader import SimulatedReader
from mailwarden.edge.wiegand import WiegandFormat, encode

from .conftest import QUIET, SETTLE_S, WAIT
from .rulebook import KEYS, MONDAY_NOON, signed, snapshot

LED = libosdp.Command.LED
GREEN = libosdp.CommandLEDColor.Green


class HeldPace:
    """Idle refreshes on the real clock while ticking; once held, none: only a wake-up (a queued
    command, or the panel stopping) lets the panel refresh again."""

    def __init__(self) -> None:
        self._ticking = threading.Event()
        self._ticking.set()
        self._lock = threading.Lock()
        self.ticks_while_held = 0

    def hold(self) -> None:
        self._ticking.clear()

    def wait(self, woken: threading.Event, seconds: float) -> None:
        if self._ticking.is_set():
            woken.wait(seconds)
            return
        if not woken.wait(WAIT * 10):
            with self._lock:
                self.ticks_while_held += 1  # never expected: a held pace gives no tick


class Dispatch:
    """Hands reader events to the controller; holds the pace as a card read comes in, so from
    then on nothing but the answer itself can make the panel refresh."""

    def __init__(self, pace: HeldPace) -> None:
        self.pace = pace
        self.controller: AccessController | None = None

    def __call__(self, event: ReaderEvent) -> None:
        if isinstance(event, CardRead):
            self.pace.hold()
        if self.controller is not None:
            self.controller.handle(event)


class Rig:
    def __init__(self, link) -> None:
        key = secrets.token_bytes(16)
        self.pace = HeldPace()
        self.dispatch = Dispatch(self.pace)
        self.reader = SimulatedReader(link[0], 3, key, log_level=QUIET)
        self.clock = ManualClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
        self.panel = ReaderPanel(
            [ReaderConfig("mailroom-in", 3, link[1], key)],
            self.dispatch,
            clock=self.clock.monotonic,
            log_level=QUIET,
            pace=self.pace,
        )


@pytest.fixture
def rig(link) -> Iterator[Rig]:
    rig = Rig(link)
    rig.reader.start()
    rig.panel.start()
    try:
        assert rig.panel.wait_secure("mailroom-in", WAIT)
        rig.clock.advance(SETTLE_S)
        yield rig
    finally:
        rig.panel.stop()
        rig.reader.stop()


def test_a_queued_command_reaches_the_reader_with_the_idle_refreshes_held(rig):
    rig.pace.hold()
    mark = rig.reader.mark()
    assert rig.panel.grant("mailroom-in")
    led = rig.reader.wait_for(lambda c: c["command"] == LED, WAIT, after=mark)
    assert led is not None, "the LED command waited for an idle refresh"
    assert led["on_color"] == GREEN
    assert rig.pace.ticks_while_held == 0


def test_a_card_is_answered_without_a_further_tick(rig, tmp_path):
    clock = ManualClock(MONDAY_NOON)
    engine = DecisionEngine(KEYS)
    engine.load_snapshot(signed(snapshot()))
    door = DoorStateMachine(DoorConfig("mailroom"), SimulatedIO(), clock.monotonic)
    with Outbox(tmp_path / "outbox.sqlite3", clock=clock.now) as outbox:
        rig.dispatch.controller = AccessController(
            engine,
            outbox,
            rig.panel,
            {"mailroom": door},
            clock=clock.now,
            monotonic_clock=clock.monotonic,
        )
        mark = rig.reader.mark()
        # Alice's card (rulebook): the mailroom, in office hours.
        assert rig.reader.present_card(encode(WiegandFormat.H10301, 10, 1001))
        led = rig.reader.wait_for(lambda c: c["command"] == LED, WAIT, after=mark)
        assert led is not None, "the answer waited for an idle refresh"
        assert led["on_color"] == GREEN
        assert not door.locked
        assert rig.pace.ticks_while_held == 0
        rig.dispatch.controller = None


@pytest.mark.parametrize("refresh_s", [0.0, -1.0, 0.2])
def test_the_refresh_interval_keeps_libosdp_timing(link, refresh_s):
    with pytest.raises(ValueError, match="refresh_s"):
        ReaderPanel(
            [ReaderConfig("mailroom-in", 3, link[1], secrets.token_bytes(16))],
            lambda event: None,
            refresh_s=refresh_s,
            log_level=QUIET,
        )
