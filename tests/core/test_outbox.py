"""The outbox with typed events: a catalogued model in, the same model out to each handler, and
stored payloads that no longer parse retried and then given up, never crashing the dispatcher."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import transaction

from mailwarden.contracts import events
from mailwarden.core import outbox
from mailwarden.core.models import OutboxEvent, OutboxStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def received() -> Iterator[list[events.DomainEvent]]:
    """Handlers for the test's events (restored after), recording what they were handed."""
    saved = {topic: list(handlers) for topic, handlers in outbox._handlers.items()}
    got: list[events.DomainEvent] = []
    outbox.handles(events.ItemReceived)(got.append)
    outbox.handles(events.ItemTransitioned)(got.append)
    yield got
    outbox._handlers.clear()
    outbox._handlers.update(saved)


def _emit(*emitted: events.DomainEvent) -> None:
    with transaction.atomic():
        outbox.emit_many(emitted)


ITEM = events.ItemReceived(uid="MW-AAAA0000", site="hq", kind="parcel")
QUEUED = events.ItemQueuedForScreening(
    uid="MW-AAAA0000", previous="received", location="dock", version=2
)


def test_a_handler_receives_the_model_that_was_emitted(received, frozen_clock):
    _emit(ITEM, QUEUED)
    rows = list(OutboxEvent.objects.order_by("id").values_list("topic", "key", "payload"))
    assert rows == [
        (
            "custody.item.received",
            "custody.item.received:MW-AAAA0000",
            {"uid": "MW-AAAA0000", "site": "hq", "kind": "parcel"},
        ),
        (
            "custody.item.queued_for_screening",
            "custody.item.queued_for_screening:MW-AAAA0000:2",
            {"uid": "MW-AAAA0000", "previous": "received", "location": "dock", "version": 2},
        ),
    ]
    assert outbox.dispatch_due() == 2
    assert received == [ITEM, QUEUED]
    assert [type(e) for e in received] == [events.ItemReceived, events.ItemQueuedForScreening]
    assert set(OutboxEvent.objects.values_list("status", flat=True)) == {OutboxStatus.DONE}


def test_an_event_without_a_key_rule_gets_a_fresh_key(frozen_clock):
    failed = events.LedgerVerifyFailed(
        source="cli",
        actor="job:cli",
        checked=4,
        head_seq=9,
        head_hash="ab" * 32,
        problem_seq=5,
        problem_kind="changed",
        problem_detail="its content does not match its hash",
    )
    _emit(failed)
    _emit(failed)
    keys = list(OutboxEvent.objects.values_list("key", flat=True))
    assert len(set(keys)) == 2
    assert all(k.startswith("core.ledger.verification_failed:") for k in keys)


def test_only_catalogued_models_are_emitted_or_handled():
    class Unlisted(events.DomainEvent):
        """An event nobody catalogued (it has no topic)."""

    with pytest.raises(TypeError, match="catalogue"), transaction.atomic():
        outbox.emit(Unlisted())
    with pytest.raises(TypeError, match="catalogue"):
        outbox.handles(Unlisted)
    assert not OutboxEvent.objects.exists()


def _stored(topic: str, payload: dict[str, object], key: str, frozen_clock) -> OutboxEvent:
    at = frozen_clock.current
    return OutboxEvent.objects.create(
        key=key, topic=topic, payload=payload, created_at=at, next_attempt_at=at
    )


def test_a_payload_that_does_not_parse_is_retried_then_given_up(received, frozen_clock):
    # As an older release may have stored it: another shape, under a topic someone handles.
    old = _stored("custody.item.received", {"id": "MW-OLD00000"}, "old-shape", frozen_clock)
    _emit(ITEM)

    assert outbox.dispatch_due() == 1  # the good event still goes out
    assert received == [ITEM]
    old.refresh_from_db()
    assert (old.status, old.attempts) == (OutboxStatus.PENDING, 1)
    assert old.last_error.startswith("ValidationError:")
    assert "uid" in old.last_error and "extra" in old.last_error.lower()
    assert old.next_attempt_at == frozen_clock.current + outbox.backoff(1)

    now = frozen_clock.current
    for _ in range(outbox.MAX_ATTEMPTS):
        now += timedelta(days=1)
        outbox.dispatch_due(now)
    old.refresh_from_db()
    assert (old.status, old.attempts) == (OutboxStatus.DEAD, outbox.MAX_ATTEMPTS)
    assert received == [ITEM]


def test_a_stored_payload_that_is_not_an_object_does_not_crash_dispatch(received, frozen_clock):
    junk = _stored("custody.item.cleared", ["not", "an", "object"], "junk", frozen_clock)  # type: ignore[arg-type]
    assert outbox.dispatch_due() == 0
    junk.refresh_from_db()
    assert junk.status == OutboxStatus.PENDING and junk.attempts == 1
    assert "ValidationError" in junk.last_error


def test_a_topic_nobody_handles_is_settled_without_reading_it(received, frozen_clock):
    # An old topic name, or one from a newer release: nothing to parse it for.
    stale = _stored("item.received", {"uid": "MW-OLD00000"}, "stale", frozen_clock)
    assert outbox.dispatch_due() == 1
    stale.refresh_from_db()
    assert stale.status == OutboxStatus.DONE and stale.last_error == ""
    assert received == []
