"""Exercises (HSEEP tabletop, drill, functional, full-scale) run on the incident engine, and the
after-action report with improvement plan (AAR/IP) of an exercise or of a real incident."""

from __future__ import annotations

from django.db import models

from mailwarden.directory.models import Site
from mailwarden.incidents.models.incidents import (
    ExerciseType,
    Incident,
    IncidentSeverity,
    IncidentType,
)


class Exercise(models.Model):
    """A planned exercise; starting it opens its incident (``incident``), marked as exercise."""

    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=ExerciseType.choices)
    scenario = models.TextField()
    # The objectives the exercise tests, as short sentences; the report rates each one.
    objectives = models.JSONField(default=list)
    participants = models.TextField(blank=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="exercises")
    incident_type = models.CharField(max_length=40, choices=IncidentType.choices)
    severity = models.PositiveSmallIntegerField(
        choices=IncidentSeverity.choices, default=IncidentSeverity.SEV2
    )
    planned_start = models.DateTimeField()
    # Armed: its door and item actions run for real. Only a security manager arms one.
    armed = models.BooleanField(default=False)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=150)
    started_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=150, blank=True)
    incident = models.OneToOneField(
        Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="exercise_plan"
    )

    class Meta:
        ordering = ["-planned_start", "-id"]

    def __str__(self) -> str:
        return self.name


class ObjectiveRating(models.TextChoices):
    NOT_RATED = "", "Not rated yet"
    MET = "met", "Met"
    PARTIALLY_MET = "partially_met", "Partially met"
    NOT_MET = "not_met", "Not met"


class AfterActionReport(models.Model):
    """The AAR/IP of one incident, exercise or real, in the HSEEP order: overview, objectives,
    strengths, areas for improvement, and (:class:`CorrectiveAction`) the improvement plan."""

    incident = models.OneToOneField(Incident, on_delete=models.CASCADE, related_name="report")
    overview = models.TextField(blank=True)
    participants = models.TextField(blank=True)
    # [{"objective": str, "rating": ObjectiveRating, "notes": str}]
    objectives = models.JSONField(default=list)
    strengths = models.JSONField(default=list)
    improvements = models.JSONField(default=list)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150)

    def __str__(self) -> str:
        return f"After-action report of {self.incident.reference}"


class CorrectiveActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"


class CorrectiveAction(models.Model):
    """One line of the improvement plan: what will change, who owns it, and by when."""

    report = models.ForeignKey(AfterActionReport, on_delete=models.CASCADE, related_name="actions")
    action = models.CharField(max_length=500)
    # The area for improvement it answers (one of the report's, or empty).
    improvement = models.CharField(max_length=500, blank=True)
    owner = models.CharField(max_length=150)
    due_on = models.DateField()
    status = models.CharField(
        max_length=12, choices=CorrectiveActionStatus.choices, default=CorrectiveActionStatus.OPEN
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["due_on", "id"]

    def __str__(self) -> str:
        return self.action
