"""Escalation and on-call: who is on call when, which policy pages whom, and each page in flight.

An :class:`OnCallSchedule` has layers (:class:`OnCallRotation`): members in order, handing off
every rotation length from a first handoff, read in the schedule's time zone so a daily handoff
stays at the same wall-clock time across daylight-saving changes. An :class:`OnCallOverride`
(one person covering a period) wins over every layer.

An :class:`EscalationPolicy` has ordered :class:`EscalationLevel` rows, each with its
:class:`EscalationTarget` rows (a person, everyone with a role, whoever is on call on a
schedule, a webhook endpoint, an MQTT topic). :class:`PolicyMatch` rows attach a policy to
incident types, sites and severities. An :class:`Escalation` is one started page of one incident
or alarm, moved on level by level by the periodic job until enough people acknowledge.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mailwarden.directory.models import Site
from mailwarden.incidents.models.alarms import Alarm
from mailwarden.incidents.models.incidents import Incident, IncidentSeverity, IncidentType


class OnCallSchedule(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    timezone = models.CharField(max_length=64, default="UTC")
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RotationKind(models.TextChoices):
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly"
    HOURS = "hours", "Every N hours"


class OnCallRotation(models.Model):
    """One layer of a schedule. A higher ``position`` lies on top: where two layers both have
    someone on call, the higher one's person is on call."""

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="layers")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=RotationKind.choices)
    # For ``hours``: the shift length. Daily and weekly shifts are counted in local days.
    length_hours = models.PositiveIntegerField(default=24)
    # The first handoff; its wall-clock time in the schedule's zone is every later handoff's.
    starts_at = models.DateTimeField()
    # User IDs in rotation order; the first is on call from ``starts_at``.
    members = models.JSONField(default=list)
    # An optional daily window (local time, may wrap midnight) outside which the layer is empty.
    window_from = models.TimeField(null=True, blank=True)
    window_until = models.TimeField(null=True, blank=True)

    class Meta:
        ordering = ["schedule", "position"]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "position"], name="oncall_layer_position")
        ]

    def __str__(self) -> str:
        return self.name


class OnCallOverride(models.Model):
    """One person covering a schedule from ``starts_at`` until ``ends_at``."""

    schedule = models.ForeignKey(OnCallSchedule, on_delete=models.CASCADE, related_name="overrides")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["starts_at", "id"]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%Y-%m-%d %H:%M}"


class EscalationPolicy(models.Model):
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    # How many times the whole policy runs again after its last level (0: once only).
    repeat = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EscalationLevel(models.Model):
    """One level: its targets are paged, then after ``delay_minutes`` without ``quorum``
    acknowledgements from different people the next level is paged."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    position = models.PositiveSmallIntegerField()
    delay_minutes = models.PositiveIntegerField(default=15)
    # The N of "N acknowledgements within the level's delay, else the next level".
    quorum = models.PositiveSmallIntegerField(default=1)

    class Meta:
        ordering = ["policy", "position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_level_position")
        ]

    def __str__(self) -> str:
        return f"{self.policy} level {self.position}"


class TargetKind(models.TextChoices):
    USER = "user", "A person"
    ROLE = "role", "Everyone with a role"
    SCHEDULE = "schedule", "Whoever is on call"
    WEBHOOK = "webhook", "A webhook endpoint"
    MQTT = "mqtt", "An MQTT topic"


class RoleScope(models.TextChoices):
    SITE = "site", "At the incident's site"
    ALL = "all", "At every site"


class EscalationTarget(models.Model):
    level = models.ForeignKey(EscalationLevel, on_delete=models.CASCADE, related_name="targets")
    kind = models.CharField(max_length=10, choices=TargetKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    role = models.CharField(max_length=30, blank=True)
    role_scope = models.CharField(
        max_length=10, choices=RoleScope.choices, default=RoleScope.ALL, blank=True
    )
    schedule = models.ForeignKey(
        OnCallSchedule, null=True, blank=True, on_delete=models.PROTECT, related_name="targets"
    )
    # A webhook endpoint's name, or an MQTT topic under ``mailwarden/``.
    address = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["level", "id"]

    def __str__(self) -> str:
        return f"{self.kind} target"


class PolicyMatch(models.Model):
    """Which incidents a policy pages for. The first match by ``position`` then id decides; an
    empty type or site matches every one, and ``min_severity`` admits it and everything worse
    (SEV-1 is the worst)."""

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="matches")
    incident_type = models.CharField(max_length=40, choices=IncidentType.choices, blank=True)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    min_severity = models.PositiveSmallIntegerField(
        choices=IncidentSeverity.choices, default=IncidentSeverity.SEV4
    )
    position = models.PositiveIntegerField(default=100)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.policy}: {self.incident_type or 'any type'}"


class EscalationState(models.TextChoices):
    ACTIVE = "active", "Paging"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    EXHAUSTED = "exhausted", "Nobody answered"
    CANCELLED = "cancelled", "Stopped"


class Escalation(models.Model):
    """One started page: what it is about (``ref``), the policy, and how far it has come."""

    # What it pages about: ``incident:12`` or ``alarm:7``; one escalation per thing.
    ref = models.CharField(max_length=100, unique=True)
    title = models.CharField(max_length=200)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="escalations"
    )
    alarm = models.ForeignKey(
        Alarm, null=True, blank=True, on_delete=models.CASCADE, related_name="escalations"
    )
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    policy = models.ForeignKey(
        EscalationPolicy, null=True, on_delete=models.SET_NULL, related_name="escalations"
    )
    policy_name = models.CharField(max_length=120)
    exercise = models.BooleanField(default=False)
    # Index into the policy's levels (0 is the first), and the run through the policy (0 first).
    level = models.PositiveSmallIntegerField(default=0)
    round = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(
        max_length=20, choices=EscalationState.choices, default=EscalationState.ACTIVE
    )
    started_at = models.DateTimeField()
    # When the current level was paged (None: not yet); the periodic job acts at ``next_at``.
    paged_at = models.DateTimeField(null=True, blank=True)
    next_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=150, blank=True)
    ended_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["state", "next_at"])]

    def __str__(self) -> str:
        return f"{self.ref} ({self.state})"


class EscalationPage(models.Model):
    """One person (or integration) paged at one level of one round."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="pages")
    level = models.PositiveSmallIntegerField()
    round = models.PositiveSmallIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who or what, as the timeline names it: "mona (on call: Night desk)", "webhook soc".
    label = models.CharField(max_length=200)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "level", "round", "user"],
                condition=Q(user__isnull=False),
                name="escalation_page_once_per_person",
            )
        ]

    def __str__(self) -> str:
        return self.label


class EscalationAck(models.Model):
    """One person's acknowledgement, counted toward the level's quorum."""

    escalation = models.ForeignKey(Escalation, on_delete=models.CASCADE, related_name="acks")
    level = models.PositiveSmallIntegerField()
    round = models.PositiveSmallIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.CharField(max_length=150)
    via = models.CharField(max_length=20)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["escalation", "level", "round", "by"], name="escalation_ack_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.by} at {self.at:%H:%M}"
