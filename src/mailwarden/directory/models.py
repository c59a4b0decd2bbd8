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
