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
    # A legal hold keeps the content of the items linked to the incident from every purge
    # until it is released (docs/retention.md); empty reason: not held.
    legal_hold_reason = models.CharField(max_length=300, blank=True, default="", db_default="")
    legal_hold_by = models.CharField(max_length=150, blank=True, default="", db_default="")
    legal_hold_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["state", "severity"])]

    def __str__(self) -> str:
        return f"{self.reference} {self.title}"


class TimelineEntry(models.Model):
    """One line of an incident's append-only timeline: what happened, when and by whom."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    # e.g. opened, state, note, step, action, page, message, evidence, link, task, exercise
    kind = models.CharField(max_length=20)
    text = models.CharField(max_length=1000)
    by = models.CharField(max_length=150)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind}: {self.text}"


class StepAction(models.TextChoices):
    NONE = "", "No action"
    LOCKDOWN_SITE = "lockdown_site", "Lock down the site's doors"
    HOLD_SITE_MAIL = "hold_site_mail", "Hold every item at the site"
    SEND_MESSAGE = "send_message", "Send a message"


class Playbook(models.Model):
    """The response to one incident type: ordered steps, each with who does it and by when."""

    incident_type = models.CharField(max_length=40, choices=IncidentType.choices, unique=True)
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150)

    def __str__(self) -> str:
        return self.name


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    # A role value from core.roles.Role: who does this step.
    role = models.CharField(max_length=30)
    # Minutes after the incident opened by which the step should be done.
    target_minutes = models.PositiveIntegerField()
    action = models.CharField(max_length=20, choices=StepAction.choices, blank=True)
    # For a send_message step: the text sent (placeholders like {site} and {reference}).
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["playbook", "position"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "position"], name="playbook_step_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"


class ActionStatus(models.TextChoices):
    NONE = "", "No action"
    DONE = "done", "Done"
    SIMULATED = "simulated", "Simulated (exercise)"
    FAILED = "failed", "Failed"


class IncidentStep(models.Model):
    """A playbook step as copied onto one incident when it opened, checked off with a time."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    instructions = models.TextField(blank=True)
    role = models.CharField(max_length=30)
    target_at = models.DateTimeField()
    action = models.CharField(max_length=20, choices=StepAction.choices, blank=True)
    message = models.TextField(blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.CharField(max_length=150, blank=True)
    # What the person checking the step off wrote (added by the playbooks topic).
    done_note = models.CharField(max_length=500, blank=True)
    # When the late-steps job noted on the timeline that this step ran past its target.
    late_noted_at = models.DateTimeField(null=True, blank=True)
    action_status = models.CharField(max_length=10, choices=ActionStatus.choices, blank=True)
    action_result = models.CharField(max_length=1000, blank=True)

    class Meta:
        ordering = ["incident", "position"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "position"], name="incident_step_position")
        ]

    def __str__(self) -> str:
        return f"{self.position}. {self.title}"
