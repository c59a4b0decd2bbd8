"""Message delivery's API: the messages and the dead letters (``/api/deliveries``,
``/api/outbox/dead``) with replay, one's own in-app inbox (``/api/inbox``), and the webhook
endpoints (``/api/webhook-endpoints``). Roles are checked first; every change goes through
:mod:`mailwarden.incidents.services.delivery`."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import Forbidden, NotFound
from mailwarden.core.permissions import require
from mailwarden.incidents.models import Delivery, WebhookEndpoint
from mailwarden.incidents.queries import delivery as queries
from mailwarden.incidents.schemas.delivery import (
    DeliveryOut,
    DeliveryQuery,
    EndpointIn,
    EndpointName,
    EndpointOut,
    InboxQuery,
    MarkedOut,
    MarkReadIn,
    MessageOut,
    OutboxEventOut,
    ReplayDeliveriesIn,
    ReplayEventsIn,
    RowId,
    delivery_out,
    endpoint_out,
    message_out,
    outbox_event_out,
)
from mailwarden.incidents.services import delivery as services

router = Router()

VIEW = services.VIEW_DEAD_LETTERS


@router.get(
    "/deliveries", response={200: list[DeliveryOut], **ERRORS}, summary="Messages on every channel"
)
@allow(VIEW, "reading message deliveries")
def list_deliveries(request: HttpRequest, filters: Query[DeliveryQuery]) -> list[DeliveryOut]:
    require(actor_of(request), VIEW, "reading message deliveries")
    rows = Delivery.objects.order_by("-created_at", "-id")
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.channel:
        rows = rows.filter(channel=filters.channel)
    if filters.ref:
        rows = rows.filter(ref=filters.ref)
    return [delivery_out(r) for r in rows[filters.offset : filters.offset + filters.limit]]


@router.get(
    "/deliveries/dead", response={200: list[DeliveryOut], **ERRORS}, summary="Dead messages"
)
@allow(VIEW, "reading dead letters")
def dead_deliveries(request: HttpRequest) -> list[DeliveryOut]:
    require(actor_of(request), VIEW, "reading dead letters")
    return [delivery_out(r) for r in queries.dead_deliveries()[:500]]


@router.post(
    "/deliveries/replay",
    response={200: list[DeliveryOut], **ERRORS},
    summary="Send several dead messages again",
)
@allow(services.REPLAY, "replaying dead letters")
def replay_deliveries(request: HttpRequest, payload: ReplayDeliveriesIn) -> list[DeliveryOut]:
    actor = actor_of(request)
    require(actor, services.REPLAY, "replaying dead letters")
    return [delivery_out(r) for r in services.replay_deliveries(actor, payload.delivery_ids)]


@router.get("/deliveries/{delivery_id}", response={200: DeliveryOut, **ERRORS}, summary="A message")
@allow(VIEW, "reading message deliveries")
def get_delivery(request: HttpRequest, delivery_id: Path[RowId]) -> DeliveryOut:
    require(actor_of(request), VIEW, "reading message deliveries")
    row = Delivery.objects.filter(pk=delivery_id).first()
    if row is None:
        raise NotFound(f"no message {delivery_id}", "delivery_id")
    return delivery_out(row)


@router.post(
    "/deliveries/{delivery_id}/replay",
    response={200: DeliveryOut, **ERRORS},
    summary="Send a dead message again",
)
@allow(services.REPLAY, "replaying dead letters")
def replay_delivery(request: HttpRequest, delivery_id: Path[RowId]) -> DeliveryOut:
    actor = actor_of(request)
    require(actor, services.REPLAY, "replaying dead letters")
    return delivery_out(services.replay_deliveries(actor, [delivery_id])[0])


@router.get(
    "/outbox/dead", response={200: list[OutboxEventOut], **ERRORS}, summary="Dead outbox events"
)
@allow(VIEW, "reading dead letters")
def dead_events(request: HttpRequest) -> list[OutboxEventOut]:
    require(actor_of(request), VIEW, "reading dead letters")
    return [outbox_event_out(e) for e in queries.dead_outbox_events()[:500]]


@router.post(
    "/outbox/replay",
    response={200: list[OutboxEventOut], **ERRORS},
    summary="Hand several dead outbox events to their handlers again",
)
@allow(services.REPLAY, "replaying dead letters")
def replay_events(request: HttpRequest, payload: ReplayEventsIn) -> list[OutboxEventOut]:
    actor = actor_of(request)
    require(actor, services.REPLAY, "replaying dead letters")
    return [outbox_event_out(e) for e in services.replay_outbox_events(actor, payload.event_ids)]


@router.post(
    "/outbox/{event_id}/replay",
    response={200: OutboxEventOut, **ERRORS},
    summary="Hand a dead outbox event to its handlers again",
)
@allow(services.REPLAY, "replaying dead letters")
def replay_event(request: HttpRequest, event_id: Path[RowId]) -> OutboxEventOut:
    actor = actor_of(request)
    require(actor, services.REPLAY, "replaying dead letters")
    return outbox_event_out(services.replay_outbox_events(actor, [event_id])[0])


# ----------------------------------------------------------------------------- the inbox


def _user_id(request: HttpRequest) -> int:
    actor = actor_of(request)
    require(actor, services.INBOX, "reading messages")
    if actor.user_id is None:
        raise Forbidden("only a signed-in person has an inbox")
    return actor.user_id


@router.get("/inbox", response={200: list[MessageOut], **ERRORS}, summary="Your in-app messages")
@allow(services.INBOX, "reading messages")
def inbox(request: HttpRequest, filters: Query[InboxQuery]) -> list[MessageOut]:
    rows = queries.inbox(_user_id(request))
    if filters.unread:
        rows = rows.filter(read_at__isnull=True)
    return [message_out(r) for r in rows[filters.offset : filters.offset + filters.limit]]


@router.post("/inbox/read", response={200: MarkedOut, **ERRORS}, summary="Mark your messages read")
@allow(services.INBOX, "reading messages")
def mark_read(request: HttpRequest, payload: MarkReadIn) -> MarkedOut:
    _user_id(request)
    return MarkedOut(marked=services.mark_read(actor_of(request), payload.message_ids))


@router.post(
    "/inbox/read-all", response={200: MarkedOut, **ERRORS}, summary="Mark all your messages read"
)
@allow(services.INBOX, "reading messages")
def mark_all_read(request: HttpRequest) -> MarkedOut:
    _user_id(request)
    return MarkedOut(marked=services.mark_all_read(actor_of(request)))


# ----------------------------------------------------------------------------- webhook endpoints


@router.get(
    "/webhook-endpoints", response={200: list[EndpointOut], **ERRORS}, summary="Webhook endpoints"
)
@allow(VIEW, "reading webhook endpoints")
def list_endpoints(request: HttpRequest) -> list[EndpointOut]:
    require(actor_of(request), VIEW, "reading webhook endpoints")
    return [endpoint_out(e) for e in WebhookEndpoint.objects.all()]


def _request(payload: EndpointIn) -> services.EndpointRequest:
    return services.EndpointRequest(**payload.model_dump())


@router.post(
    "/webhook-endpoints", response={201: EndpointOut, **ERRORS}, summary="Add a webhook endpoint"
)
@allow(services.MANAGE_ENDPOINTS, "changing webhook endpoints")
def create_endpoint(request: HttpRequest, payload: EndpointIn) -> Status[EndpointOut]:
    actor = actor_of(request)
    require(actor, services.MANAGE_ENDPOINTS, "changing webhook endpoints")
    return Status(201, endpoint_out(services.create_endpoint(actor, _request(payload))))


@router.put(
    "/webhook-endpoints/{name}",
    response={200: EndpointOut, **ERRORS},
    summary="Change a webhook endpoint",
)
@allow(services.MANAGE_ENDPOINTS, "changing webhook endpoints")
def update_endpoint(
    request: HttpRequest, name: Path[EndpointName], payload: EndpointIn
) -> EndpointOut:
    actor = actor_of(request)
    require(actor, services.MANAGE_ENDPOINTS, "changing webhook endpoints")
    return endpoint_out(services.update_endpoint(actor, name, _request(payload)))


@router.delete(
    "/webhook-endpoints/{name}",
    response={204: None, **ERRORS},
    summary="Remove a webhook endpoint",
)
@allow(services.MANAGE_ENDPOINTS, "changing webhook endpoints")
def delete_endpoint(request: HttpRequest, name: Path[EndpointName]) -> Status[None]:
    actor = actor_of(request)
    require(actor, services.MANAGE_ENDPOINTS, "changing webhook endpoints")
    services.delete_endpoint(actor, name)
    return Status(204, None)
