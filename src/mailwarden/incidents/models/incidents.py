"""Incidents: what happened, where, how bad, and how far the response has come.

An incident of an exercise (``exercise``) runs on the same engine as a real one; its messages
are labelled EXERCISE and its playbook actions that touch doors or items only simulate unless
a manager ``armed`` it.
"""

from __future__ import annotations

from django.db import models

from mailwarden.directory.models import Site


class IncidentType(models.TextChoices):
    SUSPICIOUS_PACKAGE = "suspicious_package", "Suspicious package"
    SUSPICIOUS_SUBSTANCE = "suspicious_substance", "Suspicious powder or substance"
    BOMB_THREAT = "bomb_threat", "Bomb threat"
    FORCED_ENTRY = "forced_entry", "Forced entry or unauthorised access"
    TAMPERING_THEFT = "tampering_theft", "Tampering or theft"
    UNATTENDED_ITEM = "unattended_item", "Unattended item"


class IncidentSeverity(models.IntegerChoices):
    # SEV-1 is the worst, as on-call teams number them; alarms count the other way (4 critical).
    SEV1 = 1, "SEV-1 critical"
    SEV2 = 2, "SEV-2 high"
    SEV3 = 3, "SEV-3 moderate"
    SEV4 = 4, "SEV-4 low"


class IncidentState(models.TextChoices):
    OPEN = "open", "Open"
    CONTAINED = "contained", "Contained"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


# The moves a response may make; anything else is refused with these named.
ALLOWED_MOVES: dict[str, tuple[str, ...]] = {
    IncidentState.OPEN: (IncidentState.CONTAINED, IncidentState.RESOLVED),
    IncidentState.CONTAINED: (IncidentState.RESOLVED, IncidentState.OPEN),
    IncidentState.RESOLVED: (IncidentState.CLOSED, IncidentState.OPEN),
    IncidentState.CLOSED: (),
}


class ExerciseType(models.TextChoices):
    """The HSEEP exercise types."""

    TABLETOP = "tabletop", "Tabletop exercise"
    DRILL = "drill", "Drill"
    FUNCTIONAL = "functional", "Functional exercise"
    FULL_SCALE = "full_scale", "Full-scale exercise"


class Incident(models.Model):
    reference = models.CharField(max_length=20, unique=True)
    type = models.CharField(max_length=40, choices=IncidentType.choices)
    severity = models.PositiveSmallIntegerField(choices=IncidentSeverity.choices)
    state = models.CharField(
        max_length=20, choices=IncidentState.choices, default=IncidentState.OPEN
    )
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="incidents")
    opened_at = models.DateTimeField()
    opened_by = models.CharField(max_length=150)
    contained_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    exercise = models.BooleanField(default=False)
    exercise_type = models.CharField(max_length=20, choices=ExerciseType.choices, blank=True)
    # An exercise's door and item actions run for real only when a manager armed it.
    armed = models.BooleanField(default=False)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["state", "severity"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"
