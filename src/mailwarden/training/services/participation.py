"""Training that happens outside a course: taking part in an incidents drill
(docs/architecture.md rule 1). The drill handlers (training.handlers.drills) call this."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.directory.models import Recipient
from mailwarden.directory.queries import site_by_code
from mailwarden.training.models import Participation
from mailwarden.training.permissions import MANAGE_TRAINING

DRILL = "drill"


@dataclass(frozen=True)
class DrillPart:
    """Someone took part in a drill: the exercise incident's reference (or the site message's,
    for a roll call outside an incident), what it was, where, and what they did."""

    ref: str
    title: str
    site: str
    role_played: str
    occurred_at: datetime
    user_id: int | None = None
    recipient_id: int | None = None


def record_drill(actor: Actor, part: DrillPart) -> Participation:
    """Record that a person took part in a drill. A person counts once per drill: recording
    them again returns the row already there, unchanged (events may arrive more than once).

    No domain event: nothing reacts to participation yet, and the ledger entry keeps it."""
    require(actor, MANAGE_TRAINING, "recording drill participation")
    ref = part.ref.strip()[:80]
    if not ref:
        raise ServiceError("name the drill", "ref")
    site = site_by_code(part.site)
    user = None
    recipient = None
    if part.user_id is not None:
        user = get_user_model().objects.filter(pk=part.user_id).first()
        if user is None:
            raise NotFound(f"no user with id {part.user_id}", "user_id")
    if part.recipient_id is not None:
        recipient = Recipient.objects.filter(pk=part.recipient_id).first()
        if recipient is None:
            raise NotFound(f"no person with id {part.recipient_id}", "recipient_id")
    if user is None and recipient is None:
        raise ServiceError("say who took part: a user or a person in the directory", "user_id")
    who: dict[str, Any] = (
        {"user": user} if user is not None else {"user": None, "recipient": recipient}
    )
    existing = Participation.objects.filter(kind=DRILL, ref=ref, **who).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            row = Participation.objects.create(
                kind=DRILL,
                ref=ref,
                title=part.title.strip()[:200] or ref,
                site=site,
                user=user,
                recipient=recipient,
                role_played=part.role_played.strip()[:200],
                occurred_at=part.occurred_at,
            )
            ledger.append(
                actor,
                "training.participation.recorded",
                "participation",
                str(row.pk),
                {
                    "kind": DRILL,
                    "ref": ref,
                    "site": site.code,
                    "user": user.get_username() if user else None,
                    "recipient": recipient.employee_id if recipient else None,
                    "role_played": row.role_played,
                },
                at=clock.now(),
            )
    except IntegrityError:
        # Two deliveries of the same drill at once: the other one recorded it.
        return Participation.objects.get(kind=DRILL, ref=ref, **who)
    return row
