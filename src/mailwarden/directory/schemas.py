"""Request and response shapes of the directory API: sites, locations and people.

Every input is bounded like the column it lands in (PostgreSQL enforces lengths and integer
ranges; SQLite does not), so an oversized value is refused naming its field on both databases.
"""

from __future__ import annotations

from typing import Annotated

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import AfterValidator

from mailwarden.core.api import Input
from mailwarden.directory.models import LocationKind, Recipient

SLUG = r"^[-a-zA-Z0-9_]+$"
MAX_DB_ID = 2**63 - 1  # BigAutoField


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("is not an email address") from None
    return value


SiteCode = Annotated[str, Field(min_length=1, max_length=30, pattern=SLUG)]
LocationCode = Annotated[str, Field(min_length=1, max_length=40, pattern=SLUG)]
RecipientId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]
Limit = Annotated[int, Field(ge=1, le=200)]
Offset = Annotated[int, Field(ge=0, le=1_000_000)]


class SiteIn(Input):
    code: SiteCode
    name: str = Field("", max_length=120)
    timezone: str = Field("UTC", min_length=1, max_length=64)
    address: str = Field("", max_length=1000)


class SiteUpdate(Input):
    name: str = Field(min_length=1, max_length=120)
    timezone: str = Field(min_length=1, max_length=64)
    address: str = Field("", max_length=1000)


class SiteOut(Schema):
    code: str
    name: str
    timezone: str
    address: str


class LocationIn(Input):
    code: LocationCode
    name: str = Field("", max_length=120)
    kind: LocationKind


class LocationOut(Schema):
    code: str
    name: str
    kind: LocationKind


class RecipientIn(Input):
    employee_id: str = Field(min_length=1, max_length=40)
    first_name: str = Field(min_length=1, max_length=80)
    last_name: str = Field(min_length=1, max_length=80)
    email: Email
    preferred_name: str = Field("", max_length=80)
    phone: str = Field("", max_length=20)
    department: str = Field("", max_length=120)
    mail_stop: str = Field("", max_length=40)
    manager_employee_id: str | None = Field(None, max_length=40)
    site: SiteCode | None = Field(None, description="The code of the site the person works at.")


class RecipientUpdate(Input):
    first_name: str = Field(min_length=1, max_length=80)
    last_name: str = Field(min_length=1, max_length=80)
    email: Email
    preferred_name: str = Field("", max_length=80)
    phone: str = Field("", max_length=20)
    department: str = Field("", max_length=120)
    mail_stop: str = Field("", max_length=40)
    manager_employee_id: str | None = Field(None, max_length=40)
    site: SiteCode | None = Field(None, description="The code of the site the person works at.")


class RecipientOut(Schema):
    id: int
    employee_id: str
    first_name: str
    last_name: str
    preferred_name: str
    display_name: str
    email: str
    phone: str
    department: str
    mail_stop: str
    site: str | None
    active: bool


class RecipientFilters(Input):
    q: str = Field("", max_length=120)
    site: SiteCode | None = Field(None, description="Only the people at this site.")
    limit: Limit = 50
    offset: Offset = 0


class ImportOut(Schema):
    created: int
    updated: int


class DepartmentOut(Schema):
    id: int
    name: str
    members: int


def recipient_out(recipient: Recipient) -> RecipientOut:
    return RecipientOut(
        id=recipient.pk,
        employee_id=recipient.employee_id,
        first_name=recipient.first_name,
        last_name=recipient.last_name,
        preferred_name=recipient.preferred_name,
        display_name=recipient.display_name,
        email=recipient.email,
        phone=recipient.phone,
        department=recipient.department_name,
        mail_stop=recipient.mail_stop,
        site=recipient.site.code if recipient.site is not None else None,
        active=recipient.active,
    )


class RetentionIn(Input):
    """A site's own retention rules; null keeps that content forever (docs/retention.md)."""

    media_days: int | None = Field(
        description="Photos, X-ray images and signatures: days after the item's last step.",
        ge=1,
        le=36500,
    )
    access_event_months: int | None = Field(
        description="Access events lose who made them after this many months.", ge=1, le=1200
    )
    departed_person_days: int | None = Field(
        description="Departed people are anonymised this many days after deactivation.",
        ge=1,
        le=36500,
    )


class RetentionOut(Schema):
    site: str
    media_days: int | None
    access_event_months: int | None
    departed_person_days: int | None
    own: bool = Field(description="False when the configuration's defaults apply to the site.")
