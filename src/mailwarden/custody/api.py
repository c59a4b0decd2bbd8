"""Custody API: sites, recipients, intake, transitions, pickup and custody records.

Every change goes through :mod:`mailwarden.custody.services`, which checks the caller's role; reads
check it here, and a recipient only ever sees their own items (:func:`queries.visible_items`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from ninja import File, Form, Path, Query, Router, Status
from ninja.files import UploadedFile
from pydantic import ValidationError as PydanticValidationError

from mailwarden.config import get_settings
from mailwarden.core import ledger
from mailwarden.core.api import ERRORS, actor_of, allow, upload_bytes
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.models import LedgerEntry
from mailwarden.core.permissions import require
from mailwarden.core.roles import (
    HANDOVER,
    INTAKE,
    MANAGE_DIRECTORY,
    MANAGE_SECURITY,
    SCREEN,
    VIEW_ITEMS,
    Role,
)
from mailwarden.custody import (
    barcodes,
    batch,
    bulk,
    carriers,
    export,
    holds,
    item_export,
    labels,
    legal_holds,
    manifests,
    queries,
    services,
)
from mailwarden.custody.matching import RecipientIndex
from mailwarden.custody.models import MailItem, SiteMailHold
from mailwarden.custody.schemas import (
    BatchCreatedOut,
    BatchIntakeIn,
    BatchIntakeOut,
    BatchRefusedOut,
    BulkIn,
    BulkOut,
    BulkSkippedOut,
    ClearReviewIn,
    CustodyEntryOut,
    DashboardOut,
    DetectOut,
    DetectQuery,
    DuplicateOut,
    ExpectedOut,
    ExpectedQuery,
    HoldId,
    IntakeIn,
    IntakeOut,
    ItemCountOut,
    ItemFilters,
    ItemOut,
    ItemPage,
    ItemRetentionOut,
    ItemUid,
    LabelReadOut,
    LabelsIn,
    LegalHoldIn,
    LegalHoldOut,
    ManifestIn,
    ManifestOut,
    ManifestRowErrorOut,
    MatchOut,
    MatchQuery,
    MoveIn,
    MyItemOut,
    PickupIn,
    PurgeNoteOut,
    SiteHoldIn,
    SiteHoldOut,
    SiteHoldReleaseIn,
    TransitionIn,
    custody_entry_out,
    intake_out,
    item_out,
    site_hold_out,
)
from mailwarden.custody.states import State
from mailwarden.directory.models import Recipient
from mailwarden.directory.schemas import recipient_out

router = Router(tags=["custody"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Staff, and recipients for their own items (the queries show a recipient nothing else).
READ_ITEMS = (*VIEW_ITEMS, Role.RECIPIENT)

# States only a screening decision may put an item in (see POST /api/items/{uid}/screening).
SCREENING_OUTCOMES = frozenset({State.CLEARED, State.QUARANTINED})


def _binary(media_type: str, description: str) -> dict[str, object]:
    """The OpenAPI answer of an operation that returns a file instead of JSON."""
    return {
        "responses": {
            200: {
                "description": description,
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


def _visible_item(request: HttpRequest, uid: str) -> MailItem:
    item = queries.visible_items(actor_of(request)).filter(uid=uid.upper()).first()
    if item is None:
        # Items the caller may not see answer as absent, so their ids cannot be probed.
        raise NotFound(f"no item {uid}", "uid")
    return item


# Building the index costs a pass over every active recipient, so it is kept per process and
# rebuilt only when the directory changes. Every directory change goes through a service that
# appends to the ledger, so the newest recipient entry's hash marks any edit; count and top id
# add a cheap guard against rows written by other means.
_match_index: tuple[tuple[int, int, str], RecipientIndex] | None = None


def recipient_index() -> RecipientIndex:
    global _match_index
    active = Recipient.objects.filter(active=True)
    stats = active.aggregate(n=Count("id"), top=Max("id"))
    last = (
        LedgerEntry.objects.filter(subject_type="recipient")
        .order_by("-seq")
        .values_list("hash", flat=True)
        .first()
    )
    key = (stats["n"], stats["top"] or 0, last or "")
    cached = _match_index
    if cached is not None and cached[0] == key:
        return cached[1]
    index = RecipientIndex(queries.recipient_candidates())
    _match_index = (key, index)
    return index


@router.get(
    "/recipients/match",
    response={200: list[MatchOut], **ERRORS},
    summary="Rank recipients by how well they fit a name, email or mail stop",
)
@allow(VIEW_ITEMS, "matching recipients")
def match_recipients(request: HttpRequest, query: Query[MatchQuery]) -> list[MatchOut]:
    require(actor_of(request), VIEW_ITEMS, "matching recipients")
    matches = recipient_index().match(query.q, limit=query.limit)
    people = Recipient.objects.select_related("department", "site").in_bulk(
        [m.candidate.id for m in matches]
    )
    return [
        MatchOut(score=m.score, recipient=recipient_out(people[m.candidate.id]))
        for m in matches
        if m.candidate.id in people
    ]


# ----------------------------------------------------------------------------- carriers


@router.get(
    "/carriers/detect",
    response={200: DetectOut, **ERRORS},
    summary="Identify the carrier of a tracking number and check its check digit",
)
@allow(VIEW_ITEMS, "checking a tracking number")
def detect_carrier(request: HttpRequest, query: Query[DetectQuery]) -> DetectOut:
    require(actor_of(request), VIEW_ITEMS, "checking a tracking number")
    return _detect(query.number)


def _detect(number: str) -> DetectOut:
    try:
        found = carriers.validate(number)
    except carriers.InvalidTrackingNumber as exc:
        return DetectOut(
            number=exc.number,
            valid=False,
            carrier=None,
            carrier_name=None,
            type=None,
            type_name=None,
            service=None,
            tracking_url=None,
            reason=exc.reason,
        )
    return DetectOut(
        number=found.number,
        valid=found.valid,
        carrier=found.carrier,
        carrier_name=found.carrier_name,
        type=found.type,
        type_name=found.type_name,
        service=found.service,
        tracking_url=found.tracking_url,
    )


@router.post(
    "/carriers/read-label",
    response={200: LabelReadOut, **ERRORS},
    summary="Read the barcodes on a photo of a shipping label",
)
@allow(INTAKE, "reading a label photo")
def read_label(request: HttpRequest, photo: File[UploadedFile]) -> LabelReadOut:
    require(actor_of(request), INTAKE, "reading a label photo")
    data = upload_bytes(photo, "photo")
    try:
        codes = barcodes.decode_label(data, get_settings().uploads.max_pixels)
    except barcodes.ImageRejected as exc:
        raise ServiceError(exc.reason, "photo") from None
    number = barcodes.tracking_number_among(codes)
    return LabelReadOut(
        codes=codes, tracking_number=number, check=_detect(number) if number else None
    )


# ----------------------------------------------------------------------------- items


@router.post(
    "/items",
    response={201: IntakeOut, **ERRORS, 409: DuplicateOut},
    summary="Log an item at intake",
)
@allow(INTAKE, "logging an item")
def intake(request: HttpRequest, payload: IntakeIn) -> Status[IntakeOut | DuplicateOut]:
    return _intake(request, payload, None)


@router.post(
    "/items/with-photo",
    response={201: IntakeOut, **ERRORS, 409: DuplicateOut},
    summary="Log an item at intake with its photo, in one step (a multipart form)",
)
@allow(INTAKE, "logging an item")
def intake_with_photo(
    request: HttpRequest, payload: Form[IntakeIn], photo: File[UploadedFile]
) -> Status[IntakeOut | DuplicateOut]:
    return _intake(request, payload, upload_bytes(photo, "photo"))


def _intake(
    request: HttpRequest, payload: IntakeIn, photo: bytes | None
) -> Status[IntakeOut | DuplicateOut]:
    req = _intake_request(payload, photo)
    try:
        item = services.intake(actor_of(request), req)
    except services.PossibleDuplicate as exc:
        return Status(
            409, DuplicateOut(message=exc.message, field=exc.field, previous_uid=exc.previous.uid)
        )
    return Status(201, intake_out(item))


def _intake_request(payload: IntakeIn, photo: bytes | None) -> services.IntakeRequest:
    return services.IntakeRequest(
        site=payload.site,
        recipient_id=payload.recipient_id,
        kind=payload.kind.value,
        tracking_number=payload.tracking_number,
        sender=payload.sender,
        accountable=payload.accountable,
        suspicious=payload.suspicious,
        length_mm=payload.length_mm,
        width_mm=payload.width_mm,
        height_mm=payload.height_mm,
        weight_g=payload.weight_g,
        notes=payload.notes,
        location_code=payload.location_code,
        confirm_duplicate=payload.confirm_duplicate,
        unverified_reason=payload.unverified_reason,
        photo=photo,
    )


@router.post(
    "/items/batch",
    response={200: BatchIntakeOut, **ERRORS},
    summary="Log up to 1,000 items at once",
    description="Each item is checked as `POST /api/items` checks it (carrier rule, "
    "`unverified_reason`, duplicate re-scan, active recipient) and reported one by one: "
    "`created` with its id, or `refused` with the field and the reason. The valid items are "
    "written in one transaction, each with its own ledger entries and events; a refused item "
    "changes nothing and does not stop the others. Photos are attached afterwards.",
)
@allow(INTAKE, "logging items")
def intake_batch(request: HttpRequest, payload: BatchIntakeIn) -> BatchIntakeOut:
    shaped: list[tuple[int, services.IntakeRequest]] = []
    refused: list[batch.Refused] = []
    for index, raw in enumerate(payload.items):
        try:
            item = IntakeIn.model_validate(raw)
        except PydanticValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or None
            message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
            refused.append(batch.Refused(index, where, message))
            continue
        shaped.append((index, _intake_request(item, None)))
    result = batch.intake_batch(actor_of(request), shaped)
    return BatchIntakeOut(
        created=[
            BatchCreatedOut(
                index=c.index, uid=c.uid, tracking_number=c.tracking_number, carrier=c.carrier
            )
            for c in result.created
        ],
        refused=[
            BatchRefusedOut(index=r.index, field=r.field, message=r.reason)
            for r in sorted([*refused, *result.refused], key=lambda r: r.index)
        ],
        warnings=result.warnings,
    )


@router.post(
    "/items/{uid}/photo",
    response={200: ItemOut, **ERRORS},
    summary="Attach a photo to a logged item",
)
@allow(INTAKE, "attaching a photo")
def attach_photo(request: HttpRequest, photo: File[UploadedFile], uid: Path[ItemUid]) -> ItemOut:
    item = _visible_item(request, uid)
    data = upload_bytes(photo, "photo")
    return item_out(services.attach_photo(actor_of(request), item.uid, data))


@router.get(
    "/items/{uid}/photo",
    response=ERRORS,
    summary="The photo taken at intake",
    openapi_extra=_binary("image/*", "The photo as it was stored"),
)
@allow(READ_ITEMS, "viewing an item's photo")
def get_photo(request: HttpRequest, uid: Path[ItemUid]) -> HttpResponse:
    item = _visible_item(request, uid)
    photo = queries.item_photo(item)
    if photo is None and item.content_purged_at and item.photo_sha256:
        raise NotFound(
            f"the photo of {item.uid} was purged under the rule {item.content_purged_rule!r}",
            "uid",
        )
    if photo is None:
        raise NotFound(f"item {item.uid} has no photo", "uid")
    return _file(photo.data, photo.content_type, f"{item.uid}-photo.{photo.format}")


@router.get(
    "/my/items",
    response={200: list[MyItemOut], **ERRORS},
    summary="A recipient's own items, with the pickup code of each one ready for pickup",
)
@allow((Role.RECIPIENT,), "your mail")
def my_items(request: HttpRequest) -> list[MyItemOut]:
    actor = actor_of(request)
    require(actor, (Role.RECIPIENT,), "your mail")
    return [
        MyItemOut(item=item_out(row.item), pickup_code=row.pickup_code, qr_token=row.qr_token)
        for row in queries.my_items(actor)
    ]


@router.get(
    "/items",
    response={200: list[ItemOut], **ERRORS},
    summary="Search and filter items, newest first (page on with 'before')",
)
@allow(READ_ITEMS, "searching items")
def list_items(request: HttpRequest, filters: Query[ItemPage]) -> list[ItemOut]:
    items = queries.search_items(
        actor_of(request),
        filters.q,
        filters=filters.filters(),
        limit=filters.limit,
        before=filters.before,
    )
    return [item_out(i) for i in items]


# Declared before /items/{uid}: the first path that matches answers, and an item ID never holds
# a dot, nor is "count", "bulk" or "export.csv" one.


@router.get(
    "/items/count",
    response={200: ItemCountOut, **ERRORS},
    summary="How many items pass the same filters as the list",
)
@allow(READ_ITEMS, "searching items")
def count_items(request: HttpRequest, filters: Query[ItemFilters]) -> ItemCountOut:
    return ItemCountOut(total=queries.count_items(actor_of(request), filters.q, filters.filters()))


@router.get(
    "/items/export.csv",
    response=ERRORS,
    summary="Every item that passes the filters, as CSV (formula-safe cells)",
    openapi_extra=_binary("text/csv", "One row per item, newest first"),
)
@allow(VIEW_ITEMS, "exporting items")
def export_csv(request: HttpRequest, filters: Query[ItemFilters]) -> StreamingHttpResponse:
    actor = actor_of(request)
    require(actor, VIEW_ITEMS, "exporting items")
    matching = queries.matching_items(actor, filters.q, filters.filters())
    response = StreamingHttpResponse(
        item_export.csv_lines(matching), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="items.csv"'
    return response


@router.get(
    "/items/export.xlsx",
    response=ERRORS,
    summary="Every item that passes the filters, as an Excel workbook",
    openapi_extra=_binary(XLSX, "One row per item, newest first"),
)
@allow(VIEW_ITEMS, "exporting items")
def export_xlsx(request: HttpRequest, filters: Query[ItemFilters]) -> HttpResponse:
    actor = actor_of(request)
    require(actor, VIEW_ITEMS, "exporting items")
    matching = queries.matching_items(actor, filters.q, filters.filters())
    response = HttpResponse(item_export.xlsx_bytes(matching), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="items.xlsx"'
    return response


@router.post(
    "/items/bulk",
    response={200: BulkOut, **ERRORS},
    summary="Move, mark ready for pickup, or remind, for many items at once",
    description="Each item goes through the same checks as on its own and gets its own ledger "
    "entry, all in one transaction. An item that cannot take the action is left as it was and "
    "listed under `skipped` with the reason; the others still go.",
)
@allow((*HANDOVER, *SCREEN), "acting on many items")
def bulk_action(request: HttpRequest, payload: BulkIn) -> BulkOut:
    result = bulk.run(
        actor_of(request),
        payload.action,
        payload.uids,
        location_code=payload.location_code or "",
        reason=payload.reason,
    )
    return BulkOut(
        action=result.action,
        done=result.done,
        skipped=[BulkSkippedOut(uid=s.uid, reason=s.reason) for s in result.skipped],
    )


@router.post(
    "/items/labels.pdf",
    response=ERRORS,
    summary="The labels of many items as one PDF, a 4x6-inch page each",
    description="Each printed label is recorded on its item's chain of custody. Items that "
    "cannot be found are left out; the header `X-Skipped-Items` names them.",
    openapi_extra=_binary("application/pdf", "The labels, in the order given"),
)
@allow(VIEW_ITEMS, "printing labels")
def labels_pdf(request: HttpRequest, payload: LabelsIn) -> HttpResponse:
    sheet = bulk.print_labels(actor_of(request), payload.uids)
    response = _file(sheet.pdf, "application/pdf", f"labels-{len(sheet.printed)}-items.pdf")
    if sheet.skipped:
        response["X-Skipped-Items"] = " ".join(s.uid for s in sheet.skipped)
    return response


@router.post(
    "/items/{uid}/review/clear",
    response={200: ItemOut, **ERRORS},
    summary="Clear an item's review flag (a tracking number logged unchecked)",
)
@allow(MANAGE_DIRECTORY, "clearing an item's review flag")
def clear_review(request: HttpRequest, payload: ClearReviewIn, uid: Path[ItemUid]) -> ItemOut:
    item = _visible_item(request, uid)
    return item_out(services.clear_review(actor_of(request), item.uid, payload.note))


@router.get("/items/{uid}", response={200: ItemOut, **ERRORS}, summary="One item")
@allow(READ_ITEMS, "viewing an item")
def get_item(request: HttpRequest, uid: Path[ItemUid]) -> ItemOut:
    return item_out(_visible_item(request, uid))


@router.post(
    "/items/{uid}/transition",
    response={200: ItemOut, **ERRORS},
    summary="Move an item to its next custody state",
    description="Clearing or quarantining an item is a screening decision, refused here: submit "
    "the checklist with `POST /api/items/{uid}/screening`, which applies the site's policy.",
)
@allow((*HANDOVER, *SCREEN), "moving an item on")
def transition(request: HttpRequest, payload: TransitionIn, uid: Path[ItemUid]) -> ItemOut:
    if payload.state in SCREENING_OUTCOMES:
        # A plain transition would skip the site's screening policy, the second screener and
        # the alarm. The service itself still allows them: the screening services call it.
        raise ServiceError(
            f"{payload.state.value} is a screening decision; submit the item's checklist with "
            f"POST /api/items/{uid.upper()}/screening",
            "state",
        )
    item = services.transition(
        actor_of(request),
        uid.upper(),
        payload.state.value,
        reason=payload.reason,
        location_code=payload.location_code,
        expected_version=payload.expected_version,
    )
    return item_out(item)


@router.post(
    "/items/{uid}/move",
    response={200: ItemOut, **ERRORS},
    summary="Record a change of place without a change of state",
)
@allow((*HANDOVER, *SCREEN), "moving an item")
def move(request: HttpRequest, payload: MoveIn, uid: Path[ItemUid]) -> ItemOut:
    item = services.move(actor_of(request), uid.upper(), payload.location_code, payload.reason)
    return item_out(item)


@router.post(
    "/items/{uid}/pickup",
    response={200: ItemOut, **ERRORS},
    summary="Hand an item over to its recipient, with proof",
)
@allow(HANDOVER, "handing over an item")
def pickup(request: HttpRequest, payload: PickupIn, uid: Path[ItemUid]) -> ItemOut:
    item = services.hand_over(
        actor_of(request),
        uid.upper(),
        method=payload.method,
        proof=payload.proof,
        collected_by=payload.collected_by,
        delivered=payload.delivered,
    )
    return item_out(item)


@router.get(
    "/items/{uid}/custody",
    response={200: list[CustodyEntryOut], **ERRORS},
    summary="The item's chain of custody, entry by entry from the ledger",
)
@allow(READ_ITEMS, "reading an item's chain of custody")
def custody(request: HttpRequest, uid: Path[ItemUid]) -> list[CustodyEntryOut]:
    item = _visible_item(request, uid)
    return [custody_entry_out(e) for e in ledger.entries_for("mailitem", item.uid)]


def _retention_out(item: MailItem) -> ItemRetentionOut:
    hold = legal_holds.holds_on([item]).get(item.uid)
    notes = export.purge_notes(
        ledger.entries_for("mailitem", item.uid), ZoneInfo(item.site.timezone)
    )
    return ItemRetentionOut(
        uid=item.uid,
        legal_hold=None
        if hold is None
        else LegalHoldOut(reason=hold.reason, by=hold.by, at=hold.at, source=hold.source),
        purged=[PurgeNoteOut(**note) for note in notes],
    )


@router.get(
    "/items/{uid}/retention",
    response={200: ItemRetentionOut, **ERRORS},
    summary="The item's legal hold, and which of its content was purged, when and by which rule",
)
@allow(VIEW_ITEMS, "reading an item's retention")
def retention(request: HttpRequest, uid: Path[ItemUid]) -> ItemRetentionOut:
    return _retention_out(_visible_item(request, uid))


@router.post(
    "/items/{uid}/legal-hold",
    response={200: ItemRetentionOut, **ERRORS},
    summary="Place a legal hold on an item: its content is never purged while it stands",
)
@allow(MANAGE_SECURITY, "placing a legal hold")
def place_legal_hold(
    request: HttpRequest, payload: LegalHoldIn, uid: Path[ItemUid]
) -> ItemRetentionOut:
    item = _visible_item(request, uid)
    return _retention_out(legal_holds.place_legal_hold(actor_of(request), item.uid, payload.reason))


@router.post(
    "/items/{uid}/legal-hold/release",
    response={200: ItemRetentionOut, **ERRORS},
    summary="Release an item's legal hold; the retention rules apply to it again",
)
@allow(MANAGE_SECURITY, "releasing a legal hold")
def release_legal_hold(
    request: HttpRequest, payload: LegalHoldIn, uid: Path[ItemUid]
) -> ItemRetentionOut:
    item = _visible_item(request, uid)
    return _retention_out(
        legal_holds.release_legal_hold(actor_of(request), item.uid, payload.reason)
    )


@router.get(
    "/items/{uid}/custody.pdf",
    response=ERRORS,
    summary="The item's chain of custody as a PDF",
    openapi_extra=_binary("application/pdf", "The chain of custody"),
)
@allow(READ_ITEMS, "reading an item's chain of custody")
def custody_pdf(request: HttpRequest, uid: Path[ItemUid]) -> HttpResponse:
    item = _visible_item(request, uid)
    return _file(export.custody_pdf(item), "application/pdf", f"{item.uid}-custody.pdf")


def _label_data(request: HttpRequest, uid: str) -> labels.LabelData:
    require(actor_of(request), VIEW_ITEMS, "printing a label")
    item = _visible_item(request, uid)
    return labels.LabelData(
        uid=item.uid,
        recipient_name=item.recipient.display_name,
        mail_stop=item.recipient.mail_stop,
        department=item.recipient.department_name,
        carrier=item.carrier,
        tracking_number=item.tracking_number,
        kind=item.get_kind_display(),
        received_at=item.received_at.astimezone(ZoneInfo(item.site.timezone)),
        site_name=item.site.name,
    )


def _file(data: bytes, media_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=media_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@router.get(
    "/items/{uid}/label.png",
    response=ERRORS,
    summary="The item's 4x6-inch label for a thermal printer",
    openapi_extra=_binary("image/png", "The label at 203 dpi"),
)
@allow(VIEW_ITEMS, "printing a label")
def label_png(request: HttpRequest, uid: Path[ItemUid]) -> HttpResponse:
    data = _label_data(request, uid)
    return _file(labels.label_png(data), "image/png", f"{data.uid}.png")


@router.get(
    "/items/{uid}/label.pdf",
    response=ERRORS,
    summary="The item's 4x6-inch label as a PDF",
    openapi_extra=_binary("application/pdf", "The label"),
)
@allow(VIEW_ITEMS, "printing a label")
def label_pdf(request: HttpRequest, uid: Path[ItemUid]) -> HttpResponse:
    data = _label_data(request, uid)
    return _file(labels.label_pdf(data), "application/pdf", f"{data.uid}.pdf")


# ----------------------------------------------------------------------------- dashboard


@router.get("/dashboard", response={200: DashboardOut, **ERRORS}, summary="Mailroom counts")
@allow(VIEW_ITEMS, "viewing the dashboard")
def dashboard(request: HttpRequest) -> DashboardOut:
    require(actor_of(request), VIEW_ITEMS, "viewing the dashboard")
    board = queries.dashboard()
    return DashboardOut(
        intake_today=board.intake_today,
        by_state=board.by_state,
        awaiting_pickup=board.awaiting_pickup,
        quarantined=board.quarantined,
        overdue=board.overdue,
    )


# ----------------------------------------------------------------------------- site mail holds


@router.get(
    "/site-holds",
    response={200: list[SiteHoldOut], **ERRORS},
    summary="Site mail holds standing now (all, with ?all=true)",
)
@allow(holds.VIEW_HOLDS, "reading site mail holds")
def list_site_holds(request: HttpRequest, all: bool = False) -> list[SiteHoldOut]:
    require(actor_of(request), holds.VIEW_HOLDS, "reading site mail holds")
    found = SiteMailHold.objects.select_related("site")
    if not all:
        found = found.filter(released_at__isnull=True)
    return [site_hold_out(h) for h in found[:500]]


@router.post(
    "/site-holds",
    response={201: SiteHoldOut, **ERRORS},
    summary="Hold every item at a site: nothing there is handed over until it is released",
)
@allow(holds.PLACE_HOLDS, "holding a site's mail")
def place_site_hold(request: HttpRequest, payload: SiteHoldIn) -> Status[SiteHoldOut]:
    hold = holds.place_site_hold(
        actor_of(request), payload.site, reason=payload.reason, ref=payload.ref
    )
    return Status(201, site_hold_out(hold))


@router.post(
    "/site-holds/{hold_id}/release",
    response={200: SiteHoldOut, **ERRORS},
    summary="Release a site mail hold",
)
@allow(holds.RELEASE_HOLDS, "releasing a site's mail hold")
def release_site_hold(
    request: HttpRequest, hold_id: Path[HoldId], payload: SiteHoldReleaseIn
) -> SiteHoldOut:
    hold = holds.release_site_hold(actor_of(request), hold_id, reason=payload.reason)
    return site_hold_out(hold)


# ----------------------------------------------------------------------------- manifests


@router.post(
    "/manifests",
    response={200: ManifestOut, **ERRORS},
    summary="Import a carrier's advance manifest (CSV) as expected parcels",
    description="A CSV with a header row: `tracking_number`, `carrier`, `recipient` (an email "
    "address or an employee ID) and `expected_date` (YYYY-MM-DD). Each good row becomes an "
    "expected parcel at the site, matched when intake scans its number; each refused row is "
    "reported with its line and field, and left out.",
)
@allow(INTAKE, "importing a manifest")
def import_manifest(
    request: HttpRequest, payload: Form[ManifestIn], file: File[UploadedFile]
) -> ManifestOut:
    if file.size is not None and file.size > manifests.MAX_BYTES:
        raise ServiceError(
            f"the file is {file.size:,} bytes; a manifest may be at most {manifests.MAX_BYTES:,}",
            "file",
        )
    data = upload_bytes(file, "file")
    result = manifests.import_manifest(actor_of(request), payload.site, file.name or "", data)
    return ManifestOut(
        manifest=result.manifest,
        expected=result.expected,
        errors=[
            ManifestRowErrorOut(row=e.row, field=e.field, reason=e.reason) for e in result.errors
        ],
    )


@router.get(
    "/expected",
    response={200: list[ExpectedOut], **ERRORS},
    summary="Parcels a manifest announced that have not arrived",
)
@allow(VIEW_ITEMS, "viewing expected parcels")
def expected_parcels(request: HttpRequest, query: Query[ExpectedQuery]) -> list[ExpectedOut]:
    parcels = manifests.not_arrived(actor_of(request), query.site)
    number = carriers.normalise(query.tracking_number)
    if number:
        parcels = parcels.filter(tracking_number=number)
    return [
        ExpectedOut(
            tracking_number=p.tracking_number,
            carrier=p.carrier,
            recipient=recipient_out(p.recipient),
            site=p.site.code,
            expected_on=p.expected_on,
            manifest=p.manifest,
            imported_at=p.imported_at,
        )
        for p in parcels.select_related("recipient__department")[: query.limit]
    ]
