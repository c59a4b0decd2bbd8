"""The changes people make to message delivery (docs/architecture.md rule 1): replaying dead
letters (messages and outbox events), reading in-app messages, and the webhook endpoints.

Sending itself is the periodic job's (:mod:`mailwarden.incidents.delivery.sender`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction

from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.ledger import Record
from mailwarden.core.models import OutboxEvent, OutboxStatus
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.core.validation import check_text
from mailwarden.incidents.models import Channel, Delivery, DeliveryStatus, WebhookEndpoint

REPLAY = (Role.SECURITY_MANAGER,)
VIEW_DEAD_LETTERS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
MANAGE_ENDPOINTS = (Role.SECURITY_MANAGER,)
# Everyone who signs in has an inbox: escalation and site messages reach every role.
INBOX = tuple(Role)

MAX_BULK = 200
ENDPOINT_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")
ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]{0,99}")


def _ids(ids: Sequence[int], field: str) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        raise ServiceError("name at least one", field)
    if len(wanted) > MAX_BULK:
        raise ServiceError(f"at most {MAX_BULK} at once", field)
    return wanted


# ----------------------------------------------------------------------------- dead letters


def replay_deliveries(actor: Actor, delivery_ids: Sequence[int]) -> list[Delivery]:
    """Dead messages back to pending, due now, with a fresh set of tries. All or nothing: an
    unknown message, or one that is not dead, refuses the whole request."""
    require(actor, REPLAY, "replaying dead letters")
    ids = _ids(delivery_ids, "delivery_ids")
    now = clock.now()
    with transaction.atomic():
        found = {d.pk: d for d in Delivery.objects.select_for_update().filter(pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no message {', '.join(map(str, missing))}", "delivery_ids")
        alive = [i for i in ids if found[i].status != DeliveryStatus.DEAD]
        if alive:
            raise Conflict(
                f"message {', '.join(map(str, alive))} is not a dead letter", "delivery_ids"
            )
        rows = [found[i] for i in ids]
        records = []
        for row in rows:
            records.append(
                Record(
                    "incidents.delivery.replayed",
                    "delivery",
                    str(row.pk),
                    {
                        "channel": row.channel,
                        "address": row.address,
                        "key": row.key,
                        "attempts": row.attempts,
                        "last_error": row.last_error[:500],
                    },
                )
            )
            row.status, row.attempts, row.next_attempt_at = DeliveryStatus.PENDING, 0, now
            row.save(update_fields=["status", "attempts", "next_attempt_at"])
        ledger.append_many(actor, records, at=now)
    return rows


def replay_outbox_events(actor: Actor, event_ids: Sequence[int]) -> list[OutboxEvent]:
    """Dead outbox events back to pending: the dispatcher hands them to their handlers again.
    All or nothing, like :func:`replay_deliveries`."""
    require(actor, REPLAY, "replaying dead letters")
    ids = _ids(event_ids, "event_ids")
    now = clock.now()
    with transaction.atomic():
        found = dict(
            OutboxEvent.objects.select_for_update().filter(pk__in=ids).values_list("pk", "status")
        )
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no outbox event {', '.join(map(str, missing))}", "event_ids")
        alive = [i for i in ids if found[i] != OutboxStatus.DEAD]
        if alive:
            raise Conflict(
                f"outbox event {', '.join(map(str, alive))} is not a dead letter", "event_ids"
            )
        before = {
            e.pk: {"topic": e.topic, "key": e.key, "attempts": e.attempts, "error": e.last_error}
            for e in OutboxEvent.objects.filter(pk__in=ids)
        }
        events = outbox.replay(ids, now)
        ledger.append_many(
            actor,
            [
                Record(
                    "incidents.outbox_event.replayed",
                    "outbox_event",
                    str(e.pk),
                    {**before[e.pk], "error": str(before[e.pk]["error"])[:500]},
                )
                for e in events
            ],
            at=now,
        )
    return events


# ----------------------------------------------------------------------------- the inbox


def _own_messages(actor: Actor, ids: Sequence[int] | None) -> Any:
    if actor.user_id is None:
        raise Forbidden("only a signed-in person has an inbox")
    require(actor, INBOX, "reading messages")
    rows = Delivery.objects.filter(
        channel=Channel.INAPP, user_id=actor.user_id, status=DeliveryStatus.SENT
    )
    return rows if ids is None else rows.filter(pk__in=ids)


def mark_read(actor: Actor, delivery_ids: Sequence[int]) -> int:
    """Mark some of one's own in-app messages read; returns how many were unread. Another
    person's message is not found, as if it did not exist."""
    ids = _ids(delivery_ids, "message_ids")
    with transaction.atomic():
        rows = _own_messages(actor, ids)
        found = set(rows.values_list("pk", flat=True))
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(
                f"no message {', '.join(map(str, missing))} in your inbox", "message_ids"
            )
        return int(rows.filter(read_at__isnull=True).update(read_at=clock.now()))


def mark_all_read(actor: Actor) -> int:
    with transaction.atomic():
        return int(
            _own_messages(actor, None).filter(read_at__isnull=True).update(read_at=clock.now())
        )


# ----------------------------------------------------------------------------- webhook endpoints


@dataclass(frozen=True)
class EndpointRequest:
    name: str
    url: str
    # Write-only: None keeps the stored secret, "" removes it.
    secret: str | None = None
    secret_env: str = ""
    active: bool = True


def _validated(request: EndpointRequest, current: WebhookEndpoint | None) -> dict[str, Any]:
    name = check_text(request.name, "name", max_length=60, required=True)
    if not ENDPOINT_NAME.fullmatch(name):
        raise ServiceError(
            "use lower-case letters, digits, - and _ (starting with a letter or digit)", "name"
        )
    url = check_text(request.url, "url", max_length=500, required=True)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServiceError("must be an http:// or https:// URL with a host", "url")
    secret_env = check_text(request.secret_env, "secret_env", max_length=100)
    if secret_env and not ENV_NAME.fullmatch(secret_env):
        raise ServiceError(
            "must be an environment variable's name, e.g. MW_WEBHOOK_OPS", "secret_env"
        )
    secret = current.secret if current is not None and request.secret is None else request.secret
    secret = secret or ""
    if len(secret) > 200:
        raise ServiceError("at most 200 characters", "secret")
    if secret and len(secret) < 16:
        raise ServiceError("at least 16 characters: it signs every request", "secret")
    if not secret and not secret_env:
        raise ServiceError("give a secret, or the environment variable that holds it", "secret")
    return {
        "name": name,
        "url": url,
        "secret_env": secret_env,
        "secret": secret,
        "active": request.active,
    }


def _endpoint_data(endpoint: WebhookEndpoint) -> dict[str, Any]:
    # Never the secret: the ledger is read by auditors.
    return {
        "name": endpoint.name,
        "url": endpoint.url,
        "secret_env": endpoint.secret_env,
        "secret_stored": bool(endpoint.secret),
        "active": endpoint.active,
    }


def create_endpoint(actor: Actor, request: EndpointRequest) -> WebhookEndpoint:
    require(actor, MANAGE_ENDPOINTS, "changing webhook endpoints")
    values = _validated(request, None)
    now = clock.now()
    try:
        with transaction.atomic():
            endpoint = WebhookEndpoint.objects.create(**values, created_at=now, updated_at=now)
            ledger.append(
                actor,
                "incidents.webhook_endpoint.created",
                "webhook_endpoint",
                endpoint.name,
                _endpoint_data(endpoint),
            )
    except IntegrityError:
        raise Conflict(f"a webhook endpoint is named {values['name']!r} already", "name") from None
    return endpoint


def update_endpoint(actor: Actor, name: str, request: EndpointRequest) -> WebhookEndpoint:
    require(actor, MANAGE_ENDPOINTS, "changing webhook endpoints")
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(name=name).first()
        if endpoint is None:
            raise NotFound(f"no webhook endpoint {name!r}", "name")
        values = _validated(request, endpoint)
        if values["name"] != name:
            raise ServiceError("an endpoint keeps its name: messages are addressed by it", "name")
        for field_name, value in values.items():
            setattr(endpoint, field_name, value)
        endpoint.updated_at = clock.now()
        endpoint.save()
        ledger.append(
            actor,
            "incidents.webhook_endpoint.updated",
            "webhook_endpoint",
            endpoint.name,
            _endpoint_data(endpoint),
        )
    return endpoint


def delete_endpoint(actor: Actor, name: str) -> None:
    require(actor, MANAGE_ENDPOINTS, "changing webhook endpoints")
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().filter(name=name).first()
        if endpoint is None:
            raise NotFound(f"no webhook endpoint {name!r}", "name")
        data = _endpoint_data(endpoint)
        endpoint.delete()
        ledger.append(actor, "incidents.webhook_endpoint.deleted", "webhook_endpoint", name, data)
