"""Video events once recorded: raising them (and the tailgating check of door-line crossings)
and their handling by an operator."""

from __future__ import annotations

from mailwarden.contracts import events as catalogue
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.surveillance.models import VideoEvent

HANDLE_EVENTS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)


def describe(event: VideoEvent) -> str:
    """What happened, in words, for the alarm console and messages."""
    return f"{event.type.replace('_', ' ')} in {event.zone} on {event.camera.name}"


def after_recorded(actor: Actor, event: VideoEvent) -> None:
    """Raise a freshly recorded event, in the transaction that recorded it.

    (A door-line crossing will be joined with the door's badge grants here.)
    """
    ledger.append(
        actor,
        "surveillance.video_event.raised",
        "video_event",
        str(event.pk),
        {
            "camera": event.camera.name,
            "type": event.type,
            "zone": event.zone,
            "snapshot": event.snapshot,
            "clip": event.clip,
        },
        at=clock.now(),
    )
    outbox.emit(
        catalogue.VideoEventRaised(
            event=event.pk,
            type=event.type,
            camera=event.camera.name,
            site=event.site.code,
            zone=event.zone,
            door=event.door.code if event.door else None,
            occurred_at=event.occurred_at,
            detail=describe(event),
            has_snapshot=bool(event.snapshot),
            has_clip=bool(event.clip),
        )
    )


def handle(actor: Actor, event_id: int, *, false_positive: bool, note: str = "") -> VideoEvent:
    """Acknowledge video event ``event_id``, or mark it as a false positive, with a note."""
    raise NotImplementedError
