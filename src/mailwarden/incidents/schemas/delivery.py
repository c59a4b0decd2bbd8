"""Message delivery's API shapes: dead letters, replays, the inbox and webhook endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from mailwarden.core.api import Input
from mailwarden.core.models import OutboxEvent
from mailwarden.incidents.models import Delivery, WebhookEndpoint

RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
EndpointName = Annotated[str, Field(min_length=1, max_length=60, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
ChannelName = Literal["email", "sms", "webhook", "mqtt", "inapp"]
StatusName = Literal["pending", "sent", "dead", "cancelled"]


class DeliveryOut(Schema):
    id: int
    channel: str
    address: str
    subject: str
    ref: str
    key: str
    exercise: bool
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None
    last_error: str


def delivery_out(row: Delivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.pk,
        channel=row.channel,
        address=row.address,
        subject=row.subject,
        ref=row.ref,
        key=row.key,
        exercise=row.exercise,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
        last_error=row.last_error,
    )


class DeliveryQuery(Input):
    status: StatusName | None = None
    channel: ChannelName | None = None
    ref: str | None = Field(default=None, max_length=100)
    limit: int = Field(default=100, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class OutboxEventOut(Schema):
    id: int
    topic: str
    key: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str


def outbox_event_out(event: OutboxEvent) -> OutboxEventOut:
    return OutboxEventOut(
        id=event.pk,
        topic=event.topic,
        key=event.key,
        status=event.status,
        attempts=event.attempts,
        created_at=event.created_at,
        next_attempt_at=event.next_attempt_at,
        last_error=event.last_error,
    )


class ReplayDeliveriesIn(Input):
    delivery_ids: list[RowId] = Field(min_length=1, max_length=200)


class ReplayEventsIn(Input):
    event_ids: list[RowId] = Field(min_length=1, max_length=200)


class MessageOut(Schema):
    id: int
    subject: str
    text: str
    ref: str
    exercise: bool
    sent_at: datetime | None
    read_at: datetime | None


def message_out(row: Delivery) -> MessageOut:
    return MessageOut(
        id=row.pk,
        subject=row.subject,
        text=row.text,
        ref=row.ref,
        exercise=row.exercise,
        sent_at=row.sent_at,
        read_at=row.read_at,
    )


class InboxQuery(Input):
    unread: bool = False
    limit: int = Field(default=50, ge=1, le=500)
    offset: int = Field(default=0, ge=0, le=1_000_000)


class MarkReadIn(Input):
    message_ids: list[RowId] = Field(min_length=1, max_length=200)


class MarkedOut(Schema):
    marked: int


class EndpointIn(Input):
    name: EndpointName
    url: str = Field(max_length=500, description="http:// or https:// URL the messages go to.")
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="Write-only HMAC secret (16+ characters); null keeps the stored one, "
        '"" removes it.',
    )
    secret_env: str = Field(
        default="",
        max_length=100,
        description="An environment variable holding the secret; wins over a stored one.",
    )
    active: bool = True


class EndpointOut(Schema):
    name: str
    url: str
    secret_env: str
    secret_stored: bool = Field(description="Whether a secret is stored; it is never shown.")
    active: bool
    created_at: datetime
    updated_at: datetime


def endpoint_out(endpoint: WebhookEndpoint) -> EndpointOut:
    return EndpointOut(
        name=endpoint.name,
        url=endpoint.url,
        secret_env=endpoint.secret_env,
        secret_stored=bool(endpoint.secret),
        active=endpoint.active,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
    )
