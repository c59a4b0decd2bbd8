"""An incident's case file (TheHive and DFIR-IRIS keep the same): who is assigned, what it is
linked to, its evidence files and its tasks. Everything done to them is also on the incident's
timeline and on the ledger.

A link names its target by the identifier people use (an item's UID, a door's code, an
employee ID, a username, an alarm's ID); a camera is a free reference until the surveillance app
exists. An incident an alarm rule opened is recorded once per alarm (:class:`AlarmIncident`),
which keeps the rule's action idempotent when the alarm's event is delivered twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from mailwarden.incidents.models.alarms import Alarm
from mailwarden.incidents.models.incidents import Incident


class IncidentAssignee(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="assignees")
    # People are deactivated, never deleted, so an assignment always names someone.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="incident_assignments"
    )
    assigned_at = models.DateTimeField()
    assigned_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["assigned_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "user"], name="incident_assignee_once")
        ]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.user_id}"


class LinkKind(models.TextChoices):
    ITEM = "item", "Item"
    ALARM = "alarm", "Alarm"
    DOOR = "door", "Door"
    CAMERA = "camera", "Camera"
    PERSON = "person", "Person (directory)"
    USER = "user", "Staff member"


class IncidentLink(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="links")
    kind = models.CharField(max_length=10, choices=LinkKind.choices)
    # The target's identifier: item UID, alarm ID, door code, camera reference, employee ID or
    # username.
    target = models.CharField(max_length=100)
    # How the target read when it was linked (a door's name, a person's name).
    label = models.CharField(max_length=200, blank=True)
    added_at = models.DateTimeField()
    added_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["kind", "added_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "kind", "target"], name="incident_link_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"


class IncidentEvidence(models.Model):
    """A file kept as evidence: its bytes are in the content-addressed store under ``sha256``."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="evidence")
    name = models.CharField(max_length=200)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    description = models.CharField(max_length=500, blank=True)
    added_at = models.DateTimeField()
    added_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["added_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "sha256"], name="incident_evidence_once")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]})"


class IncidentTask(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="incident_tasks",
    )
    due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["done_at", "due_at", "id"]

    def __str__(self) -> str:
        return self.title


class AlarmIncident(models.Model):
    """The incident an alarm rule's ``open_incident`` action opened for one alarm: one at most."""

    alarm = models.OneToOneField(Alarm, on_delete=models.CASCADE, related_name="rule_incident")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="from_alarms")

    def __str__(self) -> str:
        return f"alarm {self.alarm_id} -> incident {self.incident_id}"
