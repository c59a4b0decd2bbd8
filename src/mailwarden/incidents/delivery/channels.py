"""What every channel's sender promises: deliver one message now, or raise saying why not."""

from __future__ import annotations

from collections.abc import Callable

from mailwarden.incidents.models import Delivery


class SendFailed(Exception):
    """The channel could not deliver this time (refused, timed out, answered with an error):
    the message is tried again after the backoff, and becomes a dead letter after the last try."""


class Undeliverable(SendFailed):
    """No later try can succeed as the message stands (an MQTT topic outside ``mailwarden/``):
    it becomes a dead letter at once, to be corrected and replayed."""


# ``send(delivery)`` returns when the channel has accepted the message.
Sender = Callable[[Delivery], None]


def payload_of(delivery: Delivery) -> dict[str, object]:
    """The JSON body webhooks and MQTT carry: the message and the caller's structured data."""
    return {
        "id": delivery.key,
        "ref": delivery.ref,
        "subject": delivery.subject,
        "text": delivery.text,
        "exercise": delivery.exercise,
        "created_at": delivery.created_at.isoformat(),
        "data": delivery.payload,
    }
