"""Each source's catalogue event becomes a console alarm; repeats of one condition fold into
one alarm with a count; an event delivered twice is counted once; clearing and acknowledging at
the source reach the console."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from mailwarden.access import queries as access_queries
from mailwarden.access.models import AccessAlarm, AlarmKind
from mailwarden.access.services import alarms as access_alarms
from mailwarden.contracts.events import (
    ControllerOffline,
    DoorHeld,
    InvalidAttemptsExceeded,
    LedgerVerifyFailed,
    ReaderOffline,
    ReaderTampered,
)
from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.incidents.handlers import alarms as handlers
from mailwarden.incidents.models import Alarm, AlarmOccurrence, AlarmSource, AlarmState, Severity
from mailwarden.incidents.queries import alarms as queries
from mailwarden.incidents.services import alarms as services
from tests.incidents.conftest import OPERATOR, deliver, forced, threat

pytestmark = pytest.mark.django_db
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def only_alarm() -> Alarm:
    [alarm] = Alarm.objects.all()
    return alarm


def test_a_screening_threat_becomes_a_critical_do_not_open_alarm(site, frozen_clock):
    deliver(threat())
    alarm = only_alarm()
    assert alarm.source == AlarmSource.SCREENING
    assert alarm.type == "screening.alarm.raised"
    assert alarm.severity == Severity.CRITICAL
    assert alarm.site == site
    assert alarm.title.startswith("Do not open: MW-ABCDEFGH")
    assert alarm.evidence[0] == {"label": "Item MW-ABCDEFGH", "url": "/items/MW-ABCDEFGH/"}
    assert "wires and a power source" in alarm.evidence[1]["label"]
    assert alarm.state == AlarmState.OPEN and alarm.count == 1
    assert LedgerEntry.objects.filter(action="incidents.alarm.raised").count() == 1
    assert OutboxEvent.objects.filter(topic="incidents.alarm.raised").count() == 1


@pytest.mark.parametrize(
    ("model", "severity", "title"),
    [
        (DoorHeld, Severity.HIGH, "Door held open: LOBBY"),
        (InvalidAttemptsExceeded, Severity.HIGH, "Repeated invalid attempts: LOBBY"),
        (ReaderTampered, Severity.CRITICAL, "Reader tamper: LOBBY"),
        (ReaderOffline, Severity.MEDIUM, "Reader offline: LOBBY"),
        (ControllerOffline, Severity.HIGH, "Controller offline: LOBBY"),
    ],
)
def test_each_access_alarm_becomes_an_alarm(site, frozen_clock, model, severity, title):
    deliver(model(**forced(1).model_dump()))
    alarm = only_alarm()
    assert (alarm.source, alarm.type, alarm.severity) == ("access", model.TOPIC, severity)
    assert alarm.title == title
    assert alarm.evidence[0]["url"] == "/access/?site=hq"
    assert alarm.first_seen == AT


def test_a_controller_alarm_without_a_door_is_keyed_by_its_controller(site, frozen_clock):
    deliver(ControllerOffline(**{**forced(1).model_dump(), "door": None}))
    assert only_alarm().source_key == "access.controller.went_offline:hq:controller:edge-1"


def test_a_ledger_verification_failure_becomes_a_critical_alarm(db, frozen_clock):
    failure = LedgerVerifyFailed(
        source="cli",
        actor="user:olga",
        checked=41,
        head_seq=90,
        head_hash="ab" * 32,
        problem_seq=42,
        problem_kind="changed",
        problem_detail="entry 42's hash does not match its content",
    )
    deliver(failure)
    alarm = only_alarm()
    assert (alarm.source, alarm.severity, alarm.site) == ("ledger", Severity.CRITICAL, None)
    assert alarm.title == "Ledger check failed at entry 42: changed"
    # The same finding reported again is the same event.
    deliver(failure)
    assert only_alarm().count == 1


def test_repeats_of_one_condition_fold_into_one_alarm_with_a_count(site, frozen_clock):
    deliver(forced(1), forced(2, at=AT + timedelta(minutes=3)))
    deliver(forced(3, door="DOCK"))
    lobby = Alarm.objects.get(source_key="access.door.forced:hq:door:LOBBY")
    assert lobby.count == 2
    assert (lobby.first_seen, lobby.last_seen) == (AT, AT + timedelta(minutes=3))
    assert len(lobby.evidence) == 2
    assert Alarm.objects.count() == 2
    # Only the first raises: a repeat adds to the count, not to the ledger.
    assert LedgerEntry.objects.filter(action="incidents.alarm.raised").count() == 2


def test_the_same_event_delivered_twice_is_counted_once(site, frozen_clock):
    deliver(forced(1), forced(1))
    handlers.access_alarm_raised(forced(1))
    assert only_alarm().count == 1


def test_an_acknowledged_condition_that_happens_again_is_a_new_alarm(site, frozen_clock):
    deliver(forced(1))
    services.acknowledge_alarm(OPERATOR, only_alarm().pk, note="guard sent")
    deliver(forced(2))
    assert list(Alarm.objects.order_by("id").values_list("state", "count")) == [
        ("acknowledged", 1),
        ("open", 1),
    ]


def raise_access(site, kind: AlarmKind = AlarmKind.FORCED_OPEN) -> AccessAlarm:
    with transaction.atomic():
        return access_alarms.raise_alarm(
            Actor.job("test"), site, kind, clock.now(), clock.now(), detail="LOBBY forced"
        )


def test_an_access_alarm_cleared_at_the_door_clears_the_console_alarm(site, frozen_clock):
    access = raise_access(site)
    deliver()
    assert only_alarm().state == AlarmState.OPEN
    with transaction.atomic():
        access_alarms.clear_alarms(site, AlarmKind.FORCED_OPEN, clock.now(), pk=access.pk)
    deliver()
    alarm = only_alarm()
    assert alarm.state == AlarmState.CLEARED and alarm.cleared_at == clock.now()
    # Cleared is not handled: it waits for someone to acknowledge it, and a repeat reopens it.
    assert alarm.acknowledged_at is None


def test_the_board_and_the_console_share_their_access_alarms(site, frozen_clock):
    first, second = raise_access(site), raise_access(site, AlarmKind.TAMPER)
    deliver()
    forced_alarm = Alarm.objects.get(type="access.door.forced")
    # Acknowledged in the console: the access alarm it came from is acknowledged on the board.
    services.acknowledge_alarm(OPERATOR, forced_alarm.pk, note="checked")
    first.refresh_from_db()
    assert (first.acknowledged_by, first.note) == ("user:otto", "checked")
    # Acknowledged on the board: the console follows, in the operator's name.
    access_alarms.acknowledge_alarm(OPERATOR, second.pk, note="false trip")
    deliver()
    tamper = Alarm.objects.get(type="access.reader.tampered")
    assert tamper.state == AlarmState.ACKNOWLEDGED
    assert tamper.acknowledged_by == "user:otto"
    assert not Alarm.objects.filter(acknowledged_at__isnull=True).exists()


def board_and_console(site) -> tuple[set[int], set[int]]:
    """The access alarms the door board lists, and those behind the console's alarms."""
    board = set(access_queries.open_alarms(site).values_list("pk", flat=True))
    refs = AlarmOccurrence.objects.filter(
        alarm__in=queries.needing_attention(), ref__startswith=services.ACCESS_REF
    ).values_list("ref", flat=True)
    return board, {int(r.removeprefix(services.ACCESS_REF)) for r in refs}


def test_the_board_and_the_console_list_the_same_access_alarms(site, frozen_clock):
    door, tamper = raise_access(site), raise_access(site, AlarmKind.TAMPER)
    deliver()
    board, console = board_and_console(site)
    assert board == console == {door.pk, tamper.pk}
    # Acknowledged while the door is still forced: both keep it, neither keeps the tamper
    # once its condition is over too.
    services.acknowledge_alarms(OPERATOR, list(Alarm.objects.values_list("pk", flat=True)))
    with transaction.atomic():
        access_alarms.clear_alarms(site, AlarmKind.TAMPER, clock.now(), pk=tamper.pk)
    deliver()
    assert board_and_console(site) == ({door.pk}, {door.pk})
    with transaction.atomic():
        access_alarms.clear_alarms(site, AlarmKind.FORCED_OPEN, clock.now(), pk=door.pk)
    deliver()
    assert board_and_console(site) == (set(), set())
