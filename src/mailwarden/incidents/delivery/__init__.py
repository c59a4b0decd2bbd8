"""Queueing messages on every channel (docs/architecture.md rule 3).

Callers (escalation, playbook steps, site-wide messages) build :class:`Outgoing` messages and
:func:`queue` them in their own transaction; a periodic job (:mod:`.sender`) sends them with
retries and backoff, and a message that keeps failing becomes a dead letter the console can
replay. In-app messages need no sending: queued, they are in the person's inbox.

Addresses by channel: an email address; a phone number (SMS, through the configured gateway,
:mod:`.sms`); a webhook endpoint's name (:mod:`.webhooks`); an MQTT topic under
``mailwarden/`` (:func:`mqtt_topic`, :mod:`.mqtt`); a user's ID (in-app).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from mailwarden.core import clock
from mailwarden.directory.models import Recipient
from mailwarden.incidents.delivery import bulk
from mailwarden.incidents.models import Channel, Delivery, DeliveryStatus

EXERCISE_LABEL = "EXERCISE"
TOPIC_ROOT = "mailwarden"


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
    outgoing = list(messages)
    inbox = [_row(m, now) for m in outgoing if m.to.channel == Channel.INAPP]
    _check_inbox_owners(inbox)
    keys = [r.key for r in inbox]
    known = set(Delivery.objects.filter(key__in=keys).values_list("key", flat=True))
    fresh = [r for r in inbox if r.key not in known]
    Delivery.objects.bulk_create(fresh, batch_size=500, ignore_conflicts=True)
    # Everything else waits to be sent; a site-wide message makes thousands of these.
    labelled_payloads: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

    def payload_of(m: Outgoing) -> dict[str, Any]:
        # Messages that shared one payload share its labelled copy, so it is serialised once.
        if not m.exercise:
            return m.payload
        found = labelled_payloads.get(id(m.payload))
        if found is None or found[0] is not m.payload:
            found = labelled_payloads[id(m.payload)] = (m.payload, {**m.payload, "exercise": True})
        return found[1]

    rows = [
        {
            "channel": str(m.to.channel),
            "address": m.to.address[:500],
            "user_id": m.to.user_id,
            "subject": labelled(m.subject, m.exercise)[:200],
            "text": labelled(m.text, m.exercise),
            "payload": payload_of(m),
            "key": m.key[:200],
            "ref": m.ref[:100],
            "exercise": m.exercise,
        }
        for m in outgoing
        if m.to.channel != Channel.INAPP
    ]
    return len(fresh) + bulk.insert_new(rows, now)


def _row(m: Outgoing, now: datetime) -> Delivery:
    row = Delivery(
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
    if row.channel == Channel.INAPP:
        # The row is the inbox message: there is nothing to send, so it is delivered as it
        # commits. An address that names no user (not a number) waits as a visible dead letter.
        if row.user_id is None and row.address.isdigit():
            row.user_id = int(row.address)
        if row.user_id is not None:
            row.status, row.sent_at, row.attempts = DeliveryStatus.SENT, now, 1
        else:
            row.status, row.last_error = DeliveryStatus.DEAD, "in-app address is not a user ID"
    return row


def _check_inbox_owners(rows: Sequence[Delivery]) -> None:
    wanted = {r.user_id for r in rows if r.channel == Channel.INAPP and r.user_id is not None}
    if not wanted:
        return
    found = set(get_user_model().objects.filter(pk__in=wanted).values_list("pk", flat=True))
    for row in rows:
        if row.channel == Channel.INAPP and row.user_id is not None and row.user_id not in found:
            row.status, row.sent_at, row.attempts = DeliveryStatus.DEAD, None, 0
            row.last_error = f"no user {row.user_id} for the in-app inbox"
            row.user_id = None


def mqtt_topic(*parts: str) -> str:
    """An MQTT topic under ``mailwarden/``, e.g. ``mqtt_topic("incidents", "hq", "alarm")``
    is ``mailwarden/incidents/hq/alarm``. Each part is one level: MQTT's separators and
    wildcards (``/``, ``+``, ``#``) inside a part become ``_``."""
    clean = ["".join("_" if c in "/+#\x00" else c for c in part).strip() or "_" for part in parts]
    return "/".join([TOPIC_ROOT, *clean])


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
    return recipient_addresses(recipient.email, recipient.phone, recipient.user_id)


def recipient_addresses(email: str, phone: str, user_id: int | None) -> list[Address]:
    """The channels of a person from their columns, without a query: a site-wide message reads
    thousands of people's columns in one query and asks this of each."""
    found = []
    if email:
        found.append(Address(Channel.EMAIL, email, user_id))
    if phone:
        found.append(Address(Channel.SMS, phone, user_id))
    if user_id:
        found.append(Address(Channel.INAPP, str(user_id), user_id))
    return found
