"""What custody tells people by email, and the reminder and escalation job.

- Arrival: sent when an item becomes ready for pickup (never before screening has cleared it), with
  the pickup code, the pickup QR and where to collect the item.
- Reminder: once per item, ``notifications.reminder_after_days`` after it became ready for pickup
  and while it still is. An item that goes out and comes back to the shelf is not reminded again.
- Escalation: once per item, to the recipient's manager, ``notifications.escalate_after_days``
  after it became ready for pickup and while it still is. It names the item but carries no pickup
  code or QR, so the manager cannot collect it.

Reminders and escalations change the item (``reminders_sent``, ``escalated_at``), so each is a
service (:func:`mailwarden.custody.services.record_reminder` and ``record_escalation``): one
transaction that updates the item, appends to the ledger and queues the notification. Their
periodic job (:func:`mailwarden.custody.services.send_due_reminders`) only finds the items that
are due. This module renders the messages and queues the arrival email.
"""

from __future__ import annotations

import io
from typing import Any

import segno
from django.template.loader import render_to_string

from mailwarden.config import get_settings
from mailwarden.core import notify
from mailwarden.core.errors import NotFound
from mailwarden.core.models import Notification
from mailwarden.custody import pickup
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State

ARRIVAL = "arrival"
REMINDER = "reminder"
ESCALATION = "escalation"
QR_CONTENT_ID = "pickup-qr@mailwarden"


def subject_ref(uid: str) -> str:
    return f"mailitem:{uid}"


def _waiting_item(ref: str) -> MailItem:
    """The item a pickup message is about, while it still waits on the shelf for its recipient."""
    item = _item(ref)
    if item.state != State.READY_FOR_PICKUP:
        raise notify.Withdrawn(f"{item.uid} is {item.state}, no longer waiting for pickup")
    return item


def _item(ref: str) -> MailItem:
    uid = ref.removeprefix("mailitem:")
    item = (
        MailItem.objects.select_related("recipient__manager", "location", "site")
        .filter(uid=uid)
        .first()
    )
    if item is None:
        raise NotFound(f"no item {uid}", "uid")
    return item


def qr_png(uid: str) -> bytes:
    out = io.BytesIO()
    segno.make(pickup.qr_token(uid), error="m").save(out, kind="png", scale=6, border=4)
    return out.getvalue()


def _message(template: str, subject: str, item: MailItem, *, for_recipient: bool) -> notify.Message:
    """Only the recipient's own messages carry the pickup code and QR."""
    context: dict[str, Any] = {
        "item": item,
        "recipient": item.recipient,
        "site": item.site,
        "location": item.location,
        "kind": item.get_kind_display().lower(),
        "escalate_days": get_settings().notifications.escalate_after_days,
    }
    images: tuple[notify.InlineImage, ...] = ()
    if for_recipient:
        context |= {"code": pickup.pickup_code(item.uid), "qr_cid": QR_CONTENT_ID}
        images = (notify.InlineImage(QR_CONTENT_ID, f"pickup-{item.uid}.png", qr_png(item.uid)),)
    return notify.Message(
        subject=subject,
        text=render_to_string(f"custody/email/{template}.txt", context),
        html=render_to_string(f"custody/email/{template}.html", context),
        images=images,
    )


@notify.renders(ARRIVAL)
def arrival_message(ref: str) -> notify.Message:
    item = _waiting_item(ref)
    subject = f"Your {item.get_kind_display().lower()} {item.uid} is ready to collect"
    return _message(ARRIVAL, subject, item, for_recipient=True)


@notify.renders(REMINDER)
def reminder_message(ref: str) -> notify.Message:
    item = _waiting_item(ref)
    subject = f"Reminder: your {item.get_kind_display().lower()} {item.uid} is waiting"
    return _message(REMINDER, subject, item, for_recipient=True)


@notify.renders(ESCALATION)
def escalation_message(ref: str) -> notify.Message:
    item = _waiting_item(ref)
    subject = f"Uncollected mail for {item.recipient.display_name} ({item.uid})"
    return _message(ESCALATION, subject, item, for_recipient=False)


# ----------------------------------------------------------------------------- arrival


def queue_arrival(uid: str) -> Notification | None:
    """Queue the arrival email; None when the item is no longer ready for pickup.

    Runs inside the outbox handler's transaction. Keyed on the item, so a redelivered event, or an
    item that comes back to the shelf, gives one email.
    """
    item = _item(subject_ref(uid))
    if item.state != State.READY_FOR_PICKUP:
        return None
    return notify.queue(
        key=f"{ARRIVAL}:{uid}",
        kind=ARRIVAL,
        to_address=item.recipient.email,
        subject_ref=subject_ref(uid),
    )
