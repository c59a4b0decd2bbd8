"""The alarm rules' open_incident action: a new alarm whose rule says so opens an incident of
the mapped type and severity, linked to the alarm, once however often the event arrives."""

from __future__ import annotations

import pytest
from django.db import transaction

from mailwarden.contracts.events import IncidentAlarmRaised, LedgerVerifyFailed, ReaderTampered
from mailwarden.core import outbox
from mailwarden.core.errors import Forbidden
from mailwarden.core.models import LedgerEntry
from mailwarden.incidents.handlers import incidents as handlers
from mailwarden.incidents.models import Alarm, AlarmIncident, Incident, IncidentLink
from mailwarden.incidents.services import alarms as alarm_services
from mailwarden.incidents.services import incidents as services
from tests.incidents.conftest import MANAGER, OPERATOR, deliver, forced, threat

pytestmark = pytest.mark.django_db


def rule(alarm_type: str = "", action: str = "open_incident") -> None:
    alarm_services.create_rule(
        MANAGER, alarm_services.RuleRequest(name="respond", action=action, alarm_type=alarm_type)
    )


def settle(*events: object) -> None:
    """Deliver the events, then what their handlers emitted in turn."""
    deliver(*events)  # type: ignore[arg-type]
    deliver()


def tampered(alarm: int) -> ReaderTampered:
    return ReaderTampered(
        alarm=alarm,
        site="hq",
        controller="edge-1",
        door=None,
        reader="lobby-in",
        occurred_at=forced(1).occurred_at,
        detail="case opened",
    )


@pytest.mark.parametrize(
    ("event", "incident_type", "title"),
    [
        (threat(), "suspicious_package", "Do not open: MW-ABCDEFGH"),
        (forced(1), "forced_entry", "Door forced open: LOBBY"),
        (tampered(5), "tampering_theft", "Reader tamper: lobby-in"),
    ],
)
def test_a_rule_opens_the_mapped_incident(site, frozen_clock, event, incident_type, title):
    rule()
    settle(event)
    alarm = Alarm.objects.get()
    incident = Incident.objects.get()
    assert incident.type == incident_type
    assert incident.severity == 1  # a critical alarm is SEV-1
    assert incident.title.startswith(title) and incident.site == site
    assert incident.opened_by == "job:incidents"
    assert "alarm rule 'respond'" in incident.summary
    [link] = IncidentLink.objects.filter(incident=incident)
    assert (link.kind, link.target) == ("alarm", str(alarm.pk))
    assert AlarmIncident.objects.get().alarm == alarm


def test_other_actions_open_nothing(site, frozen_clock):
    rule(action="notify")
    settle(forced(1), threat())
    assert Alarm.objects.count() == 2
    assert not Incident.objects.exists()


def test_rules_by_type(site, frozen_clock):
    rule(alarm_type="screening.alarm.raised")
    settle(forced(1), threat())
    assert list(Incident.objects.values_list("type", flat=True)) == ["suspicious_package"]


def test_a_repeat_of_the_alarm_opens_nothing_more(site, frozen_clock):
    rule()
    settle(forced(1))
    settle(forced(2))  # the same door again: it folds into the alarm
    assert Alarm.objects.get().count == 2
    assert Incident.objects.count() == 1


def test_the_event_delivered_twice_opens_one_incident(site, frozen_clock):
    rule()
    settle(forced(1))
    alarm = Alarm.objects.get()
    again = IncidentAlarmRaised(
        alarm=alarm.pk,
        type=alarm.type,
        severity=alarm.severity,
        site="hq",
        source=alarm.source,
        source_key=alarm.source_key,
        action="open_incident",
    )
    handlers.alarm_raised(again)
    with transaction.atomic():
        outbox.emit(again)
    deliver()
    assert Incident.objects.count() == 1
    assert LedgerEntry.objects.filter(action="incidents.incident.opened").count() == 1
    first = Incident.objects.get()
    assert services.open_from_alarm(alarm_services.JOB, alarm.pk) == first


def test_severity_and_type_mappings():
    assert [services.severity_for_alarm(s) for s in (4, 3, 2, 1)] == [1, 2, 3, 4]
    assert services.incident_type_for_alarm("access.door.held_open", "access") == "forced_entry"
    assert services.incident_type_for_alarm("something.new", "screening") == "suspicious_package"


def test_people_do_not_open_incidents_for_rules(site, frozen_clock):
    deliver(forced(1))
    with pytest.raises(Forbidden):
        services.open_from_alarm(OPERATOR, Alarm.objects.get().pk)


def test_an_alarm_without_a_site_stays_on_the_console(site, frozen_clock):
    rule()
    settle(
        LedgerVerifyFailed(
            source="schedule",
            actor="job:verify",
            checked=10,
            head_seq=9,
            head_hash="0" * 64,
            problem_seq=4,
            problem_kind="hash",
            problem_detail="entry 4 does not match its hash",
        )
    )
    alarm = Alarm.objects.get()
    assert alarm.site is None and alarm.action == "open_incident"
    assert not Incident.objects.exists()


def test_two_dispatchers_at_once_open_one_incident(pg, frozen_clock):
    from tests.conftest import race
    from tests.factories import make_site

    make_site()
    rule()
    deliver(forced(1))
    alarm = Alarm.objects.get()
    results = race(
        lambda: services.open_from_alarm(alarm_services.JOB, alarm.pk),
        lambda: services.open_from_alarm(alarm_services.JOB, alarm.pk),
    )
    assert all(isinstance(r, Incident) for r in results), results
    assert results[0].pk == results[1].pk
    assert Incident.objects.count() == 1
