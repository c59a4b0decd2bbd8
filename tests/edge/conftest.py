from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import osdp as libosdp
import pytest

from mailwarden.edge.channels import SocketChannel
from mailwarden.edge.clock import ManualClock
from mailwarden.edge.osdp import ReaderConfig, ReaderPanel
from mailwarden.edge.simulated_reader import SimulatedReader

# Generous: these wait on real protocol exchanges on a shared two-core machine.
WAIT = 20.0
QUIET = libosdp.LogLevel.Error
# A reader's reads are stale for this long after it comes online (ReaderPanel's default).
SETTLE_S = 1.0


class EventLog:
    """Collects what a panel reports so a test can wait for a particular event."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.events: list[Any] = []

    def __call__(self, event: Any) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.events)

    def wait_for(
        self, kind: type, match: Callable[[Any], bool] = lambda e: True, *, after: int = 0
    ) -> Any:
        deadline = time.monotonic() + WAIT
        with self._cond:
            while True:
                for event in self.events[after:]:
                    if isinstance(event, kind) and match(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {kind.__name__} within {WAIT} s: {self.events}")
                self._cond.wait(remaining)


@pytest.fixture
def link() -> Iterator[tuple[SocketChannel, SocketChannel]]:
    """A reader-side and a panel-side channel joined by a socketpair."""
    reader_end, panel_end = socket.socketpair()
    channels = SocketChannel(reader_end), SocketChannel(panel_end)
    yield channels
    for channel in channels:
        channel.close()


class SecurePair:
    def __init__(self, link: tuple[SocketChannel, SocketChannel]) -> None:
        self.key = secrets.token_bytes(16)
        self.events = EventLog()
        self.reader = SimulatedReader(link[0], 7, self.key, log_level=QUIET)
        # The panel's clock, which times the settling of a reader that comes online.
        self.clock = ManualClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))
        self.panel = ReaderPanel(
            [ReaderConfig("front", 7, link[1], self.key)],
            self.events,
            clock=self.clock.monotonic,
            log_level=QUIET,
        )


@pytest.fixture
def pair(link) -> Iterator[SecurePair]:
    """A simulated reader and a panel on Secure Channel with a fresh per-reader key."""
    pair = SecurePair(link)
    pair.reader.start()
    pair.panel.start()
    try:
        assert pair.panel.wait_secure("front", WAIT)
        pair.clock.advance(SETTLE_S)  # reads from now on are a person at the reader
        yield pair
    finally:
        pair.panel.stop()
        pair.reader.stop()
