"""Read-side queries of message delivery: the dead letters and a person's inbox."""

from __future__ import annotations

from django.db.models import QuerySet

from mailwarden.core.models import OutboxEvent, OutboxStatus
from mailwarden.incidents.models import Channel, Delivery, DeliveryStatus


def dead_deliveries() -> QuerySet[Delivery]:
    return Delivery.objects.filter(status=DeliveryStatus.DEAD).order_by("-next_attempt_at", "-id")


def dead_outbox_events() -> QuerySet[OutboxEvent]:
    return OutboxEvent.objects.filter(status=OutboxStatus.DEAD).order_by("-next_attempt_at", "-id")


def inbox(user_id: int) -> QuerySet[Delivery]:
    """A person's in-app messages, newest first."""
    return Delivery.objects.filter(
        channel=Channel.INAPP, user_id=user_id, status=DeliveryStatus.SENT
    ).order_by("-sent_at", "-id")


def unread_count(user_id: int) -> int:
    return inbox(user_id).filter(read_at__isnull=True).count()
