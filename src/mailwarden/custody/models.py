"""Sites, locations, recipients and mail items."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from mailwarden.custody.states import State


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not an IANA time zone")


class Site(models.Model):
    code = models.SlugField(max_length=30, unique=True)
    name = models.CharField(max_length=120)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    address = models.TextField(blank=True)

    def __str__(self) -> str:
        return self.name


class LocationKind(models.TextChoices):
    DOCK = "dock", "Dock"
    SCREENING = "screening", "Screening room"
    QUARANTINE = "quarantine", "Quarantine room"
    SHELF = "shelf", "Shelf"
    LOCKER = "locker", "Locker"
    VEHICLE = "vehicle", "Delivery trolley"
    OTHER = "other", "Other"


class Location(models.Model):
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="locations")
    code = models.SlugField(max_length=40)
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=20, choices=LocationKind.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["site", "code"], name="location_code")]

    def __str__(self) -> str:
        return f"{self.name} ({self.site.code})"


class Recipient(models.Model):
    employee_id = models.CharField(max_length=40, unique=True)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    department = models.CharField(max_length=120, blank=True)
    mail_stop = models.CharField(max_length=40, blank=True)
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["last_name", "first_name"]

    @property
    def display_name(self) -> str:
        return f"{self.preferred_name or self.first_name} {self.last_name}"

    def __str__(self) -> str:
        return self.display_name


class ItemKind(models.TextChoices):
    LETTER = "letter", "Letter"
    FLAT = "flat", "Flat"
    PARCEL = "parcel", "Parcel"
    PALLET = "pallet", "Pallet"


class MailItem(models.Model):
    uid = models.CharField(max_length=16, unique=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="items")
    tracking_number = models.CharField(max_length=64, blank=True, db_index=True)
    carrier = models.CharField(max_length=40, blank=True)
    tracking_type = models.CharField(max_length=60, blank=True)
    kind = models.CharField(max_length=10, choices=ItemKind.choices)
    sender = models.CharField(max_length=200, blank=True)
    accountable = models.BooleanField(default=False)
    length_mm = models.PositiveIntegerField(null=True, blank=True)
    width_mm = models.PositiveIntegerField(null=True, blank=True)
    height_mm = models.PositiveIntegerField(null=True, blank=True)
    weight_g = models.PositiveIntegerField(null=True, blank=True)
    photo_sha256 = models.CharField(max_length=64, blank=True)
    recipient = models.ForeignKey(Recipient, on_delete=models.PROTECT, related_name="items")
    state = models.CharField(max_length=30, choices=State.choices, db_index=True)
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="items")
    received_at = models.DateTimeField(db_index=True)
    state_changed_at = models.DateTimeField()
    pickup_failures = models.PositiveSmallIntegerField(default=0)
    reminders_sent = models.PositiveSmallIntegerField(default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)
    notes = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [
            models.Index(fields=["state", "state_changed_at"]),
            models.Index(
                fields=["recipient", "state", "received_at"], name="mailitem_recipient_state_recv"
            ),
            models.Index(fields=["state", "received_at"], name="mailitem_state_received"),
            models.Index(fields=["site", "received_at"], name="mailitem_site_received"),
        ]

    def __str__(self) -> str:
        return self.uid

    @property
    def state_label(self) -> str:
        return State(self.state).label
