"""Outbox dead letters as an alarm source: core reports an event that went dead through the
catalogue (``core.outbox_event.failed``), and the console raises an alarm for it. Dead
messages of this app's own channels raise theirs directly (:mod:`..delivery.sender`)."""

from __future__ import annotations

from mailwarden.contracts.events import OutboxEventFailed
from mailwarden.core import outbox
from mailwarden.incidents.models import AlarmSource, Severity
from mailwarden.incidents.services import alarms as services

DEAD_LETTERS_URL = "/incidents/dead-letters/"


@outbox.handles(OutboxEventFailed)
def outbox_event_failed(event: OutboxEventFailed) -> None:
    services.raise_alarm(
        services.JOB,
        services.AlarmSignal(
            # A replayed event that dies again is a new occurrence.
            key=f"{event.TOPIC}:{event.event}:{event.failed_at.isoformat()}",
            type=event.TOPIC,
            severity=Severity.HIGH,
            source=AlarmSource.OUTBOX,
            # One alarm per topic: a handler broken for every event of a kind is one condition.
            source_key=f"{event.TOPIC}:{event.event_topic}",
            title=f"Events {event.event_topic} are not being handled",
            occurred_at=event.failed_at,
            evidence=(
                {
                    "label": f"Outbox event #{event.event} after {event.attempts} tries: "
                    f"{event.last_error}"[:200],
                    "url": DEAD_LETTERS_URL,
                },
            ),
            ref=f"outbox:{event.event}",
        ),
    )
