"""The transactional outbox (docs/architecture.md rule 3).

``emit`` writes an event, one of the catalogued models of :mod:`mailwarden.contracts.events`, in
the caller's transaction: the row keeps its topic and its JSON payload. ``dispatch_due`` later reads
each due row back as its model and hands it to the handlers registered for it (``handles``). A
handler that raises, or a payload that no longer parses as its model, leaves the event pending
with a later retry time (and the error in ``last_error``), so a crash or an outage delays an event
and never loses it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import connection, transaction

from mailwarden.contracts.events import CATALOGUE, DomainEvent, OutboxEventFailed, parse
from mailwarden.core import clock, plainsql
from mailwarden.core.models import OutboxEvent, OutboxStatus

log = logging.getLogger(__name__)

E = TypeVar("E", bound=DomainEvent)
Handler = Callable[[Any], None]
_handlers: dict[str, list[Handler]] = {}

MAX_ATTEMPTS = 20


def handles(model: type[E]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Register ``fn(event)`` for ``model``'s topic; it receives the parsed model.

    A base of several catalogued models (``ItemTransitioned``, ``AccessAlarmRaised``) registers
    the handler for every one of them.
    """
    topics = [t for t, m in CATALOGUE.items() if issubclass(m, model)]
    if not topics:
        raise TypeError(f"{model.__name__} is not in the event catalogue (contracts.events)")

    def register(fn: Callable[[E], None]) -> Callable[[E], None]:
        for topic in topics:
            _handlers.setdefault(topic, []).append(fn)
        return fn

    return register


def emit(event: DomainEvent) -> None:
    """Record an event in the caller's transaction; it is delivered after the commit."""
    emit_many([event])


def emit_many(events: Sequence[DomainEvent]) -> None:
    """Record several events of one change with one INSERT, in the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox.emit must run inside the change's transaction")
    at = clock.now()
    rows = [_row(event, at) for event in events]
    # Every change emits: a plain INSERT, not the ORM's compiled save.
    if len(rows) == 1:
        plainsql.insert(rows[0])
    else:
        plainsql.insert_many(rows)


def _row(event: DomainEvent, at: datetime) -> OutboxEvent:
    if CATALOGUE.get(event.TOPIC) is not type(event):
        raise TypeError(f"{type(event).__name__} is not in the event catalogue")
    topic, payload, key = event.TOPIC, event.model_dump(mode="json"), event.idempotency_key()
    return OutboxEvent(
        key=key or f"{topic}:{uuid.uuid4().hex}",
        topic=topic,
        payload=payload,
        created_at=at,
        next_attempt_at=at,
    )


def backoff(attempts: int, base_s: float = 15.0, cap_s: float = 3600.0) -> timedelta:
    return timedelta(seconds=min(cap_s, base_s * 2 ** max(0, attempts - 1)))


def _report_dead(event: OutboxEvent, now: datetime) -> None:
    # A dead letter is an alarm source, heard through the catalogue (core names no app). The
    # report of a dead report is not reported again: that would loop while its handler fails.
    if event.topic == OutboxEventFailed.TOPIC:
        return
    emit(
        OutboxEventFailed(
            event=event.pk,
            event_key=event.key,
            event_topic=event.topic,
            attempts=event.attempts,
            last_error=event.last_error,
            failed_at=now,
        )
    )


def replay(event_ids: Sequence[int], now: datetime | None = None) -> list[OutboxEvent]:
    """Dead events back to pending, due now, with their tries counted from zero; in the
    caller's transaction (whoever checks who may do it and records it). Returns them in order;
    the caller has checked that each one exists and is dead."""
    now = now or clock.now()
    events = {e.pk: e for e in OutboxEvent.objects.select_for_update().filter(pk__in=event_ids)}
    replayed = []
    for event_id in event_ids:
        event = events[event_id]
        event.status, event.attempts, event.next_attempt_at = OutboxStatus.PENDING, 0, now
        event.save(update_fields=["status", "attempts", "next_attempt_at"])
        replayed.append(event)
    return replayed


def dispatch_due(now: datetime | None = None, limit: int = 200) -> int:
    """Deliver due events; returns how many were handled successfully."""
    now = now or clock.now()
    due = OutboxEvent.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
    # Events that no handler listens to are settled in one statement instead of one transaction
    # each; most events are of that kind, and the per-event path cost a busy server a fifth of
    # its time.
    delivered = due.exclude(topic__in=list(_handlers)).update(
        status=OutboxStatus.DONE, processed_at=now
    )
    ids = list(due.order_by("id").values_list("id", flat=True)[:limit])
    for event_id in ids:
        with transaction.atomic():
            query = OutboxEvent.objects.filter(id=event_id, status=OutboxStatus.PENDING)
            if connection.features.has_select_for_update_skip_locked:
                query = query.select_for_update(skip_locked=True)
            event = query.first()
            if event is None:
                continue
            try:
                # A payload of an older or unknown shape fails here, like a failing handler:
                # retried later (a release may read it again), then dead with the reason.
                parsed = parse(event.topic, event.payload)
                with transaction.atomic():
                    for handler in _handlers.get(event.topic, []):
                        handler(parsed)
            except Exception as exc:
                event.attempts += 1
                event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if event.attempts >= MAX_ATTEMPTS:
                    event.status = OutboxStatus.DEAD
                    log.error("outbox event %s gave up: %s", event.key, event.last_error)
                    _report_dead(event, now)
                else:
                    event.next_attempt_at = now + backoff(event.attempts)
                event.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
                continue
            event.status = OutboxStatus.DONE
            event.processed_at = now
            event.save(update_fields=["status", "processed_at"])
            delivered += 1
    return delivered
