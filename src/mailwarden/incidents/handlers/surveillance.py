"""The alarm console hears the surveillance app: a raised video event becomes an alarm, its
handling on the video event's page acknowledges that alarm, and a camera that goes offline is an
alarm until it reconnects (docs/surveillance-events.md).

Only the catalogue's events cross over: this app never reads the surveillance app's tables.
"""

from __future__ import annotations

import hashlib

from django.urls import NoReverseMatch, reverse

from mailwarden.contracts.events import (
    CameraDisconnected,
    CameraReconnected,
    VideoEventHandled,
    VideoEventRaised,
)
from mailwarden.core import outbox
from mailwarden.incidents.models import AlarmSource, Severity
from mailwarden.incidents.services import alarms as services

VIDEO_REF = "surveillance.video_event:"
CAMERA_REF = "surveillance.camera:"

VIDEO_SEVERITY = {
    "tailgating": Severity.HIGH,
    "unattended": Severity.HIGH,
    "after_hours": Severity.HIGH,
    "loitering": Severity.MEDIUM,
    "crowding": Severity.MEDIUM,
    "presence": Severity.LOW,
}

VIDEO_TITLES = {
    "tailgating": "Tailgating",
    "unattended": "Unattended object",
    "after_hours": "Presence after hours",
    "loitering": "Loitering",
    "crowding": "Crowding",
    "presence": "Presence",
}


def bounded(text: str, limit: int) -> str:
    """``text`` within a column of ``limit`` characters, still unique: a name and a zone can
    each be 100 characters long."""
    if len(text) <= limit:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:32]
    return f"{text[: limit - 33]}#{digest}"


def event_page(event_id: int) -> str:
    """The video event's console page."""
    try:
        return reverse("surveillance:event", kwargs={"event_id": event_id})
    except NoReverseMatch:
        # The page's route is the surveillance app's; its address is stable either way.
        return f"/surveillance/events/{event_id}/"


def video_alarm_type(kind: str) -> str:
    """The console's alarm type of a video event, one per kind, so an alarm rule can pick out
    tailgating alone: ``surveillance.video_event.tailgating``."""
    return f"surveillance.video_event.{kind}"


@outbox.handles(VideoEventRaised)
def video_event_raised(event: VideoEventRaised) -> None:
    # Repeats of one kind on one zone or door line of one camera fold into one alarm until
    # someone acknowledges it, as a door forced again and again does.
    where = f"door {event.door}" if event.door else event.zone
    services.raise_alarm(
        services.JOB,
        services.AlarmSignal(
            key=f"{event.TOPIC}:{event.event}",
            type=video_alarm_type(event.type),
            severity=VIDEO_SEVERITY.get(event.type, Severity.MEDIUM),
            source=AlarmSource.VIDEO,
            source_key=bounded(f"{event.TOPIC}:{event.camera}:{event.type}:{event.zone}", 200),
            title=f"{VIDEO_TITLES.get(event.type, event.type)}: {where} on {event.camera}",
            occurred_at=event.occurred_at,
            site=event.site,
            evidence=(
                {
                    "label": f"Video event #{event.event}: {event.detail}"[:200],
                    "url": event_page(event.event),
                },
            ),
            ref=f"{VIDEO_REF}{event.event}",
        ),
    )


@outbox.handles(VideoEventHandled)
def video_event_handled(event: VideoEventHandled) -> None:
    what = "marked as a false positive" if event.false_positive else "acknowledged"
    note = f"{what} on the video event's page"
    if event.note:
        note = f"{note}: {event.note}"
    services.acknowledged_at_source(
        services.JOB, f"{VIDEO_REF}{event.event}", event.by, note=note[:500]
    )


@outbox.handles(CameraDisconnected)
def camera_disconnected(event: CameraDisconnected) -> None:
    services.raise_alarm(
        services.JOB,
        services.AlarmSignal(
            key=bounded(f"{event.TOPIC}:{event.camera}:{event.occurred_at.isoformat()}", 200),
            type=event.TOPIC,
            severity=Severity.MEDIUM,
            source=AlarmSource.VIDEO,
            source_key=bounded(f"{event.TOPIC}:{event.camera}", 200),
            title=f"Camera offline: {event.camera}",
            occurred_at=event.occurred_at,
            site=event.site,
            evidence=({"label": f"{event.camera}: {event.reason}"[:200], "ref": event.camera},),
            ref=bounded(f"{CAMERA_REF}{event.camera}", 100),
        ),
    )


@outbox.handles(CameraReconnected)
def camera_reconnected(event: CameraReconnected) -> None:
    services.clear_by_ref(services.JOB, bounded(f"{CAMERA_REF}{event.camera}", 100))
