"""The durable outbox: nothing lost, nothing marked delivered unless the sender succeeded."""

from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mailwarden.edge.clock import ManualClock
from mailwarden.edge.edge_events import ReaderStatusEvent
from mailwarden.edge.outbox import Backoff, Outbox

NO_JITTER = Backoff(base_s=2, factor=2, cap_s=60, jitter=0)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def path(tmp_path):
    return tmp_path / "outbox.sqlite3"


def open_outbox(path, clock, backoff=NO_JITTER) -> Outbox:
    return Outbox(path, clock=clock.now, backoff=backoff)


class ServerDown(ConnectionError):
    pass


class Server:
    """Records what it was sent; fails while ``down``."""

    def __init__(self) -> None:
        self.down = False
        self.received: list[uuid.UUID] = []

    def __call__(self, batch):
        if self.down:
            raise ServerDown("connection refused")
        self.received.extend(e.key for e in batch)


def test_put_gives_a_uuid4_key_and_the_clock_time(path, clock):
    with open_outbox(path, clock) as outbox:
        event = outbox.put("door.event", {"door_id": "mailroom", "kind": "opened"})
        assert event.key.version == 4
        assert event.created_at == clock.now()
        assert event.payload == {"door_id": "mailroom", "kind": "opened"}
        assert [e.key for e in outbox.due()] == [event.key]


def test_pydantic_payloads_are_stored_as_json(path, clock):
    with open_outbox(path, clock) as outbox:
        status = ReaderStatusEvent(
            occurred_at=clock.now(), reader_id="r1", online=True, secure=True
        )
        stored = outbox.put("reader.status", status)
        assert stored.payload["occurred_at"].startswith("2026-06-01T09:00:00")
        assert ReaderStatusEvent.model_validate(stored.payload) == status


def test_putting_the_same_key_twice_keeps_one_event(path, clock):
    key = uuid.uuid4()
    with open_outbox(path, clock) as outbox:
        first = outbox.put("k", {"n": 1}, key=key)
        second = outbox.put("k", {"n": 2}, key=key)
        assert second == first
        assert outbox.pending_count() == 1


def test_survives_a_restart(path, clock):
    outbox = open_outbox(path, clock)
    kept = [outbox.put("door.event", {"n": n}).key for n in range(3)]
    outbox.mark_delivered([kept[0]])
    outbox.close()

    reopened = open_outbox(path, clock)
    assert [e.key for e in reopened.due()] == kept[1:]
    assert [e.payload["n"] for e in reopened.due()] == [1, 2]
    reopened.close()


def test_the_file_is_in_wal_mode(path, clock):
    open_outbox(path, clock).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failing_sender_loses_nothing_and_marks_nothing(path, clock):
    server = Server()
    with open_outbox(path, clock) as outbox:
        keys = [outbox.put("e", {"n": n}).key for n in range(5)]
        server.down = True
        result = outbox.deliver(server)
        assert (result.attempted, result.delivered, result.failed) == (5, 0, 5)
        assert result.error == "ServerDown: connection refused"
        assert outbox.pending_count() == 5
        assert outbox.due() == []  # backing off
        assert {e.attempts for e in outbox.stuck(min_attempts=1)} == {1}

        clock.advance(2)
        server.down = False
        result = outbox.deliver(server)
        assert (result.delivered, result.failed) == (5, 0)
        assert server.received == keys  # in the order they were written
        assert outbox.pending_count() == 0
        assert outbox.deliver(server).attempted == 0


def test_backoff_grows_and_is_capped(path, clock):
    server = Server()
    server.down = True
    waits = []
    with open_outbox(path, clock) as outbox:
        outbox.put("e", {})
        for _ in range(7):
            outbox.deliver(server)
            next_at = outbox.next_attempt_at()
            assert next_at is not None
            waits.append((next_at - clock.now()).total_seconds())
            clock.advance(waits[-1])
        assert waits == [2, 4, 8, 16, 32, 60, 60]
        assert outbox.due()[0].last_error == "ServerDown: connection refused"


def test_jitter_spreads_retries():
    backoff = Backoff(base_s=10, factor=2, cap_s=100, jitter=0.1)
    assert backoff.delay(1, lambda: 0.0) == pytest.approx(9.0)
    assert backoff.delay(1, lambda: 1.0) == pytest.approx(11.0)


def test_only_what_the_server_accepted_is_marked(path, clock):
    with open_outbox(path, clock) as outbox:
        keys = [outbox.put("e", {"n": n}).key for n in range(3)]
        result = outbox.deliver(lambda batch: [keys[1], uuid.uuid4()])
        assert (result.delivered, result.failed) == (1, 2)
        clock.advance(2)
        assert [e.key for e in outbox.due()] == [keys[0], keys[2]]


def test_a_sender_that_crashes_mid_batch_leaves_the_batch(path, clock):
    """The sender may have reached the server before failing; resending is safe because the
    server applies each idempotency key once."""
    with open_outbox(path, clock) as outbox:
        keys = [outbox.put("e", {"n": n}).key for n in range(2)]
        seen = []

        def half_then_crash(batch):
            seen.append(batch[0].key)
            raise TimeoutError("read timed out")

        outbox.deliver(half_then_crash)
        clock.advance(2)
        server = Server()
        outbox.deliver(server)
        assert seen == [keys[0]] and server.received == keys


def test_batches_respect_the_limit(path, clock):
    server = Server()
    with open_outbox(path, clock) as outbox:
        for n in range(5):
            outbox.put("e", {"n": n})
        assert outbox.deliver(server, limit=2).delivered == 2
        assert outbox.pending_count() == 3


def test_a_clock_stepped_back_does_not_stall_delivery(path, clock):
    server = Server()
    server.down = True
    with open_outbox(path, clock) as outbox:
        outbox.put("e", {})
        outbox.deliver(server)
        clock.set(clock.now() - timedelta(hours=1))  # NTP corrects a clock that ran fast
        assert len(outbox.due()) == 1


def test_purge_removes_only_old_delivered_events(path, clock):
    with open_outbox(path, clock) as outbox:
        old = outbox.put("e", {}).key
        waiting = outbox.put("e", {}).key
        outbox.mark_delivered([old])
        clock.advance(8 * 86400)
        assert outbox.purge_delivered(timedelta(days=7)) == 1
        assert [e.key for e in outbox.due()] == [waiting]
