from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailwarden.edge.clock import ManualClock, measure_clock_skew
from mailwarden.edge.keypad import PinCollector

SENT = datetime(2026, 6, 1, 9, 0, 0, tzinfo=UTC)


class TestClockSkew:
    def test_a_clock_in_step_with_the_server(self):
        skew = measure_clock_skew(
            "Mon, 01 Jun 2026 09:00:01 GMT", SENT, SENT + timedelta(seconds=2)
        )
        assert skew.offset == timedelta(0)  # compared with the midpoint of the exchange
        assert not skew.exceeded

    def test_a_local_clock_running_behind(self):
        skew = measure_clock_skew(
            "Mon, 01 Jun 2026 09:02:00 GMT", SENT, threshold=timedelta(seconds=30)
        )
        assert skew.offset == timedelta(minutes=2)
        assert skew.exceeded

    def test_a_local_clock_running_ahead(self):
        server = SENT - timedelta(seconds=45)
        skew = measure_clock_skew(server, SENT, threshold=timedelta(seconds=30))
        assert skew.offset == timedelta(seconds=-45) and skew.exceeded

    def test_a_garbled_header(self):
        with pytest.raises(ValueError, match="not an HTTP date"):
            measure_clock_skew("yesterday", SENT)

    def test_receive_before_send(self):
        with pytest.raises(ValueError, match="before sent_at"):
            measure_clock_skew(SENT, SENT, SENT - timedelta(seconds=1))


class TestManualClock:
    def test_moves_only_when_told(self):
        clock = ManualClock(SENT)
        clock.advance(1.5)
        assert clock.now() == SENT + timedelta(seconds=1.5)
        assert clock.monotonic() == 1.5
        clock.set(SENT)
        assert clock.monotonic() == 1.5  # stepping the wall clock leaves the monotonic one
        with pytest.raises(ValueError):
            clock.advance(-1)


class TestPinCollector:
    def test_hash_ends_a_pin_and_star_clears(self):
        clock = ManualClock(SENT)
        pins = PinCollector(clock.monotonic, timeout_s=10)
        assert pins.feed("r1", "12") == []
        assert pins.feed("r1", "34#") == ["1234"]
        assert pins.feed("r1", "99*56#") == ["56"]
        assert pins.feed("r1", "#") == []

    def test_readers_are_kept_apart(self):
        pins = PinCollector(ManualClock(SENT).monotonic)
        pins.feed("r1", "11")
        assert pins.feed("r2", "22#") == ["22"]
        assert pins.feed("r1", "#") == ["11"]

    def test_a_pause_discards_a_half_typed_pin(self):
        clock = ManualClock(SENT)
        pins = PinCollector(clock.monotonic, timeout_s=10)
        pins.feed("r1", "12")
        clock.advance(10.5)
        assert pins.feed("r1", "34#") == ["34"]
