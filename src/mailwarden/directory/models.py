"""Sites, their locations, and the people (recipients) and departments every app refers to."""

from __future__ import annotations

import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower


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


class Department(models.Model):
    name = models.CharField(max_length=120, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Recipient(models.Model):
    employee_id = models.CharField(max_length=40, unique=True)
    first_name = models.CharField(max_length=80)
    last_name = models.CharField(max_length=80)
    preferred_name = models.CharField(max_length=80, blank=True)
    email = models.EmailField()
    phone = models.CharField(max_length=20, blank=True)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )
    mail_stop = models.CharField(max_length=40, blank=True)
    # Where the person works: a site-wide message (evacuate, shelter) goes to everyone here.
    site = models.ForeignKey(
        Site, null=True, blank=True, on_delete=models.PROTECT, related_name="people"
    )
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    active = models.BooleanField(default=True)
    # The identity provider's name for the person (SCIM userName) and its own ID for them
    # (externalId); both empty for someone the provider does not sync (directory-sync.md).
    scim_user_name = models.CharField(max_length=254, blank=True, default="", db_default="")
    external_id = models.CharField(max_length=255, blank=True, default="", db_default="")
    # When the person was last deactivated (retention counts a departed person's days from it)
    # and when their personal fields were replaced by a placeholder (docs/retention.md).
    deactivated_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            # SCIM compares user names without regard to case.
            models.UniqueConstraint(
                Lower("scim_user_name"),
                condition=~Q(scim_user_name=""),
                name="recipient_scim_user_name",
            )
        ]

    @property
    def display_name(self) -> str:
        return f"{self.preferred_name or self.first_name} {self.last_name}"

    @property
    def department_name(self) -> str:
        # No query when there is no department: the relation is None without one.
        return self.department.name if self.department is not None else ""

    def __str__(self) -> str:
        return self.display_name


class SiteRetention(models.Model):
    """How long a site keeps personal content (docs/retention.md). A site without a row follows
    the ``retention`` section of the configuration; in a row, an empty field keeps forever."""

    site = models.OneToOneField(Site, on_delete=models.CASCADE, related_name="retention")
    # Photos, X-ray images and signatures: days after the item's last step.
    media_days = models.PositiveIntegerField(null=True, blank=True)
    # Access events: months after they happened.
    access_event_months = models.PositiveIntegerField(null=True, blank=True)
    # Departed people: days after their deactivation.
    departed_person_days = models.PositiveIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.CharField(max_length=150)

    def __str__(self) -> str:
        return f"retention at {self.site_id}"
