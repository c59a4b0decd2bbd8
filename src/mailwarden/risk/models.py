"""The risk app's tables: assessments and their answers, findings (with photos), the risk register,
treatments, and the controls whose claimed status is checked against live evidence
(docs/risk.md).

Rows change only through :mod:`mailwarden.risk.services`.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from mailwarden.directory.models import Site

LABEL_LENGTH = 150  # an actor's label, as the ledger stores it


class AssessmentState(models.TextChoices):
    DRAFT = "draft", "In progress"
    FINAL = "final", "Finalised"


class Assessment(models.Model):
    """One guided assessment of one site, from a shipped questionnaire template
    (``risk/content/<template>.yaml``), scored by one method fixed for its life."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="risk_assessments")
    title = models.CharField(max_length=150)
    template = models.SlugField(max_length=60)
    template_version = models.PositiveSmallIntegerField(default=1)
    # A scoring method's slug (risk.scoring.METHODS) and its parameters, e.g. {"size": 5}.
    method = models.SlugField(max_length=30)
    method_params = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=8, choices=AssessmentState.choices, default=AssessmentState.DRAFT
    )
    # The finalised assessment of the same site that this one re-assesses (for "what changed").
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The period the live evidence and automatic findings are measured over.
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    created_by = models.CharField(max_length=LABEL_LENGTH)
    created_at = models.DateTimeField()
    finalised_by = models.CharField(max_length=LABEL_LENGTH, blank=True)
    finalised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.title

    @property
    def final(self) -> bool:
        return self.state == AssessmentState.FINAL


class Answer(models.Model):
    """The answer to one question of the template (by the question's key)."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="answers")
    question = models.SlugField(max_length=80)
    # A bool, a number, a choice's key, a list of choice keys, or text, per the question's kind.
    value = models.JSONField(null=True)
    note = models.TextField(blank=True)
    answered_by = models.CharField(max_length=LABEL_LENGTH)
    answered_at = models.DateTimeField()

    class Meta:
        ordering = ["assessment", "question"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "question"], name="answer_unique")
        ]


class FindingSource(models.TextChoices):
    MANUAL = "manual", "Recorded by an assessor"
    AUTOMATIC = "automatic", "Found by mailwarden"


class FindingState(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    CONFIRMED = "confirmed", "Confirmed"
    DISMISSED = "dismissed", "Dismissed"


class Finding(models.Model):
    """Something found at the site: recorded by an assessor (with notes and photos), or proposed
    by an automatic rule (risk.rules) with its evidence and a suggested treatment."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="findings")
    source = models.CharField(max_length=10, choices=FindingSource.choices)
    # The automatic rule's slug, and what it is about (e.g. "credential:41"), so a rerun of the
    # rule updates its finding instead of adding a second one.
    rule = models.SlugField(max_length=60, blank=True)
    subject = models.CharField(max_length=120, blank=True)
    title = models.CharField(max_length=200)
    notes = models.TextField(blank=True)
    # What the rule saw: figures and references, shown as a table.
    evidence = models.JSONField(default=dict, blank=True)
    suggested_treatment = models.TextField(blank=True)
    # The template's threat this finding bears on, if known (a threat key).
    threat = models.SlugField(max_length=60, blank=True)
    state = models.CharField(
        max_length=10, choices=FindingState.choices, default=FindingState.PROPOSED
    )
    created_by = models.CharField(max_length=LABEL_LENGTH)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["assessment", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["assessment", "rule", "subject"],
                condition=Q(source="automatic"),
                name="finding_rule_subject_unique",
            )
        ]

    def __str__(self) -> str:
        return self.title


class FindingPhoto(models.Model):
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="photos")
    sha256 = models.CharField(max_length=64)  # in the content-addressed media store
    content_type = models.CharField(max_length=40)
    caption = models.CharField(max_length=200, blank=True)
    added_by = models.CharField(max_length=LABEL_LENGTH)
    added_at = models.DateTimeField()

    class Meta:
        ordering = ["finding", "id"]


class RiskState(models.TextChoices):
    OPEN = "open", "Open"
    TREATED = "treated", "Treated"
    CLOSED = "closed", "Closed"


class Risk(models.Model):
    """One entry of the register: a threat scenario at the assessment's site, scored inherent
    (before controls) and residual (after them) by the assessment's method."""

    assessment = models.ForeignKey(Assessment, on_delete=models.CASCADE, related_name="risks")
    # Stable across re-assessments (a template threat's key, or a rule's slug), so two
    # assessments of a site can be compared risk by risk.
    key = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    threat = models.SlugField(max_length=60, blank=True)
    finding = models.ForeignKey(
        Finding, null=True, blank=True, on_delete=models.SET_NULL, related_name="risks"
    )
    # Factor values by factor key, as the method defines them (e.g. {"likelihood": 4, ...}).
    inherent = models.JSONField(default=dict, blank=True)
    residual = models.JSONField(default=dict, blank=True)
    # Scores and levels as the method computed them (None until every factor has a value).
    inherent_score = models.FloatField(null=True, blank=True)
    inherent_level = models.CharField(max_length=10, blank=True)
    residual_score = models.FloatField(null=True, blank=True)
    residual_level = models.CharField(max_length=10, blank=True)
    state = models.CharField(max_length=8, choices=RiskState.choices, default=RiskState.OPEN)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["assessment", "-inherent_score", "key"]
        constraints = [
            models.UniqueConstraint(fields=["assessment", "key"], name="risk_key_unique")
        ]

    def __str__(self) -> str:
        return self.title


class ControlStatus(models.TextChoices):
    """What the site claims about a control."""

    IMPLEMENTED = "implemented", "Implemented"
    PARTIAL = "partial", "Partly implemented"
    PLANNED = "planned", "Planned"


class Control(models.Model):
    """A control the site relies on, linked to the part of mailwarden that implements it and to
    the live evidence (risk.evidence) that shows whether it works. A control claimed as
    implemented whose measured evidence falls short is flagged as contradicted."""

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="risk_controls")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    claimed = models.CharField(
        max_length=12, choices=ControlStatus.choices, default=ControlStatus.IMPLEMENTED
    )
    # The mailwarden object that implements it: a kind from risk.links (e.g. "access.door",
    # "training.course") and its reference there (a door's ID, a course's slug).
    link_kind = models.CharField(max_length=40, blank=True)
    link_ref = models.CharField(max_length=120, blank=True)
    # The evidence measure's slug (risk.evidence.MEASURES) and its expectation, e.g.
    # {"min": 0.99} for a share, {"max": 0} for a count of alarms.
    measure = models.SlugField(max_length=60, blank=True)
    expectation = models.JSONField(default=dict, blank=True)
    # The last evaluation: the measurement as JSON, and whether it contradicts the claim.
    last_evidence = models.JSONField(default=dict, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    contradicted = models.BooleanField(default=False)
    created_by = models.CharField(max_length=LABEL_LENGTH)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["site", "title"]

    def __str__(self) -> str:
        return self.title


class TreatmentKind(models.TextChoices):
    ACCEPT = "accept", "Accept"
    AVOID = "avoid", "Avoid"
    MITIGATE = "mitigate", "Mitigate"
    TRANSFER = "transfer", "Transfer"


class TreatmentStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"  # an acceptance waiting for its approver
    PLANNED = "planned", "Planned"
    IN_PROGRESS = "in_progress", "In progress"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Treatment(models.Model):
    risk = models.ForeignKey(Risk, on_delete=models.CASCADE, related_name="treatments")
    kind = models.CharField(max_length=10, choices=TreatmentKind.choices)
    description = models.TextField()
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="risk_treatments"
    )
    due = models.DateField()
    status = models.CharField(
        max_length=12, choices=TreatmentStatus.choices, default=TreatmentStatus.PLANNED
    )
    # A mitigation names the control that implements it.
    control = models.ForeignKey(
        Control, null=True, blank=True, on_delete=models.SET_NULL, related_name="treatments"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    # When the owner was told it is overdue (once per due date).
    overdue_alerted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["due", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.description[:60]}"


class RiskSitePolicy(models.Model):
    """A site's thresholds for the automatic findings; a site without a row uses the defaults
    (risk.rules.DEFAULTS)."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="risk_policy")
    thresholds = models.JSONField(default=dict, blank=True)
    updated_by = models.CharField(max_length=LABEL_LENGTH)
    updated_at = models.DateTimeField()
