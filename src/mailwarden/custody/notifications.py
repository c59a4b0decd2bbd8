"""What custody tells people by email, and the reminder and escalation job.

- Arrival: sent when an item becomes ready for pickup (never before screening has cleared it), with
  the pickup code, the pickup QR and where to collect the item.
- Reminder: once per item, ``notifications.reminder_after_days`` after it became ready for pickup
  and while it still is. An item that goes out and comes back to the shelf is not reminded again.
- Escalation: once per item, to the recipient's manager, ``notifications.escalate_after_days``
  after it became ready for pickup and while it still is. It names the item but carries no pickup
  code or QR, so the manager cannot collect it.

Reminders and escalations change the item (``reminders_sent``, ``escalated_at``), so each is a
small service here: one transaction that updates the item, appends to the ledger and queues the
notification. The periodic job only finds the items that are due.
"""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any

import segno
from django.db import transaction
from django.template.loader import render_to_string

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger, notify
from mailwarden.core.actor import Actor
from mailwarden.core.errors import NotFound
from mailwarden.core.models import Notification
from mailwarden.core.tasks import periodic
from mailwarden.custody import pickup
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State

ARRIVAL = "arrival"
REMINDER = "reminder"
ESCALATION = "escalation"
QR_CONTENT_ID = "pickup-qr@mailwarden"

JOB = Actor.job("reminders")


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


# ----------------------------------------------------------------------------- writes


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


def _locked_waiting_item(uid: str) -> MailItem | None:
    return (
        # Lock the item only: the manager is an outer join, which PostgreSQL will not lock.
        MailItem.objects.select_for_update(of=("self",))
        .select_related("recipient__manager")
        .filter(uid=uid, state=State.READY_FOR_PICKUP)
        .first()
    )


def record_reminder(actor: Actor, uid: str, *, now: datetime) -> bool:
    """Send the item's one reminder; False when it is not waiting or was reminded already."""
    with transaction.atomic():
        item = _locked_waiting_item(uid)
        if item is None or item.reminders_sent:
            return False
        item.reminders_sent += 1
        item.save(update_fields=["reminders_sent"])
        ledger.append(
            actor,
            "custody.reminder.sent",
            "mailitem",
            uid,
            {
                "recipient": item.recipient.employee_id,
                "waiting_since": item.state_changed_at.isoformat(),
            },
            at=now,
        )
        notify.queue(
            key=f"{REMINDER}:{uid}",
            kind=REMINDER,
            to_address=item.recipient.email,
            subject_ref=subject_ref(uid),
        )
    return True


def record_escalation(actor: Actor, uid: str, *, now: datetime) -> bool:
    """Tell the recipient's manager; False when not waiting, escalated already, or no manager."""
    with transaction.atomic():
        item = _locked_waiting_item(uid)
        if item is None or item.escalated_at is not None:
            return False
        manager = item.recipient.manager
        if manager is None or not manager.active:
            return False
        item.escalated_at = now
        item.save(update_fields=["escalated_at"])
        ledger.append(
            actor,
            "custody.item.escalated",
            "mailitem",
            uid,
            {
                "recipient": item.recipient.employee_id,
                "manager": manager.employee_id,
                "waiting_since": item.state_changed_at.isoformat(),
            },
            at=now,
        )
        notify.queue(
            key=f"{ESCALATION}:{uid}",
            kind=ESCALATION,
            to_address=manager.email,
            subject_ref=subject_ref(uid),
        )
    return True


# ----------------------------------------------------------------------------- the job


@periodic("reminders")
def send_due_reminders(now: datetime | None = None) -> int:
    """Queue every reminder and escalation that is due; returns how many were queued."""
    now = now or clock.now()
    cfg = get_settings().notifications
    waiting = MailItem.objects.filter(state=State.READY_FOR_PICKUP)
    remind = waiting.filter(
        reminders_sent=0,
        state_changed_at__lte=now - timedelta(days=cfg.reminder_after_days),
    )
    escalate = waiting.filter(
        escalated_at__isnull=True,
        recipient__manager__isnull=False,
        recipient__manager__active=True,
        state_changed_at__lte=now - timedelta(days=cfg.escalate_after_days),
    )
    sent = sum(record_reminder(JOB, uid, now=now) for uid in remind.values_list("uid", flat=True))
    sent += sum(
        record_escalation(JOB, uid, now=now) for uid in escalate.values_list("uid", flat=True)
    )
    return sent
