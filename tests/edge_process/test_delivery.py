"""Event delivery to a stand-in server: exactly once by key, refusals kept locally, backoff on an
injected clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.edge.clock import ManualClock
from mailwarden.edge.edge_events import READER_STATUS, ReaderStatusEvent
from mailwarden.edge.outbox import Backoff, Outbox
from mailwarden.edge.sync import MAX_BATCH, EventDelivery, Journal, ServerClient

from ..edge.rulebook import MONDAY_NOON
from .standin import TOKEN


class Rig:
    def __init__(self, server, tmp_path) -> None:
        self.server = server
        self.clock = ManualClock(MONDAY_NOON)
        self.journal = Journal(tmp_path / "journal.jsonl", clock=self.clock.now)
        # No jitter, so the retry times are exact.
        self.outbox = Outbox(
            tmp_path / "outbox.sqlite3",
            clock=self.clock.now,
            backoff=Backoff(base_s=10, factor=2, cap_s=60, jitter=0),
        )
        self.client = ServerClient(server.url, TOKEN, timeout=5)
        self.delivery = EventDelivery(self.client, self.outbox, self.journal)

    def put(self, n: int, kind: str = READER_STATUS) -> list[str]:
        return [
            str(
                self.outbox.put(
                    kind,
                    ReaderStatusEvent(
                        occurred_at=self.clock.now(), reader_id=f"r{i}", online=True, secure=True
                    ),
                ).key
            )
            for i in range(n)
        ]

    def close(self) -> None:
        self.client.close()
        self.outbox.close()


@pytest.fixture
def rig(server, tmp_path):
    rig = Rig(server, tmp_path)
    yield rig
    rig.close()


def test_events_are_delivered_and_marked(rig):
    keys = rig.put(3)
    result = rig.delivery.deliver_once()
    assert (result.attempted, result.delivered, result.failed) == (3, 3, 0)
    assert sorted(rig.server.event_keys()) == sorted(keys)
    assert rig.server.events[keys[0]]["type"] == READER_STATUS
    assert rig.server.events[keys[0]]["event"]["reader_id"] == "r0"
    assert rig.outbox.pending_count() == 0
    assert rig.delivery.deliver_once().attempted == 0


def test_a_server_outage_backs_off_on_the_clock_and_loses_nothing(rig):
    keys = rig.put(2)
    rig.server.unavailable = True
    result = rig.delivery.deliver_once()
    assert (result.delivered, result.failed) == (0, 2)
    assert "HTTP 503" in result.error
    assert rig.journal.entries("delivery_failed")[0]["reason"].endswith('down for maintenance"}')

    # Nothing is due until the first backoff (10 s) has passed, even with the server back.
    rig.server.unavailable = False
    rig.clock.advance(9)
    assert rig.delivery.deliver_once().attempted == 0
    rig.server.unavailable = True
    rig.clock.advance(1)
    assert rig.delivery.deliver_once().failed == 2  # second failure: the next wait is 20 s
    rig.server.unavailable = False
    rig.clock.advance(19)
    assert rig.delivery.deliver_once().attempted == 0
    rig.clock.advance(1)
    assert rig.delivery.deliver_once().delivered == 2
    assert sorted(rig.server.event_keys()) == sorted(keys)
    assert len(rig.server.batches) == 1  # the 503s were answered before anything was stored
    assert len(rig.journal.entries("delivery_resumed")) == 1


def test_the_backoff_is_capped(rig):
    rig.put(1)
    rig.server.unavailable = True
    for _ in range(6):
        rig.clock.advance(60)
        assert rig.delivery.deliver_once().failed == 1
    # Six failures would be 320 s uncapped; the cap keeps the next try 60 s away.
    assert rig.outbox.next_attempt_at() == rig.clock.now() + timedelta(seconds=60)


def test_a_resent_batch_is_a_duplicate_and_applied_once(rig):
    keys = rig.put(2)
    batch = rig.outbox.due()
    rig.delivery.deliver_once()
    # The answer to a send was lost, so the same events go again.
    answer = rig.client.post_events(batch)
    assert sorted(answer.duplicates) == sorted(keys)
    assert answer.applied == []
    assert len(rig.server.events) == 2


def test_a_lost_answer_means_a_resend_that_the_server_applies_once(rig):
    keys = rig.put(3)
    rig.server.lose_next_answer = True
    result = rig.delivery.deliver_once()
    assert (result.delivered, result.failed) == (0, 3)
    assert "Server disconnected" in result.error
    assert sorted(rig.server.event_keys()) == sorted(keys)  # it did arrive
    assert rig.outbox.pending_count() == 3  # but the edge cannot know that

    rig.clock.advance(10)
    assert rig.delivery.deliver_once().delivered == 3
    assert rig.outbox.pending_count() == 0
    assert len(rig.server.events) == 3
    assert rig.delivery.duplicates == 3
    (entry,) = rig.journal.entries("events_duplicate")
    assert entry["count"] == 3


def test_events_the_server_refuses_for_good_are_kept_in_the_journal_not_resent(rig):
    rig.server.reject_types["reader.status"] = "unknown reader r0"
    (key,) = rig.put(1)
    result = rig.delivery.deliver_once()
    assert (result.delivered, result.failed) == (1, 0)
    assert rig.outbox.pending_count() == 0
    (entry,) = rig.journal.entries("event_rejected_by_server")
    assert (entry["key"], entry["reason"], entry["type"]) == (
        key,
        "unknown reader r0",
        "reader.status",
    )
    assert entry["event"]["reader_id"] == "r0"


def test_an_event_the_server_does_not_answer_for_is_retried(rig):
    keys = rig.put(2)
    rig.server.forget_keys.add(keys[1])
    result = rig.delivery.deliver_once()
    assert (result.delivered, result.failed) == (1, 1)
    rig.server.forget_keys.clear()
    rig.clock.advance(10)
    assert rig.delivery.deliver_once().delivered == 1
    assert sorted(rig.server.event_keys()) == sorted(keys)


def test_a_backlog_goes_in_batches(rig):
    assert rig.delivery.batch == MAX_BATCH == 500  # the contract's limit, by default
    small = EventDelivery(rig.client, rig.outbox, rig.journal, batch=4)
    keys = rig.put(10)
    assert [small.deliver_once().delivered for _ in range(4)] == [4, 4, 2, 0]
    assert [len(b) for b in rig.server.batches] == [4, 4, 2]
    assert sorted(rig.server.event_keys()) == sorted(keys)
    with pytest.raises(ValueError, match="at most 500"):
        rig.client.post_events([None] * 501)


def test_an_event_refused_for_clock_skew_is_kept_and_sent_again(rig):
    rig.server.reject_types["reader.status"] = (
        "clock skew: occurred_at is 412 s ahead of the server clock; check the controller's time"
    )
    (key,) = rig.put(1)
    result = rig.delivery.deliver_once()
    assert (result.delivered, result.failed) == (0, 1)
    assert rig.outbox.pending_count() == 1
    (entry,) = rig.journal.entries("events_deferred_by_server")
    assert entry["reason"].startswith("clock skew")
    assert rig.journal.entries("event_rejected_by_server") == []

    del rig.server.reject_types["reader.status"]  # the server's clock has caught up
    rig.clock.advance(10)
    assert rig.delivery.deliver_once().delivered == 1
    assert rig.server.event_keys() == [key]
