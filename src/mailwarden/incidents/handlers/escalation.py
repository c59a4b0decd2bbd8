"""Escalation's outbox subscribers: an opened incident, or an alarm a "notify" rule caught,
starts paging; an incident contained, resolved or closed, or its alarm acknowledged in the
console, stops it. Each is idempotent: one escalation per incident or alarm."""

from __future__ import annotations

from mailwarden.contracts.events import (
    IncidentAlarmAcknowledged,
    IncidentAlarmRaised,
    IncidentOpened,
    IncidentStateChanged,
)
from mailwarden.core import outbox
from mailwarden.incidents.models import RuleAction
from mailwarden.incidents.services import escalation as services


@outbox.handles(IncidentOpened)
def incident_opened(event: IncidentOpened) -> None:
    services.start_for_incident(services.JOB, event.incident)


@outbox.handles(IncidentAlarmRaised)
def alarm_raised(event: IncidentAlarmRaised) -> None:
    if event.action == RuleAction.NOTIFY:
        services.start_for_alarm(services.JOB, event.alarm)


@outbox.handles(IncidentStateChanged)
def incident_state_changed(event: IncidentStateChanged) -> None:
    if event.state in services.STOPPING_STATES:
        services.stop(
            services.JOB,
            f"incident:{event.incident}",
            f"the incident is {event.state} ({event.by})",
        )


@outbox.handles(IncidentAlarmAcknowledged)
def alarm_acknowledged(event: IncidentAlarmAcknowledged) -> None:
    services.stop(services.JOB, f"alarm:{event.alarm}", f"the alarm was acknowledged by {event.by}")
