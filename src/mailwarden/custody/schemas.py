"""Request and response shapes of the custody API.

Every input is bounded like the column it lands in (PostgreSQL enforces lengths and integer
ranges; SQLite does not), so an oversized value is refused naming its field on both databases.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema

from mailwarden.core import ledger
from mailwarden.core.api import ErrorOut, Input
from mailwarden.core.models import LedgerEntry
from mailwarden.custody import queries
from mailwarden.custody.batch import MAX_BATCH
from mailwarden.custody.bulk import MAX_SELECTION, BulkAction
from mailwarden.custody.models import ItemKind, MailItem, SiteMailHold
from mailwarden.custody.states import GONE_FROM_MAILROOM, State, allowed_after
from mailwarden.directory.schemas import (
    Limit,
    LocationCode,
    RecipientId,
    RecipientOut,
    SiteCode,
)

MAX_DB_INT = 2**31 - 1  # PositiveIntegerField on PostgreSQL


ItemUid = Annotated[str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9-]+$")]
CarrierCode = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_]+$")]
Measure = Annotated[int, Field(ge=1, le=10_000_000)]


# ----------------------------------------------------------------------------- errors


class DuplicateOut(ErrorOut):
    previous_uid: str | None = None


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
    suspicious: bool = Field(
        False, description="The clerk thinks it looks suspicious: screening sees it first."
    )
    length_mm: Measure | None = None
    width_mm: Measure | None = None
    height_mm: Measure | None = None
    weight_g: Measure | None = None
    notes: str = Field("", max_length=4000)
    location_code: LocationCode | None = None
    confirm_duplicate: bool = False
    unverified_reason: str = Field(
        "",
        max_length=300,
        description="Why a tracking number that no carrier's rule accepts is logged anyway "
        "(a torn label, a carrier not in the list); the item is then flagged for review. "
        "Without it such a number is refused, with the carrier's rule in the message.",
    )


class ItemFilters(Input):
    q: str = Field("", max_length=120)
    state: State | None = None
    recipient_id: RecipientId | None = None
    recipient: str = Field(
        "", max_length=120, description="A recipient's name, email or employee ID."
    )
    site: SiteCode | None = None
    carrier: CarrierCode | None = Field(
        None, description="A carrier's code (ups, fedex, ...), or `none` for items without one."
    )
    kind: ItemKind | None = None
    received_from: date | None = Field(
        None, description="Arrived on or after this day, in each item's site's time zone."
    )
    received_to: date | None = Field(
        None, description="Arrived on or before this day, in each item's site's time zone."
    )

    def filters(self) -> queries.ItemFilters:
        return queries.ItemFilters(
            state=self.state.value if self.state else None,
            recipient_id=self.recipient_id,
            recipient_query=self.recipient,
            site_code=self.site,
            carrier=self.carrier,
            kind=self.kind.value if self.kind else None,
            received_from=self.received_from,
            received_to=self.received_to,
        )


class ItemPage(ItemFilters):
    limit: Limit = 50
    before: ItemUid | None = Field(
        None, description="The last item ID of the previous page; only older items follow."
    )


class ItemCountOut(Schema):
    total: int = Field(description="How many items pass the filters, on every page together.")


class BulkIn(Input):
    action: BulkAction = Field(
        description="move (needs location_code), ready_for_pickup, or remind."
    )
    uids: list[ItemUid] = Field(min_length=1, max_length=MAX_SELECTION)
    location_code: LocationCode | None = Field(
        None, description="For a move: the location's code, looked up at each item's own site."
    )
    reason: str = Field("", max_length=500)


class BulkSkippedOut(Schema):
    uid: str
    reason: str


class BulkOut(Schema):
    action: BulkAction
    done: list[str] = Field(description="The items that took the action, one ledger entry each.")
    skipped: list[BulkSkippedOut] = Field(
        description="The items left as they were, each with the reason; the others still went."
    )


class LabelsIn(Input):
    uids: list[ItemUid] = Field(min_length=1, max_length=MAX_SELECTION)


class ClearReviewIn(Input):
    note: str = Field("", max_length=300, description="What the manager checked.")


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
    location: str | None = Field(
        description="The code of the place in the mailroom where the item is; null once it has "
        "left the mailroom (picked up, delivered, returned, destroyed, handed over)."
    )
    location_name: str | None = Field(
        description="That place's name; null once the item has left the mailroom."
    )
    whereabouts: str = Field(
        description="Where the item is, in words: its place, or how it left the mailroom."
    )
    kind: ItemKind
    tracking_number: str
    carrier: str
    tracking_type: str
    sender: str
    accountable: bool
    flagged: bool
    review_reason: str = Field(
        description="Why a manager should review the item, such as a tracking number logged "
        "unchecked with the clerk's reason; empty when nothing needs review."
    )
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


def item_out(item: MailItem) -> ItemOut:
    # Built without validation: every value comes from a saved item, and the API validates the
    # response once on its way out (ninja's own pass), which is cost enough on a hot path.
    return ItemOut.model_construct(**_item_fields(item))


def _item_fields(item: MailItem) -> dict[str, Any]:
    recipient = item.recipient
    gone = State(item.state) in GONE_FROM_MAILROOM
    return dict(
        uid=item.uid,
        state=State(item.state),
        state_label=item.state_label,
        allowed_next=allowed_after(State(item.state)),
        site=item.site.code,
        # Its last shelf is not where an item is once it has left: say how it left instead.
        location=None if gone else item.location.code,
        location_name=None if gone else item.location.name,
        whereabouts=item.whereabouts,
        kind=ItemKind(item.kind),
        tracking_number=item.tracking_number,
        carrier=item.carrier,
        tracking_type=item.tracking_type,
        sender=item.sender,
        accountable=item.accountable,
        flagged=item.flagged,
        review_reason=item.review_reason,
        length_mm=item.length_mm,
        width_mm=item.width_mm,
        height_mm=item.height_mm,
        weight_g=item.weight_g,
        photo_sha256=item.photo_sha256,
        recipient=RecipientBrief.model_construct(
            id=recipient.pk,
            employee_id=recipient.employee_id,
            display_name=recipient.display_name,
            department=recipient.department_name,
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


# ----------------------------------------------------------------------------- site mail holds

HoldId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class SiteHoldIn(Input):
    site: SiteCode
    reason: str = Field(min_length=1, max_length=300)
    ref: str = Field("", max_length=100, description="What caused it, e.g. incident:12.")


class SiteHoldReleaseIn(Input):
    reason: str = Field("", max_length=300)


class SiteHoldOut(Schema):
    id: int
    site: str
    reason: str
    ref: str
    placed_at: datetime
    placed_by: str
    released_at: datetime | None
    released_by: str
    release_reason: str
    active: bool


def site_hold_out(hold: SiteMailHold) -> SiteHoldOut:
    return SiteHoldOut(
        id=hold.pk,
        site=hold.site.code,
        reason=hold.reason,
        ref=hold.ref,
        placed_at=hold.placed_at,
        placed_by=hold.placed_by,
        released_at=hold.released_at,
        released_by=hold.released_by,
        release_reason=hold.release_reason,
        active=hold.active,
    )


# ----------------------------------------------------------------------------- intake's answer


class IntakeOut(ItemOut):
    warnings: list[str] = Field(
        description="What intake warned the clerk of (such as mail-handling training that is "
        "not current); the item is logged all the same."
    )


def intake_out(item: MailItem) -> IntakeOut:
    return IntakeOut.model_construct(**_item_fields(item), warnings=list(item.intake_warnings))


# ----------------------------------------------------------------------------- batch intake


class BatchIntakeIn(Input):
    items: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description="Up to 1,000 items, each with the fields of `POST /api/items` "
        "(`IntakeIn`). Each is checked on its own: one that is refused is reported with its "
        "index and does not stop the others.",
    )


class BatchCreatedOut(Schema):
    index: int = Field(description="The item's place in `items`, from 0.")
    uid: str
    tracking_number: str
    carrier: str


class BatchRefusedOut(Schema):
    index: int = Field(description="The item's place in `items`, from 0.")
    field: str | None = Field(description="The item's field at fault, when one is.")
    message: str


class BatchIntakeOut(Schema):
    created: list[BatchCreatedOut] = Field(
        description="The items logged, written together: two ledger entries and two events each."
    )
    refused: list[BatchRefusedOut] = Field(description="The items refused; nothing of them kept.")
    warnings: list[str] = Field(
        description="What intake warned the clerk of; the items are logged all the same."
    )


# ----------------------------------------------------------------------------- manifests


class ManifestIn(Input):
    site: SiteCode


class ManifestRowErrorOut(Schema):
    row: int = Field(description="The row's line in the file; the header is line 1.")
    field: str
    reason: str


class ManifestOut(Schema):
    manifest: str = Field(description="The file's name and the start of its SHA-256.")
    expected: int = Field(description="How many parcels it added to the expected list.")
    errors: list[ManifestRowErrorOut] = Field(
        description="The rows refused and left out; the others were imported."
    )


class ExpectedQuery(Input):
    site: SiteCode | None = None
    tracking_number: str = Field("", max_length=80)
    limit: Limit = 50


class ExpectedOut(Schema):
    tracking_number: str
    carrier: str
    recipient: RecipientOut
    site: str
    expected_on: date | None
    manifest: str
    imported_at: datetime


# ----------------------------------------------------------------------------- retention


class LegalHoldIn(Input):
    reason: str = Field(max_length=300, description="Why the item is held, or released.")


class LegalHoldOut(Schema):
    reason: str
    by: str = Field(description="Who placed it (empty for a hold an incident carries).")
    at: datetime | None
    source: str = Field(description='"item" for the item\'s own hold, else where it comes from.')


class PurgeNoteOut(Schema):
    content: str = Field(description="What was purged: Photo, Hand-over signature, X-ray images.")
    purged_at: datetime
    rule: str
    sha256: list[str] = Field(description="The purged files' hashes, which the ledger keeps.")
    seq: int = Field(description="The ledger entry that records the purge.")
    text: str = Field(description="The same in a sentence.")


class ItemRetentionOut(Schema):
    uid: str
    legal_hold: LegalHoldOut | None
    purged: list[PurgeNoteOut]
