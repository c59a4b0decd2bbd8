"""The alarm rules' ``open_incident`` action: a new console alarm whose rule says so opens an
incident of the alarm's type, linked to it, as the incidents job.

The alarm console records what the rule decided and says so in its catalogue event; acting on it
here, after the alarm's transaction committed, keeps raising an alarm cheap and lets a failure to
open the incident be retried by the outbox without losing the alarm. Once per alarm
(``services.incidents.open_from_alarm``), however often the event is delivered.
"""

from __future__ import annotations

from mailwarden.contracts.events import IncidentAlarmRaised
from mailwarden.core import outbox
from mailwarden.incidents.models import RuleAction
from mailwarden.incidents.services import alarms as alarm_services
from mailwarden.incidents.services import incidents as services


@outbox.handles(IncidentAlarmRaised)
def alarm_raised(event: IncidentAlarmRaised) -> None:
    if event.action != RuleAction.OPEN_INCIDENT:
        return
    services.open_from_alarm(alarm_services.JOB, event.alarm)
