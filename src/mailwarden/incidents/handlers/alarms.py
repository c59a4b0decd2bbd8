"""The alarm console's outbox subscribers: each source's alarm event becomes a console alarm
(docs/architecture.md rule 3). Lower apps never call this app; it hears them here.

Each handler keys the delivered event by what identifies it at its source (the access alarm's
ID, the screening decision), so an event delivered twice, or emitted twice for the same fact,
is counted once. Outbox dead letters are a source too, heard in :mod:`.delivery`.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlencode

from django.urls import reverse

from mailwarden.contracts.events import (
    AccessAlarmAcknowledged,
    AccessAlarmCleared,
    AccessAlarmRaised,
    ControllerClockSkewed,
    ControllerOffline,
    ControllerRulesRejected,
    DoorForced,
    DoorHeld,
    InvalidAttemptsExceeded,
    LedgerVerifyFailed,
    ReaderOffline,
    ReaderTampered,
    ScreeningAlarm,
)
from mailwarden.core import clock, outbox
from mailwarden.incidents.models import AlarmSource, Severity
from mailwarden.incidents.services import alarms as services

ACCESS_SEVERITY: dict[type[AccessAlarmRaised], Severity] = {
    DoorForced: Severity.CRITICAL,
    ReaderTampered: Severity.CRITICAL,
    DoorHeld: Severity.HIGH,
    InvalidAttemptsExceeded: Severity.HIGH,
    ControllerOffline: Severity.HIGH,
    ControllerRulesRejected: Severity.HIGH,
    ReaderOffline: Severity.MEDIUM,
    ControllerClockSkewed: Severity.MEDIUM,
}

ACCESS_TITLES: dict[type[AccessAlarmRaised], str] = {
    DoorForced: "Door forced open",
    DoorHeld: "Door held open",
    InvalidAttemptsExceeded: "Repeated invalid attempts",
    ReaderTampered: "Reader tamper",
    ReaderOffline: "Reader offline",
    ControllerOffline: "Controller offline",
    ControllerRulesRejected: "Controller refused its rules",
    ControllerClockSkewed: "Controller clock is wrong",
}


def access_source_key(event: AccessAlarmRaised) -> str:
    """One condition: the same kind of alarm on the same door, reader or controller."""
    if event.door:
        where = f"door:{event.door}"
    elif event.reader:
        where = f"reader:{event.reader}"
    else:
        where = f"controller:{event.controller or ''}"
    return f"{event.TOPIC}:{event.site}:{where}"


@outbox.handles(AccessAlarmRaised)
def access_alarm_raised(event: AccessAlarmRaised) -> None:
    kind = type(event)
    what = event.door or event.reader or event.controller or event.site
    board = reverse("access:board") + "?" + urlencode({"site": event.site})
    services.raise_alarm(
        services.JOB,
        services.AlarmSignal(
            key=f"{event.TOPIC}:{event.alarm}",
            type=event.TOPIC,
            severity=ACCESS_SEVERITY.get(kind, Severity.HIGH),
            source=AlarmSource.ACCESS,
            source_key=access_source_key(event),
            title=f"{ACCESS_TITLES.get(kind, 'Access alarm')}: {what}",
            occurred_at=event.occurred_at,
            site=event.site,
            evidence=(
                {"label": f"Access alarm #{event.alarm}: {event.detail}"[:200], "url": board},
            ),
            ref=f"{services.ACCESS_REF}{event.alarm}",
        ),
    )


@outbox.handles(AccessAlarmCleared)
def access_alarm_cleared(event: AccessAlarmCleared) -> None:
    services.clear_by_ref(services.JOB, f"{services.ACCESS_REF}{event.alarm}")


@outbox.handles(AccessAlarmAcknowledged)
def access_alarm_acknowledged(event: AccessAlarmAcknowledged) -> None:
    services.acknowledged_at_source(services.JOB, f"{services.ACCESS_REF}{event.alarm}", event.by)


@outbox.handles(ScreeningAlarm)
def screening_alarm(event: ScreeningAlarm) -> None:
    reasons = "; ".join(event.reasons)
    services.raise_alarm(
        services.JOB,
        services.AlarmSignal(
            key=f"{event.TOPIC}:{event.decision}",
            type=event.TOPIC,
            severity=Severity.CRITICAL,
            source=AlarmSource.SCREENING,
            source_key=f"{event.TOPIC}:{event.uid}",
            title=f"Do not open: {event.uid} ({event.tier}) at {event.location}",
            occurred_at=clock.now(),
            site=event.site,
            evidence=(
                {
                    "label": f"Item {event.uid}",
                    "url": reverse("item_detail", args=[event.uid]),
                },
                {
                    "label": f"Screening decision #{event.decision}: {reasons}"[:200],
                    "ref": f"screening.decision:{event.decision}",
                },
            ),
            ref=f"screening.decision:{event.decision}",
        ),
    )


@outbox.handles(LedgerVerifyFailed)
def ledger_verify_failed(event: LedgerVerifyFailed) -> None:
    # The event has no ID of its own: the same finding reported again is the same event.
    digest = hashlib.sha256(
        json.dumps(event.model_dump(mode="json"), sort_keys=True).encode()
    ).hexdigest()[:32]
    services.raise_alarm(
        services.JOB,
        services.AlarmSignal(
            key=f"{event.TOPIC}:{digest}",
            type=event.TOPIC,
            severity=Severity.CRITICAL,
            source=AlarmSource.LEDGER,
            source_key=event.TOPIC,
            title=f"Ledger check failed at entry {event.problem_seq}: {event.problem_kind}",
            occurred_at=clock.now(),
            evidence=(
                {
                    "label": f"Entry {event.problem_seq}: {event.problem_detail}"[:200],
                    "ref": f"ledger:{event.problem_seq}",
                },
                {"label": f"Checked by {event.actor} ({event.source})", "ref": event.actor},
            ),
        ),
    )
