"""Indicators, site policies, X-ray scans, screening decisions and quarantine requests.

Rows change only through :mod:`mailwarden.screening.services`; scans and decisions are evidence
and are never edited after they are written, except a decision's confirmation fields.
"""

from __future__ import annotations

from datetime import datetime

from django.db import models

from mailwarden.custody.models import MailItem
from mailwarden.directory.models import Site
from mailwarden.screening.policy import (
    DEFAULT_CONFIRM_WITHIN_MINUTES,
    DEFAULT_CRITICAL_AT,
    DEFAULT_ELEVATED_AT,
    DEFAULT_HIGH_AT,
    DEFAULT_RECIPIENT_RISK_WEIGHT,
    DEFAULT_XRAY_MIN_SCORE,
    Action,
    Tier,
)

LABEL_LENGTH = 150  # an actor's label, as the ledger stores it


class Indicator(models.Model):
    """One entry of the suspicious-mail checklist (seeded by a data migration)."""

    code = models.SlugField(max_length=40, unique=True)
    label = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    default_weight = models.PositiveSmallIntegerField()
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position", "code"]

    def __str__(self) -> str:
        return self.label


class SitePolicy(models.Model):
    """A site's screening policy. A site without a row uses the defaults."""

    site = models.OneToOneField(Site, on_delete=models.PROTECT, related_name="screening_policy")
    # code -> weight, only where the site differs from the catalogue's default
    indicator_weights = models.JSONField(default=dict)
    elevated_at = models.PositiveSmallIntegerField(default=DEFAULT_ELEVATED_AT)
    high_at = models.PositiveSmallIntegerField(default=DEFAULT_HIGH_AT)
    critical_at = models.PositiveSmallIntegerField(default=DEFAULT_CRITICAL_AT)
    xray_tiers = models.JSONField(default=dict)  # region class -> tier; empty means defaults
    xray_min_score = models.FloatField(default=DEFAULT_XRAY_MIN_SCORE)
    recipient_risk_weight = models.PositiveSmallIntegerField(default=DEFAULT_RECIPIENT_RISK_WEIGHT)
    high_risk_employee_ids = models.JSONField(default=list)
    high_risk_departments = models.JSONField(default=list)
    actions = models.JSONField(default=dict)  # tier -> action; empty means defaults
    confirm_within_minutes = models.PositiveSmallIntegerField(
        default=DEFAULT_CONFIRM_WITHIN_MINUTES
    )
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=LABEL_LENGTH)

    def __str__(self) -> str:
        return f"screening policy of {self.site.code}"


class ScanKind(models.TextChoices):
    PAIR = "pair", "High/low energy pair"
    COLOUR = "colour", "Colour composite"


class ScanFormat(models.TextChoices):
    TIFF = "tiff", "TIFF"
    PNG = "png", "PNG"
    JPEG = "jpeg", "JPEG"
    BMP = "bmp", "BMP"
    DICOS = "dicos", "DICOS"


class ScanSource(models.TextChoices):
    API = "api", "Scanner API"
    WATCH = "watch", "Watched folder"
    CONSOLE = "console", "Console upload"
    DEMO = "demo", "Simulated scanner"


class Scan(models.Model):
    item = models.ForeignKey(MailItem, on_delete=models.PROTECT, related_name="scans")
    kind = models.CharField(max_length=10, choices=ScanKind.choices)
    format = models.CharField(max_length=10, choices=ScanFormat.choices)
    source = models.CharField(max_length=10, choices=ScanSource.choices)
    # The files exactly as the scanner delivered them: a pair's two images, or one file (a
    # colour composite, or a DICOS file holding either).
    high_sha256 = models.CharField(max_length=64, blank=True)
    low_sha256 = models.CharField(max_length=64, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    rendered_sha256 = models.CharField(max_length=64)  # pseudo-colour PNG for the workstation
    filename = models.CharField(max_length=200, blank=True)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    regions = models.JSONField(default=list)
    max_score = models.FloatField(default=0.0)
    taken_by = models.CharField(max_length=LABEL_LENGTH)
    created_at = models.DateTimeField()
    # When the retention rule removed the scan's images, and which rule; the hashes stay here
    # and on the ledger (docs/retention.md).
    images_purged_at = models.DateTimeField(null=True, blank=True)
    images_purged_rule = models.CharField(max_length=200, blank=True, default="", db_default="")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["item", "created_at"])]

    def __str__(self) -> str:
        return f"scan {self.pk} of {self.item.uid}"

    @property
    def hashes(self) -> list[str]:
        return [h for h in (self.file_sha256, self.high_sha256, self.low_sha256) if h]


class DecisionStatus(models.TextChoices):
    PENDING = "pending", "Awaiting a second screener"
    CLEARED = "cleared", "Cleared"
    QUARANTINED = "quarantined", "Quarantined"
    SUPERSEDED = "superseded", "Superseded by a later decision"


class Decision(models.Model):
    item = models.ForeignKey(MailItem, on_delete=models.PROTECT, related_name="screenings")
    tier = models.CharField(max_length=10, choices=[(t.value, t.value) for t in Tier])
    action = models.CharField(max_length=20, choices=[(a.value, a.value) for a in Action])
    status = models.CharField(max_length=12, choices=DecisionStatus.choices, db_index=True)
    points = models.PositiveIntegerField()
    indicators = models.JSONField(default=list)
    reasons = models.JSONField(default=list)
    scan_ids = models.JSONField(default=list)
    image_hashes = models.JSONField(default=list)
    high_risk_recipient = models.CharField(max_length=200, blank=True)
    raised_to = models.CharField(max_length=10, blank=True)
    notes = models.TextField(blank=True)
    # From the workstation opening the item to the decision; unknown for other clients.
    seconds_on_item = models.PositiveIntegerField(null=True, blank=True)
    screener = models.CharField(max_length=LABEL_LENGTH)
    screener_user_id = models.BigIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField()
    confirmed_by = models.CharField(max_length=LABEL_LENGTH, blank=True)
    confirmed_by_user_id = models.BigIntegerField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-decided_at", "-id"]

    def __str__(self) -> str:
        return f"decision {self.pk} on {self.item.uid}: {self.tier}"


class Outcome(models.TextChoices):
    """The custody states an item may leave quarantine for."""

    RELEASED = "released", "Release"
    DESTROYED = "destroyed", "Destroy"
    HANDED_TO_AUTHORITIES = "handed_to_authorities", "Hand to the authorities"


class RequestStatus(models.TextChoices):
    PENDING = "pending", "Awaiting confirmation"
    CONFIRMED = "confirmed", "Confirmed"
    # Only ever written when a newer proposal replaces a lapsed one; a pending request past its
    # time reads as expired without a write (see QuarantineRequest.status_at).
    EXPIRED = "expired", "Expired"


class QuarantineRequest(models.Model):
    item = models.ForeignKey(MailItem, on_delete=models.PROTECT, related_name="quarantine_requests")
    outcome = models.CharField(max_length=30, choices=Outcome.choices)
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=RequestStatus.choices, db_index=True)
    proposed_by = models.CharField(max_length=LABEL_LENGTH)
    proposed_by_user_id = models.BigIntegerField(null=True, blank=True)
    proposed_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    confirmed_by = models.CharField(max_length=LABEL_LENGTH, blank=True)
    confirmed_by_user_id = models.BigIntegerField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-proposed_at", "-id"]

    def __str__(self) -> str:
        return f"request {self.pk}: {self.outcome} {self.item.uid}"

    def status_at(self, now: datetime) -> RequestStatus:
        if self.status == RequestStatus.PENDING and now > self.expires_at:
            return RequestStatus.EXPIRED
        return RequestStatus(self.status)
