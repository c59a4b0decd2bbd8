"""The periodic re-send of site messages to the people who have not answered their roll call,
and its end when the incident they belong to is resolved or closed."""

from __future__ import annotations

from datetime import datetime

from mailwarden.contracts.events import IncidentStateChanged
from mailwarden.core import outbox
from mailwarden.core.tasks import periodic
from mailwarden.incidents.models import IncidentState
from mailwarden.incidents.services import broadcasts


@periodic("incidents-broadcast-resend")
def resend_due(now: datetime) -> int:
    return broadcasts.resend_due(now)


@outbox.handles(IncidentStateChanged)
def incident_settled(event: IncidentStateChanged) -> None:
    """A resolved or closed incident's roll calls stop re-sending: nobody should be told to
    evacuate again after the all clear. Answers are still taken while the links last."""
    if event.state not in (IncidentState.RESOLVED, IncidentState.CLOSED):
        return
    for broadcast_id in broadcasts.open_roll_calls(event.incident):
        broadcasts.close_roll_call(broadcasts.JOB, broadcast_id)
