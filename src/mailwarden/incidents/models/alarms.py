"""The alarm console's tables: every alarm from every source, and the rules that decide what an
alarm sets off.

An :class:`Alarm` is one condition (its ``source_key``: the same door forced, the same item
flagged) and folds every repeat into itself with a ``count`` until someone acknowledges it. Each
delivered event that fed it is an :class:`AlarmOccurrence`, keyed by the event, so an event
delivered twice is counted once.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from mailwarden.directory.models import Site


class Severity(models.IntegerChoices):
    LOW = 1, "Low"
    MEDIUM = 2, "Medium"
    HIGH = 3, "High"
    CRITICAL = 4, "Critical"


class AlarmState(models.TextChoices):
    OPEN = "open", "Open"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    CLEARED = "cleared", "Condition over"


class AlarmSource(models.TextChoices):
    SCREENING = "screening", "Screening"
    ACCESS = "access", "Access control"
    LEDGER = "ledger", "Ledger"
    CAP = "cap", "CAP alert received"
    # Dead letters: outbox events whose handlers kept failing, messages that could not be sent.
    OUTBOX = "outbox", "Outbox"
    DELIVERY = "delivery", "Message delivery"
    # The surveillance app's video analytics: tailgating, loitering, cameras gone offline.
    VIDEO = "video", "Video analytics"


class RuleAction(models.TextChoices):
    OPEN_INCIDENT = "open_incident", "Open an incident"
    NOTIFY = "notify", "Notify"
    LOG = "log", "Only log"


class AlarmRule(models.Model):
    """Which alarms set off what. The first active rule that matches, by ``position`` then id,
    decides; an alarm no rule matches is only logged.

    The window (``starts_at`` to ``ends_at``, in the site's time zone) may wrap midnight; with
    neither set the rule holds all day. A rule without a site holds at every site.
    """

    name = models.CharField(max_length=120)
    alarm_type = models.CharField(max_length=80, blank=True)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.CASCADE, related_name="alarm_rules"
    )
    min_severity = models.PositiveSmallIntegerField(choices=Severity.choices, default=Severity.LOW)
    starts_at = models.TimeField(null=True, blank=True)
    ends_at = models.TimeField(null=True, blank=True)
    action = models.CharField(max_length=20, choices=RuleAction.choices)
    position = models.PositiveIntegerField(default=100)
    active = models.BooleanField(default=True)
    # For a "notify" rule: the escalation policy that pages people about its alarms.
    escalation_policy = models.ForeignKey(
        "incidents.EscalationPolicy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="alarm_rules",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Alarm(models.Model):
    """One alarm condition from one source, with its repeats folded in."""

    type = models.CharField(max_length=80)
    severity = models.PositiveSmallIntegerField(choices=Severity.choices)
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="alarms"
    )
    source = models.CharField(max_length=20, choices=AlarmSource.choices)
    # What makes two alarms the same condition, e.g. ``access.door.forced:hq:door:LOBBY``.
    source_key = models.CharField(max_length=200)
    title = models.CharField(max_length=200)
    # [{"label": ..., "url": ...} or {"label": ..., "ref": ...}], newest last.
    evidence = models.JSONField(default=list)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()
    count = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=20, choices=AlarmState.choices, default=AlarmState.OPEN)
    cleared_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=150, blank=True)
    note = models.CharField(max_length=500, blank=True)
    # What the alarm rules decided when it was raised (incidents and notifications come later).
    action = models.CharField(max_length=20, choices=RuleAction.choices, default=RuleAction.LOG)
    rule = models.ForeignKey(
        AlarmRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="alarms"
    )

    class Meta:
        ordering = ["-last_seen", "-id"]
        indexes = [models.Index(fields=["acknowledged_at", "severity"])]
        constraints = [
            # Repeats fold into the one alarm of the condition nobody has acknowledged yet.
            models.UniqueConstraint(
                fields=["source_key"],
                condition=Q(acknowledged_at__isnull=True),
                name="incidents_one_unacknowledged_alarm_per_condition",
            )
        ]

    def __str__(self) -> str:
        return self.title


class AlarmOccurrence(models.Model):
    """One delivered event that raised or repeated an alarm, keyed by the event."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="occurrences")
    key = models.CharField(max_length=200, unique=True)
    # The source's own record, e.g. ``access.alarm:12``: how a clearing event finds its alarm.
    ref = models.CharField(max_length=100, blank=True, db_index=True)
    occurred_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.key
