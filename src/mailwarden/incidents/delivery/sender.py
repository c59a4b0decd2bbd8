"""Sending the queued messages: a periodic job tries every due pending :class:`Delivery` on its
channel, with exponential backoff between tries, and declares it dead after
``delivery.max_attempts`` tries, raising a console alarm.

Sending is at least once, as :mod:`mailwarden.core.notify`: each try is claimed (the attempt
counted and the next try's time set) in its own transaction before the message leaves, so a
worker that dies mid-send leaves the row to be retried, and two workers never make the same
try. The error of the last failed try stays in ``last_error`` until a try succeeds.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from mailwarden.config import get_settings
from mailwarden.core import clock, outbox
from mailwarden.core.tasks import periodic
from mailwarden.incidents.delivery import mqtt, sms, smtp, webhooks
from mailwarden.incidents.delivery.channels import Sender, SendFailed, Undeliverable
from mailwarden.incidents.models import AlarmSource, Channel, Delivery, DeliveryStatus, Severity

log = logging.getLogger(__name__)

DEAD_ALARM_TYPE = "incidents.delivery.failed"


def _inapp(delivery: Delivery) -> None:
    # Only a replayed in-app dead letter comes here; queueing delivers in-app messages.
    user_id = delivery.user_id or (int(delivery.address) if delivery.address.isdigit() else None)
    if user_id is None or not get_user_model().objects.filter(pk=user_id).exists():
        raise Undeliverable(f"no user {delivery.address!r} for the in-app inbox")
    Delivery.objects.filter(pk=delivery.pk).update(user_id=user_id)


SENDERS: dict[str, Sender] = {
    Channel.EMAIL: smtp.send,
    Channel.SMS: sms.send,
    Channel.WEBHOOK: webhooks.send,
    Channel.MQTT: mqtt.send,
    Channel.INAPP: _inapp,
}


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try."""
    cfg = get_settings().delivery
    return outbox.backoff(attempts, cfg.backoff_base_s, cfg.backoff_max_s)


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    """Record a try before making it; None when the row is not pending and due."""
    max_attempts = get_settings().delivery.max_attempts
    with transaction.atomic():
        query = Delivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True)
        delivery = query.first()
        if delivery is None:
            return None
        if delivery.attempts >= max_attempts:
            # Only reachable when a worker died during the last allowed try.
            _declare_dead(delivery, now, "the last try was interrupted")
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + backoff(delivery.attempts)
        delivery.save(update_fields=["attempts", "next_attempt_at"])
    return delivery


def _declare_dead(delivery: Delivery, now: datetime, error: str) -> None:
    """Dead, with a console alarm, in one transaction: a dead letter is never silent."""
    from mailwarden.incidents.services import alarms

    with transaction.atomic():
        delivery.status, delivery.last_error = DeliveryStatus.DEAD, error[:2000]
        delivery.save(update_fields=["status", "last_error"])
        alarms.raise_alarm(
            alarms.JOB,
            alarms.AlarmSignal(
                key=f"{DEAD_ALARM_TYPE}:{delivery.pk}:{now.isoformat()}",
                type=DEAD_ALARM_TYPE,
                severity=Severity.HIGH,
                source=AlarmSource.DELIVERY,
                # One alarm per channel, counting every dead letter until acknowledged.
                source_key=f"{DEAD_ALARM_TYPE}:{delivery.channel}",
                title=f"{delivery.get_channel_display()} messages are not getting through",
                occurred_at=now,
                evidence=(
                    {
                        "label": f"To {delivery.address} after {delivery.attempts} tries: "
                        f"{delivery.last_error}"[:200],
                        "url": "/incidents/dead-letters/",
                    },
                ),
                ref=f"delivery:{delivery.pk}",
            ),
        )
    log.error(
        "%s message %s to %s is dead after %d tries: %s",
        delivery.channel,
        delivery.key,
        delivery.address,
        delivery.attempts,
        delivery.last_error,
    )


def send(delivery_id: int, now: datetime | None = None) -> str:
    """Try to send one message now: ``sent``, ``retry``, ``dead`` or ``skipped``."""
    now = now or clock.now()
    delivery = _claim(delivery_id, now)
    if delivery is None:
        return "skipped"
    try:
        SENDERS[delivery.channel](delivery)
    except Exception as exc:
        error = str(exc) if isinstance(exc, SendFailed) else f"{type(exc).__name__}: {exc}"
        permanent = isinstance(exc, Undeliverable)
        if permanent or delivery.attempts >= get_settings().delivery.max_attempts:
            _declare_dead(delivery, now, error)
            return "dead"
        delivery.last_error = error[:2000]
        delivery.save(update_fields=["last_error"])
        log.warning(
            "%s message %s try %d failed, next at %s: %s",
            delivery.channel,
            delivery.key,
            delivery.attempts,
            delivery.next_attempt_at.isoformat(),
            error,
        )
        return "retry"
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=clock.now(), last_error=""
    )
    return "sent"


NO_SMS_GATEWAY = "waiting: no SMS gateway is configured (delivery.sms_gateway_url)"


def _unconfigured() -> set[str]:
    """Channels nobody has set up yet. Their messages wait without using up tries (a gateway
    configured later sends them all), and say why on the dead-letter page's neighbour, the
    message itself, instead of logging a failure every tick."""
    if get_settings().delivery.sms_gateway_url:
        return set()
    Delivery.objects.filter(
        channel=Channel.SMS, status=DeliveryStatus.PENDING, attempts=0, last_error=""
    ).update(last_error=NO_SMS_GATEWAY)
    return {str(Channel.SMS)}


def destination(channel: str, address: str) -> str:
    """What one outage takes down: the SMTP server, the SMS gateway and the MQTT broker serve
    every message of their channel; each webhook endpoint is its own."""
    return f"{channel}:{address}" if channel == Channel.WEBHOOK else channel


@periodic("incidents-deliveries")
def send_due(now: datetime) -> int:
    """Try every due pending message, oldest due first; returns how many tries were made.

    Once a destination has failed in this tick, its other messages wait for the next tick
    rather than each waiting out the same timeout; they are tried in their turn, so none is
    starved, and none loses a try to an outage it was never sent into.
    """
    due = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "channel", "address")[: get_settings().delivery.batch]
    )
    down = _unconfigured()
    tries = 0
    for delivery_id, channel, address in due:
        where = destination(channel, address)
        if where in down:
            continue
        result = send(delivery_id, now)
        tries += result != "skipped"
        if result == "retry":
            down.add(where)
    return tries
