"""Outgoing messages on every channel (email, SMS, signed webhooks, MQTT, in-app), each kept
until it is sent or declared dead, so an outage delays a page and never loses it."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "SMS"
    WEBHOOK = "webhook", "Webhook"
    MQTT = "mqtt", "MQTT"
    INAPP = "inapp", "In-app"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    DEAD = "dead", "Dead letter"
    CANCELLED = "cancelled", "Cancelled"


class Delivery(models.Model):
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # An email address, a phone number, a webhook endpoint's name, an MQTT topic, or a user ID.
    address = models.CharField(max_length=500)
    subject = models.CharField(max_length=200)
    text = models.TextField()
    payload = models.JSONField(default=dict, blank=True)
    # The idempotency key: the same message queued twice is one row.
    key = models.CharField(max_length=200, unique=True)
    # What the message is about, e.g. ``incident:12``, ``broadcast:3``.
    ref = models.CharField(max_length=100, blank=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deliveries",
    )
    exercise = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.channel} to {self.address}: {self.subject}"


class WebhookEndpoint(models.Model):
    """Where webhook messages go: a :class:`Delivery` on the webhook channel names one of these
    by ``name``. Each request is signed with HMAC-SHA256 (docs/webhooks.md) by the endpoint's
    secret, read from the environment variable ``secret_env`` or else the stored ``secret``,
    which the API and console accept but never show."""

    name = models.SlugField(max_length=60, unique=True)
    url = models.URLField(max_length=500)
    secret_env = models.CharField(max_length=100, blank=True)
    secret = models.CharField(max_length=200, blank=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
