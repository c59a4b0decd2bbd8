"""Outbox dead letters as an alarm source: an event whose handler keeps failing goes dead,
core reports it through the catalogue (``core.outbox_event.failed``), the console raises an
alarm, and a replay hands the event to its handlers again."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.db import transaction

from mailwarden.contracts.events import ItemReceived, OutboxEventFailed
from mailwarden.core import outbox
from mailwarden.core.errors import Conflict, Forbidden, NotFound
from mailwarden.core.ledger import LedgerEntry, entry_data
from mailwarden.core.models import OutboxEvent, OutboxStatus
from mailwarden.core.roles import Role
from mailwarden.incidents.models import Alarm
from mailwarden.incidents.queries import delivery as queries
from mailwarden.incidents.services import delivery as services
from tests.api.conftest import Api, token_for
from tests.incidents.conftest import MANAGER, OPERATOR

pytestmark = pytest.mark.django_db

TOPIC = ItemReceived.TOPIC


@dataclass
class Handler:
    """The only handler of ``custody.item.received`` in these tests; fails while ``broken``."""

    broken: str | None = "the sorting service is down"
    handled: list[str] = field(default_factory=list)

    def __call__(self, event: ItemReceived) -> None:
        if self.broken:
            raise RuntimeError(self.broken)
        self.handled.append(event.uid)


@pytest.fixture
def handler(monkeypatch) -> Handler:
    fake = Handler()
    monkeypatch.setitem(outbox._handlers, TOPIC, [fake])
    return fake


def kill(frozen_clock, uid: str = "MW-AAAA0000") -> OutboxEvent:
    """Emit the event and let the dispatcher fail on it, moving the clock, until it is dead."""
    with transaction.atomic():
        outbox.emit(ItemReceived(uid=uid, site="hq", kind="parcel"))
    event = OutboxEvent.objects.get(topic=TOPIC, payload__uid=uid)
    while event.status == OutboxStatus.PENDING:
        frozen_clock.current = max(frozen_clock.current, event.next_attempt_at)
        outbox.dispatch_due(frozen_clock.current)
        event.refresh_from_db()
    return event


def test_a_dead_event_is_reported_and_raises_an_alarm(frozen_clock, handler):
    dead = kill(frozen_clock)
    assert (dead.status, dead.attempts) == (OutboxStatus.DEAD, outbox.MAX_ATTEMPTS)
    assert dead.last_error == "RuntimeError: the sorting service is down"
    report = OutboxEvent.objects.get(topic=OutboxEventFailed.TOPIC)
    assert report.payload["event"] == dead.pk and report.payload["event_topic"] == TOPIC
    assert report.payload["attempts"] == outbox.MAX_ATTEMPTS

    outbox.dispatch_due(frozen_clock.current)
    alarm = Alarm.objects.get(source="outbox")
    assert alarm.type == "core.outbox_event.failed" and alarm.severity == 3
    assert alarm.title == "Events custody.item.received are not being handled"
    assert alarm.source_key == "core.outbox_event.failed:custody.item.received"
    assert "the sorting service is down" in alarm.evidence[0]["label"]
    assert alarm.evidence[0]["url"] == "/incidents/dead-letters/"
    listed = Api(token_for(Role.AUDITOR)).get("/api/alarms", source="outbox").json()
    assert [a["id"] for a in listed] == [alarm.pk]

    # A second dead event of the same topic counts on the same alarm.
    kill(frozen_clock, uid="MW-BBBB0000")
    outbox.dispatch_due(frozen_clock.current)
    alarm.refresh_from_db()
    assert alarm.count == 2
    assert [e.pk for e in queries.dead_outbox_events()] == [
        OutboxEvent.objects.get(payload__uid="MW-BBBB0000").pk,
        dead.pk,
    ]


def test_a_dead_report_is_not_reported_again(frozen_clock, monkeypatch):
    monkeypatch.setitem(outbox._handlers, OutboxEventFailed.TOPIC, [Handler()])
    monkeypatch.setitem(outbox._handlers, TOPIC, [Handler()])
    kill(frozen_clock)
    report = OutboxEvent.objects.get(topic=OutboxEventFailed.TOPIC)
    while report.status == OutboxStatus.PENDING:
        frozen_clock.current = max(frozen_clock.current, report.next_attempt_at)
        outbox.dispatch_due(frozen_clock.current)
        report.refresh_from_db()
    assert report.status == OutboxStatus.DEAD
    assert OutboxEvent.objects.filter(topic=OutboxEventFailed.TOPIC).count() == 1


def test_replay_hands_a_dead_event_to_its_handlers_again(frozen_clock, handler):
    dead = kill(frozen_clock)
    handler.broken = None
    [replayed] = services.replay_outbox_events(MANAGER, [dead.pk])
    assert (replayed.status, replayed.attempts) == (OutboxStatus.PENDING, 0)
    entry = LedgerEntry.objects.get(action="incidents.outbox_event.replayed")
    assert entry.actor == MANAGER.label and entry.subject_id == str(dead.pk)
    assert entry_data(entry)["topic"] == TOPIC
    outbox.dispatch_due(frozen_clock.current)
    dead.refresh_from_db()
    assert dead.status == OutboxStatus.DONE and handler.handled == ["MW-AAAA0000"]


def test_replay_is_all_or_nothing_and_for_managers(frozen_clock, handler):
    dead = kill(frozen_clock)
    with transaction.atomic():
        outbox.emit(ItemReceived(uid="MW-CCCC0000", site="hq", kind="parcel"))
    pending = OutboxEvent.objects.get(payload__uid="MW-CCCC0000")
    with pytest.raises(Forbidden):
        services.replay_outbox_events(OPERATOR, [dead.pk])
    with pytest.raises(NotFound) as missing:
        services.replay_outbox_events(MANAGER, [dead.pk, 999999])
    assert missing.value.field == "event_ids" and "999999" in missing.value.message
    with pytest.raises(Conflict) as alive:
        services.replay_outbox_events(MANAGER, [dead.pk, pending.pk])
    assert f"outbox event {pending.pk} is not a dead letter" == alive.value.message
    dead.refresh_from_db()
    assert dead.status == OutboxStatus.DEAD
    assert not LedgerEntry.objects.filter(action="incidents.outbox_event.replayed").exists()
