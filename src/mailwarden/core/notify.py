"""Email notifications that are never lost: queued in the cause's transaction, sent by a task.

A :class:`~mailwarden.core.models.Notification` row is written in the same transaction as the change
that calls for it, so a crash cannot drop it. Sending is at least once: a try is recorded (attempt
count and the time of the next try) before the message leaves, so a worker that dies mid-send leaves
the row to be retried by :func:`sweep`, and two workers can never send the same try twice. After
``notifications.max_attempts`` failed tries the row is marked dead and logged as an error.

Every kind needs a renderer, registered with :func:`renders`. It builds the message from the
notification's ``subject_ref`` when queued (so the row shows what is pending) and again when sent,
so a retry carries the current details (an item moved to another shelf meanwhile) and the HTML and
inline images, which the row does not store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.mime.image import MIMEImage

from django.core.mail import EmailMultiAlternatives
from django.db import transaction

from mailwarden.config import get_settings
from mailwarden.core import clock, outbox
from mailwarden.core.models import Notification, NotificationStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InlineImage:
    """A PNG shown in the HTML body as ``<img src="cid:{content_id}">``."""

    content_id: str
    filename: str
    png: bytes


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str = ""
    images: tuple[InlineImage, ...] = ()


Renderer = Callable[[str], Message]


class Withdrawn(Exception):
    """A renderer's answer when its message no longer applies: the parcel was collected
    while the send was waiting for a retry. The notification is closed unsent."""


_renderers: dict[str, Renderer] = {}


def renders(kind: str) -> Callable[[Renderer], Renderer]:
    """Register the function that builds messages of ``kind`` from a ``subject_ref``."""

    def register(fn: Renderer) -> Renderer:
        _renderers[kind] = fn
        return fn

    return register


def render(kind: str, subject_ref: str) -> Message:
    try:
        renderer = _renderers[kind]
    except KeyError:
        raise LookupError(f"no renderer registered for notifications of kind {kind!r}") from None
    return renderer(subject_ref)


def queue(*, key: str, kind: str, to_address: str, subject_ref: str) -> Notification:
    """Queue one message; a second call with the same ``key`` returns the first row unchanged.

    Must run inside the caller's transaction. The send task is enqueued once that transaction
    commits; if the enqueue is lost, :func:`sweep` finds the row.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("notify.queue must run inside the change's transaction")
    message = render(kind, subject_ref)
    at = clock.now()
    notification, created = Notification.objects.get_or_create(
        key=key,
        defaults={
            "kind": kind,
            "to_address": to_address,
            "subject": message.subject[:200],
            "body": message.text,
            "subject_ref": subject_ref,
            "created_at": at,
            "next_attempt_at": at,
        },
    )
    if created:
        # robust: a queue outage must not fail the caller's already committed change.
        transaction.on_commit(lambda: _enqueue_send(notification.pk), robust=True)
    return notification


def _enqueue_send(notification_id: int) -> None:
    from mailwarden.core.tasks import send_notification

    send_notification.enqueue(notification_id)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try."""
    cfg = get_settings().notifications
    return outbox.backoff(attempts, cfg.backoff_base_s, cfg.backoff_max_s)


def _claim(notification_id: int, now: datetime) -> Notification | None:
    """Record a try before making it; None when the row is not pending and due."""
    max_attempts = get_settings().notifications.max_attempts
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update()
            .filter(
                pk=notification_id,
                status=NotificationStatus.PENDING,
                next_attempt_at__lte=now,
            )
            .first()
        )
        if notification is None:
            return None
        if notification.attempts >= max_attempts:
            # Only reachable when a worker died during the last allowed try.
            notification.status = NotificationStatus.DEAD
            notification.save(update_fields=["status"])
            log.error("notification %s is dead after %d tries", notification.key, max_attempts)
            return None
        notification.attempts += 1
        notification.next_attempt_at = now + backoff(notification.attempts)
        notification.save(update_fields=["attempts", "next_attempt_at"])
    return notification


def _email(to_address: str, message: Message) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(subject=message.subject, body=message.text, to=[to_address])
    if message.html:
        email.attach_alternative(message.html, "text/html")
    for image in message.images:
        part = MIMEImage(image.png, "png")
        part.add_header("Content-ID", f"<{image.content_id}>")
        part.add_header("Content-Disposition", "inline", filename=image.filename)
        email.attach(part)
    if message.images:
        # Inline images belong with the HTML they illustrate, not as a separate download.
        email.mixed_subtype = "related"
    return email


def send(notification_id: int) -> str:
    """Try to send one notification now.

    Returns ``sent``, ``retry``, ``dead``, ``withdrawn`` or ``skipped``.
    """
    notification = _claim(notification_id, clock.now())
    if notification is None:
        return "skipped"
    try:
        message = render(notification.kind, notification.subject_ref)
        _email(notification.to_address, message).send(fail_silently=False)
    except Withdrawn as exc:
        notification.status = NotificationStatus.WITHDRAWN
        notification.last_error = f"withdrawn: {exc}"[:2000]
        notification.save(update_fields=["last_error", "status"])
        log.info("notification %s withdrawn unsent: %s", notification.key, exc)
        return "withdrawn"
    except Exception as exc:
        notification.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if notification.attempts >= get_settings().notifications.max_attempts:
            notification.status = NotificationStatus.DEAD
            log.error(
                "notification %s to %s is dead after %d tries: %s",
                notification.key,
                notification.to_address,
                notification.attempts,
                notification.last_error,
            )
        else:
            log.warning(
                "notification %s try %d failed, next at %s: %s",
                notification.key,
                notification.attempts,
                notification.next_attempt_at.isoformat(),
                notification.last_error,
            )
        notification.save(update_fields=["last_error", "status"])
        return "dead" if notification.status == NotificationStatus.DEAD else "retry"
    # Keep what actually went out, which a retry may have refreshed.
    notification.subject, notification.body = message.subject[:200], message.text
    notification.status = NotificationStatus.SENT
    notification.sent_at = clock.now()
    notification.last_error = ""
    notification.save(update_fields=["subject", "body", "status", "sent_at", "last_error"])
    return "sent"


def sweep(now: datetime | None = None, limit: int = 500) -> int:
    """Enqueue a send for every due pending notification; returns how many.

    This is how failed tries are retried, and how a row whose enqueue was lost (a crash between
    commit and enqueue, a queue outage) still goes out. A row enqueued twice is sent once, because
    each try is claimed.
    """
    now = now or clock.now()
    ids = list(
        Notification.objects.filter(status=NotificationStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for notification_id in ids:
        _enqueue_send(notification_id)
    return len(ids)
