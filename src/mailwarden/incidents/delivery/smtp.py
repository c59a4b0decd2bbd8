"""Email over SMTP, through Django's mail backend (configured from ``email`` in config.py)."""

from __future__ import annotations

import smtplib

from django.core.mail import EmailMessage

from mailwarden.incidents.delivery.channels import SendFailed, Undeliverable
from mailwarden.incidents.models import Delivery


def send(delivery: Delivery) -> None:
    if "@" not in delivery.address:
        raise Undeliverable(f"{delivery.address!r} is not an email address")
    message = EmailMessage(subject=delivery.subject, body=delivery.text, to=[delivery.address])
    message.extra_headers["X-Mailwarden-Ref"] = delivery.ref or delivery.key
    try:
        sent = message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise SendFailed(f"SMTP refused the recipient: {exc.recipients}") from exc
    except (OSError, smtplib.SMTPException) as exc:
        raise SendFailed(f"{type(exc).__name__}: {exc}") from exc
    if sent != 1:
        raise SendFailed("the mail backend accepted nothing")
