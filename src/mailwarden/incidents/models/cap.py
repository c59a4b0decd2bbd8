"""CAP 1.2 alerts received from outside (``POST /api/cap``), each kept once by sender and
identifier, with what mailwarden made of it."""

from __future__ import annotations

from django.db import models


class ReceivedOutcome(models.TextChoices):
    ALARM = "alarm", "Alarm raised"
    NO_SITE = "no_site", "No site of ours named"
    NOT_ACTIONABLE = "not_actionable", "Test, system or draft message: kept only"
    CANCELLED = "cancelled", "Cancelled earlier alerts"


class ReceivedAlert(models.Model):
    identifier = models.CharField(max_length=200)
    sender = models.CharField(max_length=200)
    sent = models.DateTimeField()
    status = models.CharField(max_length=10)
    msg_type = models.CharField(max_length=10)
    scope = models.CharField(max_length=10)
    event = models.CharField(max_length=200, blank=True)
    headline = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, blank=True)
    urgency = models.CharField(max_length=10, blank=True)
    certainty = models.CharField(max_length=10, blank=True)
    area = models.CharField(max_length=1000, blank=True)
    # The codes of the sites of ours it named, and the alarms raised for them.
    sites = models.JSONField(default=list)
    alarms = models.JSONField(default=list)
    outcome = models.CharField(max_length=20, choices=ReceivedOutcome.choices)
    received_at = models.DateTimeField()
    received_by = models.CharField(max_length=150)
    # The alert as parsed (no DTD was accepted, so this is exactly what was sent, reformatted).
    xml = models.TextField()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["sender", "identifier"], name="received_alert_once")
        ]

    def __str__(self) -> str:
        return f"{self.sender} {self.identifier}"
