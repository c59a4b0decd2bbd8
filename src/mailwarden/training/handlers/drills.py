"""Drills from the incidents app count as training participation for those who took part: whoever
moved an exercise incident on (opened, contained, resolved, closed it), and everyone who answered
an exercise's roll call."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from mailwarden.contracts.events import IncidentRollCallAnswered, IncidentStateChanged
from mailwarden.core import clock, outbox
from mailwarden.core.actor import Actor
from mailwarden.directory.models import Recipient
from mailwarden.training.services import participation

JOB = Actor.job("training-drills")

ANSWERS = {"safe": "answered the roll call: safe", "need_help": "answered the roll call: need help"}


def _user_id(label: str) -> int | None:
    """The account behind an actor label ("user:sam"); None for a device, a job, or a token that
    acts for nobody."""
    kind, _, name = label.partition(":")
    if kind != "user" or not name:
        return None
    return (
        get_user_model()
        .objects.filter(username=name, is_active=True)
        .values_list("pk", flat=True)
        .first()
    )


@outbox.handles(IncidentStateChanged)
def exercise_moved(event: IncidentStateChanged) -> None:
    if not event.exercise:
        return
    user_id = _user_id(event.by)
    if user_id is None:
        return
    participation.record_drill(
        JOB,
        participation.DrillPart(
            ref=event.reference,
            title=event.title or event.reference,
            site=event.site,
            role_played=f"moved the exercise to {event.state}",
            # When it moved, as the event says: it may be delivered much later.
            occurred_at=event.at or clock.now(),
            user_id=user_id,
        ),
    )


@outbox.handles(IncidentRollCallAnswered)
def exercise_roll_call_answered(event: IncidentRollCallAnswered) -> None:
    if not event.exercise:
        return
    user_id = Recipient.objects.filter(pk=event.recipient).values_list("user_id", flat=True).first()
    # The exercise incident the site message belongs to, so a person counts once per drill.
    ref = event.incident_reference or f"site-message-{event.broadcast}"
    title = event.incident_title or f"Roll call exercise (site message {event.broadcast})"
    participation.record_drill(
        JOB,
        participation.DrillPart(
            ref=ref,
            title=title,
            site=event.site,
            role_played=ANSWERS.get(event.answer, "answered the roll call"),
            occurred_at=event.answered_at or clock.now(),
            user_id=user_id,
            recipient_id=event.recipient,
        ),
    )
