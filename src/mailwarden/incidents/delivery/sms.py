"""SMS through an HTTP gateway. :class:`SmsGateway` is the adapter a provider implements;
:class:`JsonPostGateway` is the generic one most gateways (and a small relay in front of any
other) accept: a JSON POST with a bearer token, configured by ``delivery.sms_gateway_url`` and
``delivery.sms_gateway_token`` (``MW_DELIVERY__SMS_GATEWAY_TOKEN``).

The request, for reference by whoever writes a relay::

    POST <sms_gateway_url>
    Authorization: Bearer <sms_gateway_token>
    Idempotency-Key: <the message's key>
    {"to": "+441234567890", "from": "<sms_sender>", "text": "...", "id": "<the message's key>"}

Any 2xx answer means accepted; anything else is a failed try, retried with backoff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

import httpx

from mailwarden.config import get_settings
from mailwarden.incidents.delivery.channels import SendFailed, Undeliverable
from mailwarden.incidents.models import Delivery

# E.164-ish: a plus or digits, with the usual separators; what a gateway can dial.
PHONE = re.compile(r"\+?[0-9][0-9 ()-]{5,30}")


class SmsGateway(Protocol):
    def send(self, to: str, text: str, *, key: str) -> None:
        """Hand one SMS to the provider; raise :class:`SendFailed` when it is not accepted."""


@dataclass(frozen=True)
class JsonPostGateway:
    url: str
    token: str | None
    sender: str
    timeout_s: float

    def send(self, to: str, text: str, *, key: str) -> None:
        headers = {"Idempotency-Key": key}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        body = {"to": to, "from": self.sender, "text": text, "id": key}
        try:
            answer = httpx.post(self.url, json=body, headers=headers, timeout=self.timeout_s)
        except httpx.HTTPError as exc:
            raise SendFailed(f"SMS gateway unreachable: {type(exc).__name__}: {exc}") from exc
        if not answer.is_success:
            raise SendFailed(f"SMS gateway answered HTTP {answer.status_code}: {answer.text[:200]}")


def gateway() -> SmsGateway:
    cfg = get_settings().delivery
    if not cfg.sms_gateway_url:
        # Not permanent: the message waits, visibly, for the setting to be made.
        raise SendFailed("no SMS gateway is configured (delivery.sms_gateway_url)")
    return JsonPostGateway(
        cfg.sms_gateway_url, cfg.sms_gateway_token, cfg.sms_sender, cfg.sms_timeout_s
    )


def send(delivery: Delivery) -> None:
    number = delivery.address.strip()
    if not PHONE.fullmatch(number):
        raise Undeliverable(f"{delivery.address!r} is not a phone number")
    text = f"{delivery.subject}: {delivery.text}" if delivery.subject else delivery.text
    gateway().send(number, text, key=delivery.key)
