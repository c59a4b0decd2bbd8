"""API shapes of received CAP alerts."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema

from mailwarden.incidents.models import ReceivedAlert


class ReceivedAlertOut(Schema):
    id: int
    identifier: str
    sender: str
    sent: datetime
    status: str
    msg_type: str
    scope: str
    event: str
    headline: str
    severity: str
    urgency: str
    certainty: str
    area: str
    sites: list[str]
    alarms: list[int]
    outcome: str
    outcome_text: str
    received_at: datetime
    received_by: str
    duplicate: bool = False


def received_out(alert: ReceivedAlert, *, duplicate: bool = False) -> ReceivedAlertOut:
    return ReceivedAlertOut(
        id=alert.pk,
        identifier=alert.identifier,
        sender=alert.sender,
        sent=alert.sent,
        status=alert.status,
        msg_type=alert.msg_type,
        scope=alert.scope,
        event=alert.event,
        headline=alert.headline,
        severity=alert.severity,
        urgency=alert.urgency,
        certainty=alert.certainty,
        area=alert.area,
        sites=list(alert.sites),
        alarms=list(alert.alarms),
        outcome=alert.outcome,
        outcome_text=alert.get_outcome_display(),
        received_at=alert.received_at,
        received_by=alert.received_by,
        duplicate=duplicate,
    )
