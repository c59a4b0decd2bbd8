"""Queueing messages on every channel (docs/architecture.md rule 3).

Callers (escalation, playbook steps, site-wide messages) build :class:`Outgoing` messages and
:func:`queue` them in their own transaction; a periodic job sends them with retries and backoff,
and a message that keeps failing becomes a dead letter the console can replay.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from mailwarden.core import clock
from mailwarden.directory.models import Recipient
from mailwarden.incidents.models import Channel, Delivery

EXERCISE_LABEL = "EXERCISE"


@dataclass(frozen=True)
class Address:
    channel: Channel
    address: str
    user_id: int | None = None


@dataclass(frozen=True)
class Outgoing:
    to: Address
    subject: str
    text: str
    # Unique per message: the same key queued twice is sent once.
    key: str
    ref: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    exercise: bool = False


def labelled(text: str, exercise: bool) -> str:
    """An exercise's message says so first, on every channel."""
    return f"{EXERCISE_LABEL} {EXERCISE_LABEL} {EXERCISE_LABEL}: {text}" if exercise else text


def queue(messages: Iterable[Outgoing]) -> int:
    """Queue messages in the caller's transaction; returns how many were new."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("delivery.queue must run inside the change's transaction")
    now = clock.now()
    rows = [
        Delivery(
            channel=m.to.channel,
            address=m.to.address[:500],
            user_id=m.to.user_id,
            subject=labelled(m.subject, m.exercise)[:200],
            text=labelled(m.text, m.exercise),
            payload={**m.payload, "exercise": True} if m.exercise else m.payload,
            key=m.key[:200],
            ref=m.ref[:100],
            exercise=m.exercise,
            created_at=now,
            next_attempt_at=now,
        )
        for m in messages
    ]
    keys = [r.key for r in rows]
    known = set(Delivery.objects.filter(key__in=keys).values_list("key", flat=True))
    new = [r for r in rows if r.key not in known]
    Delivery.objects.bulk_create(new, batch_size=500, ignore_conflicts=True)
    return len(new)


def addresses_for_user(user_id: int) -> Sequence[Address]:
    """Every channel a staff member can be reached on; the in-app inbox always."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return ()
    found = [Address(Channel.INAPP, str(user.pk), user.pk)]
    if user.email:
        found.append(Address(Channel.EMAIL, user.email, user.pk))
    return found


def addresses_for_recipient(recipient_id: int) -> Sequence[Address]:
    """Every channel a person in the directory can be reached on."""
    recipient = Recipient.objects.filter(pk=recipient_id).first()
    if recipient is None or not recipient.active:
        return ()
    return recipient_addresses(recipient)


def recipient_addresses(recipient: Recipient) -> list[Address]:
    """The channels of a person already loaded (email, phone, user), without a query: a
    site-wide message reads thousands of people in one query and asks this of each."""
    found = []
    if recipient.email:
        found.append(Address(Channel.EMAIL, recipient.email, recipient.user_id))
    if recipient.phone:
        found.append(Address(Channel.SMS, recipient.phone, recipient.user_id))
    if recipient.user_id:
        found.append(Address(Channel.INAPP, str(recipient.user_id), recipient.user_id))
    return found
