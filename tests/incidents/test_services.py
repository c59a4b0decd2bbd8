"""Acknowledging alarms, singly or in bulk, with a note: on the ledger and in the catalogue,
all or nothing, by the roles that handle alarms."""

from __future__ import annotations

import pytest

from mailwarden.core import clock
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.incidents.models import Alarm, AlarmSource, AlarmState, Severity
from mailwarden.incidents.services import alarms as services
from tests.incidents.conftest import AUDITOR, CLERK, MANAGER, OPERATOR, deliver, forced, threat

pytestmark = pytest.mark.django_db


@pytest.fixture
def alarms(site, frozen_clock) -> list[Alarm]:
    deliver(forced(1), forced(2, door="DOCK"), threat())
    return list(Alarm.objects.order_by("id"))


def test_bulk_acknowledge_with_one_note(alarms):
    ids = [a.pk for a in alarms]
    done = services.acknowledge_alarms(OPERATOR, ids, note="guard on site")
    assert [a.pk for a in done] == ids
    for alarm in Alarm.objects.all():
        assert alarm.state == AlarmState.ACKNOWLEDGED
        assert (alarm.acknowledged_by, alarm.note) == ("user:otto", "guard on site")
        assert alarm.acknowledged_at == clock.now()
    entries = LedgerEntry.objects.filter(action="incidents.alarm.acknowledged")
    assert sorted(int(e.subject_id) for e in entries) == ids
    assert OutboxEvent.objects.filter(topic="incidents.alarm.acknowledged").count() == 3


def test_a_manager_acknowledges_one(alarms):
    alarm = services.acknowledge_alarm(MANAGER, alarms[0].pk)
    assert alarm.acknowledged_by == "user:mona" and alarm.note == ""
    assert Alarm.objects.filter(acknowledged_at__isnull=True).count() == 2


@pytest.mark.parametrize("actor", [AUDITOR, CLERK])
def test_auditors_and_clerks_cannot_acknowledge(alarms, actor):
    with pytest.raises(Forbidden):
        services.acknowledge_alarms(actor, [alarms[0].pk])
    assert not Alarm.objects.filter(acknowledged_at__isnull=False).exists()


def test_one_bad_alarm_refuses_the_whole_request(alarms):
    services.acknowledge_alarm(OPERATOR, alarms[0].pk)
    with pytest.raises(Conflict) as again:
        services.acknowledge_alarms(OPERATOR, [alarms[1].pk, alarms[0].pk])
    assert again.value.field == "alarm_ids"
    with pytest.raises(NotFound) as missing:
        services.acknowledge_alarms(OPERATOR, [alarms[1].pk, 999_999])
    assert missing.value.field == "alarm_ids" and "999999" in missing.value.message
    assert Alarm.objects.filter(acknowledged_at__isnull=True).count() == 2


@pytest.mark.parametrize(
    ("ids", "note", "field"),
    [([], "", "alarm_ids"), (None, "x" * 501, "note"), (None, "bad\x00note", "note")],
)
def test_bad_input_names_the_field(alarms, ids, note, field):
    with pytest.raises(ServiceError) as refused:
        services.acknowledge_alarms(
            OPERATOR, [a.pk for a in alarms] if ids is None else ids, note=note
        )
    assert refused.value.field == field
    assert not Alarm.objects.filter(acknowledged_at__isnull=False).exists()


def test_people_cannot_raise_or_clear_alarms_directly(site, frozen_clock):
    signal = services.AlarmSignal(
        key="k",
        type="access.door.forced",
        severity=Severity.CRITICAL,
        source=AlarmSource.ACCESS,
        source_key="access.door.forced:hq:door:LOBBY",
        title="Door forced open: LOBBY",
        occurred_at=clock.now(),
        site="hq",
    )
    with pytest.raises(Forbidden):
        services.raise_alarm(MANAGER, signal)
    with pytest.raises(Forbidden):
        services.clear_by_ref(MANAGER, "access.alarm:1")
    assert not Alarm.objects.exists()
    assert services.raise_alarm(services.JOB, signal) is not None
