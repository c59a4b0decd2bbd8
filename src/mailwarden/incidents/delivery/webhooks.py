"""Webhooks signed with HMAC-SHA256 (docs/webhooks.md).

A webhook :class:`~mailwarden.incidents.models.Delivery` names a
:class:`~mailwarden.incidents.models.WebhookEndpoint`; the message goes to its URL as a JSON
POST whose ``Mailwarden-Signature`` header is ``v1=`` and the hex HMAC-SHA256, under the
endpoint's secret, of the ``Mailwarden-Timestamp`` header's value, a full stop, and the body's
bytes. A receiver recomputes it (:func:`verify` is the reference) and refuses a timestamp far
from its own clock, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from datetime import datetime

import httpx

from mailwarden.config import get_settings
from mailwarden.core import clock
from mailwarden.incidents.delivery.channels import SendFailed, payload_of
from mailwarden.incidents.models import Delivery, WebhookEndpoint

SIGNATURE_HEADER = "Mailwarden-Signature"
TIMESTAMP_HEADER = "Mailwarden-Timestamp"
ID_HEADER = "Mailwarden-Webhook-Id"
SCHEME = "v1"
TOLERANCE_S = 300


def signature(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def signed_headers(secret: str, body: bytes, at: datetime, key: str) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    return {
        "Content-Type": "application/json",
        ID_HEADER: key,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str, headers: dict[str, str], body: bytes, now: datetime, tolerance_s: int = TOLERANCE_S
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent."""
    timestamp = headers.get(TIMESTAMP_HEADER, "")
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > tolerance_s:
        return False
    given = headers.get(SIGNATURE_HEADER, "")
    # A sender rotating its secret may send several signatures, separated by spaces.
    expected = signature(secret, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in given.split())


def secret_of(endpoint: WebhookEndpoint) -> str:
    if endpoint.secret_env:
        value = os.environ.get(endpoint.secret_env, "")
        if not value:
            raise SendFailed(
                f"webhook endpoint {endpoint.name!r}: environment variable "
                f"{endpoint.secret_env} is not set"
            )
        return value
    if not endpoint.secret:
        raise SendFailed(f"webhook endpoint {endpoint.name!r} has no secret")
    return endpoint.secret


def body_of(delivery: Delivery) -> bytes:
    return json.dumps(payload_of(delivery), separators=(",", ":"), sort_keys=True).encode()


def send(delivery: Delivery) -> None:
    endpoint = WebhookEndpoint.objects.filter(name=delivery.address).first()
    # Not permanent: an endpoint added or switched back on later gets the message.
    if endpoint is None:
        raise SendFailed(f"no webhook endpoint named {delivery.address!r}")
    if not endpoint.active:
        raise SendFailed(f"webhook endpoint {endpoint.name!r} is switched off")
    body = body_of(delivery)
    headers = signed_headers(secret_of(endpoint), body, clock.now(), delivery.key)
    try:
        answer = httpx.post(
            endpoint.url,
            content=body,
            headers=headers,
            timeout=get_settings().delivery.webhook_timeout_s,
        )
    except httpx.HTTPError as exc:
        raise SendFailed(f"{endpoint.url} unreachable: {type(exc).__name__}: {exc}") from exc
    if not answer.is_success:
        raise SendFailed(f"{endpoint.url} answered HTTP {answer.status_code}: {answer.text[:200]}")
