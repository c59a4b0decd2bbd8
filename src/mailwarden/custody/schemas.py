"""Request and response shapes of the custody API.

Every input is bounded like the column it lands in (PostgreSQL enforces lengths and integer
ranges; SQLite does not), so an oversized value is refused naming its field on both databases.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import AfterValidator

from mailwarden.core import ledger
from mailwarden.core.api import ErrorOut, Input
from mailwarden.core.models import LedgerEntry
from mailwarden.custody.models import ItemKind, LocationKind, MailItem, Recipient
from mailwarden.custody.states import State, allowed_after

SLUG = r"^[-a-zA-Z0-9_]+$"
MAX_DB_INT = 2**31 - 1  # PositiveIntegerField on PostgreSQL
MAX_DB_ID = 2**63 - 1  # BigAutoField


def _email(value: str) -> str:
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError("is not an email address") from None
    return value


ItemUid = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]
SiteCode = Annotated[str, Field(min_length=1, max_length=30, pattern=SLUG)]
LocationCode = Annotated[str, Field(min_length=1, max_length=40, pattern=SLUG)]
RecipientId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
Email = Annotated[str, Field(min_length=3, max_length=254), AfterValidator(_email)]
Limit = Annotated[int, Field(ge=1, le=200)]
Offset = Annotated[int, Field(ge=0, le=1_000_000)]
Measure = Annotated[int, Field(ge=1, le=10_000_000)]


# ----------------------------------------------------------------------------- errors


class DuplicateOut(ErrorOut):
    previous_uid: str | None = None


# ----------------------------------------------------------------------------- directory


class SiteIn(Input):
    code: SiteCode
    name: str = Field("", max_length=120)
    timezone: str = Field("UTC", min_length=1, max_length=64)


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
    active: bool


class RecipientFilters(Input):
    q: str = Field("", max_length=120)
    limit: Limit = 50
    offset: Offset = 0


class ImportOut(Schema):
    created: int
    updated: int


class MatchQuery(Input):
    q: str = Field(min_length=1, max_length=200)
    limit: Annotated[int, Field(ge=1, le=50)] = 5


class MatchOut(Schema):
    score: float
    recipient: RecipientOut


class DetectQuery(Input):
    number: str = Field(min_length=1, max_length=200)


class DetectOut(Schema):
    number: str
    valid: bool
    carrier: str | None
    carrier_name: str | None
    type: str | None
    type_name: str | None
    service: str | None
    tracking_url: str | None
    reason: str | None = None


class LabelReadOut(Schema):
    codes: list[str] = Field(description="Every barcode found, in reading order.")
    tracking_number: str | None = Field(
        description="The code to propose: the first a carrier claims, else the first found."
    )
    check: DetectOut | None = Field(description="The proposed number's carrier check.")


# ----------------------------------------------------------------------------- items


class IntakeIn(Input):
    site: SiteCode
    recipient_id: RecipientId
    kind: ItemKind
    tracking_number: str = Field("", max_length=64)
    sender: str = Field("", max_length=200)
    accountable: bool = False
    length_mm: Measure | None = None
    width_mm: Measure | None = None
    height_mm: Measure | None = None
    weight_g: Measure | None = None
    notes: str = Field("", max_length=4000)
    location_code: LocationCode | None = None
    confirm_duplicate: bool = False


class ItemFilters(Input):
    q: str = Field("", max_length=120)
    state: State | None = None
    recipient_id: RecipientId | None = None
    site: SiteCode | None = None
    limit: Limit = 50
    before: ItemUid | None = Field(
        None, description="The last item ID of the previous page; only older items follow."
    )


class TransitionIn(Input):
    state: State
    reason: str = Field("", max_length=500)
    location_code: LocationCode | None = None
    expected_version: Annotated[int, Field(ge=1, le=MAX_DB_INT)] | None = None


class MoveIn(Input):
    location_code: LocationCode
    reason: str = Field("", max_length=500)


class PickupIn(Input):
    method: Literal["signature", "code", "qr"]
    # A signature arrives as a PNG data URL; the service caps its decoded size at 2 MB.
    proof: str = Field(min_length=1, max_length=3_000_000)
    collected_by: str = Field("", max_length=120)
    delivered: bool = False


class RecipientBrief(Schema):
    id: int
    employee_id: str
    display_name: str
    department: str
    mail_stop: str


class ItemOut(Schema):
    uid: str
    state: State
    state_label: str
    allowed_next: list[State]
    site: str
    location: str
    location_name: str
    kind: ItemKind
    tracking_number: str
    carrier: str
    tracking_type: str
    sender: str
    accountable: bool
    length_mm: int | None
    width_mm: int | None
    height_mm: int | None
    weight_g: int | None
    photo_sha256: str
    recipient: RecipientBrief
    received_at: datetime
    state_changed_at: datetime
    version: int
    notes: str


class CustodyEntryOut(Schema):
    seq: int
    at: datetime
    actor: str
    action: str
    data: dict[str, object]
    prev_hash: str
    hash: str


class DashboardOut(Schema):
    intake_today: int
    by_state: dict[str, int]
    awaiting_pickup: int
    quarantined: int
    overdue: int


# ----------------------------------------------------------------------------- builders


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
        department=recipient.department,
        mail_stop=recipient.mail_stop,
        active=recipient.active,
    )


def item_out(item: MailItem) -> ItemOut:
    recipient = item.recipient
    return ItemOut(
        uid=item.uid,
        state=State(item.state),
        state_label=item.state_label,
        allowed_next=allowed_after(State(item.state)),
        site=item.site.code,
        location=item.location.code,
        location_name=item.location.name,
        kind=ItemKind(item.kind),
        tracking_number=item.tracking_number,
        carrier=item.carrier,
        tracking_type=item.tracking_type,
        sender=item.sender,
        accountable=item.accountable,
        length_mm=item.length_mm,
        width_mm=item.width_mm,
        height_mm=item.height_mm,
        weight_g=item.weight_g,
        photo_sha256=item.photo_sha256,
        recipient=RecipientBrief(
            id=recipient.pk,
            employee_id=recipient.employee_id,
            display_name=recipient.display_name,
            department=recipient.department,
            mail_stop=recipient.mail_stop,
        ),
        received_at=item.received_at,
        state_changed_at=item.state_changed_at,
        version=item.version,
        notes=item.notes,
    )


def custody_entry_out(entry: LedgerEntry) -> CustodyEntryOut:
    return CustodyEntryOut(
        seq=entry.seq,
        at=entry.created_at,
        actor=entry.actor,
        action=entry.action,
        data=ledger.entry_data(entry),
        prev_hash=entry.prev_hash,
        hash=entry.hash,
    )


class MyItemOut(Schema):
    item: ItemOut
    pickup_code: str | None = Field(description="Given at the counter; only when ready for pickup.")
    qr_token: str | None = Field(
        description="What the pickup QR code encodes; only when ready for pickup."
    )
