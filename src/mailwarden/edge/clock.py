"""Clocks for the edge library, and a check of the local clock against the server's.

Everything in the edge library that depends on time takes a clock instead of reading the system
one, so tests move time instead of sleeping (docs/architecture.md rule 6). Two kinds are used:

* a wall clock (``WallClock``): returns an aware ``datetime``; used for schedules, validity windows
  and the timestamps written to the outbox;
* a monotonic clock (``MonotonicClock``): returns seconds; used for door timers, where a wall-clock
  step (NTP, an operator fixing the date) must not shorten or stretch a strike time.
"""

from __future__ import annotations

import email.utils
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

WallClock = Callable[[], datetime]
MonotonicClock = Callable[[], float]


def utc_now() -> datetime:
    return datetime.now(UTC)


def monotonic() -> float:
    return time.monotonic()


def require_aware(value: datetime, name: str = "at") -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


class ManualClock:
    """A clock that moves only when told to; one instance serves as both wall and monotonic clock.

    Used by tests and by simulations (the demo) that need to fast-forward door timers and schedules.
    """

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "start")
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a manual clock only moves forward; use set() to step the wall clock")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            self._elapsed += seconds

    def set(self, when: datetime) -> None:
        """Step the wall clock (as NTP would) without moving the monotonic clock."""
        with self._lock:
            self._now = require_aware(when, "when")


@dataclass(frozen=True, slots=True)
class ClockSkew:
    """How far the local clock is from the server's, as seen in one HTTP exchange.

    ``offset`` is server minus local: positive when the local clock is behind.
    """

    offset: timedelta
    threshold: timedelta

    @property
    def exceeded(self) -> bool:
        return abs(self.offset) > self.threshold


def measure_clock_skew(
    server_date: str | datetime,
    sent_at: datetime,
    received_at: datetime | None = None,
    threshold: timedelta = timedelta(seconds=30),
) -> ClockSkew:
    """Compare a server ``Date`` header with the local clock around the request that fetched it.

    The server stamped its ``Date`` somewhere between our send and our receive, so it is compared
    with the midpoint of the two. The header has one-second resolution, so a threshold below a few
    seconds plus half the round trip would flag noise.
    """
    if isinstance(server_date, str):
        try:
            parsed = email.utils.parsedate_to_datetime(server_date)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"server Date header is not an HTTP date: {server_date!r}") from exc
    else:
        parsed = server_date
    if parsed.tzinfo is None:
        # RFC 9110 dates are always GMT; parsedate_to_datetime returns naive for "-0000".
        parsed = parsed.replace(tzinfo=UTC)
    require_aware(sent_at, "sent_at")
    received = require_aware(received_at, "received_at") if received_at else sent_at
    if received < sent_at:
        raise ValueError("received_at is before sent_at")
    midpoint = sent_at + (received - sent_at) / 2
    return ClockSkew(offset=parsed - midpoint, threshold=threshold)
