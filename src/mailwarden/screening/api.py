"""Screening API: indicators and policy, checklists and decisions, X-ray scans, quarantine.

Every change goes through :mod:`mailwarden.screening.services`, which checks the caller's role;
reads check it here. Screening is staff business: recipients see none of it.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from django.http import HttpRequest, HttpResponse
from ninja import File, Path, Query, Router, Status
from ninja.files import UploadedFile

from mailwarden.config import get_settings
from mailwarden.core import media
from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import SCREEN, VIEW_ITEMS
from mailwarden.custody.models import MailItem
from mailwarden.custody.schemas import ItemUid
from mailwarden.directory.models import Site
from mailwarden.directory.schemas import SiteCode
from mailwarden.screening import imaging, queries, services
from mailwarden.screening.models import (
    Decision,
    Indicator,
    QuarantineRequest,
    Scan,
    ScanFormat,
    ScanSource,
)
from mailwarden.screening.schemas import (
    ChecklistIn,
    DbId,
    DecisionOut,
    IndicatorOut,
    IndicatorQuery,
    OutcomeIn,
    PendingQuery,
    PolicyIn,
    PolicyOut,
    RegionOut,
    RegisterQuery,
    RegisterRowOut,
    RequestOut,
    RequestQuery,
    ScanOut,
    ViewQuery,
    decision_out,
    policy_out,
    register_row_out,
    request_out,
    scan_out,
)

router = Router(tags=["screening"])

PNG = "image/png"
FILE_TYPES = {
    ScanFormat.TIFF: "image/tiff",
    ScanFormat.PNG: PNG,
    ScanFormat.JPEG: "image/jpeg",
    ScanFormat.BMP: "image/bmp",
    ScanFormat.DICOS: "application/dicom",
}
# Scans never change once stored, so their images may be cached by the browser.
IMMUTABLE = "private, max-age=86400, immutable"


def _binary(description: str, *media_types: str) -> dict[str, object]:
    """The OpenAPI answer of an operation that returns a file instead of JSON."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {
        "responses": {
            200: {"description": description, "content": dict.fromkeys(media_types, binary)}
        }
    }


def _staff(request: HttpRequest, what: str) -> None:
    require(actor_of(request), VIEW_ITEMS, what)


def _site(code: str, field: str = "code") -> Site:
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site {code!r}", field)
    return site


def _item(uid: str) -> MailItem:
    item = MailItem.objects.filter(uid=uid.upper()).first()
    if item is None:
        raise NotFound(f"no item {uid}", "uid")
    return item


def _scan(scan_id: int) -> Scan:
    scan = Scan.objects.select_related("item").filter(pk=scan_id).first()
    if scan is None:
        raise NotFound(f"no scan {scan_id}", "scan_id")
    return scan


def _png(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=PNG)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = IMMUTABLE
    return response


# ----------------------------------------------------------------------------- indicators


@router.get(
    "/screening/indicators",
    response={200: list[IndicatorOut], **ERRORS},
    summary="The suspicious-mail indicator checklist, with a site's weights",
)
@allow(VIEW_ITEMS, "reading the indicator checklist")
def list_indicators(request: HttpRequest, query: Query[IndicatorQuery]) -> list[IndicatorOut]:
    _staff(request, "reading the indicator checklist")
    weights = (
        services.site_policy(_site(query.site, "site")).policy.indicator_weights
        if query.site
        else None
    )
    return [
        IndicatorOut(
            code=i.code,
            label=i.label,
            description=i.description,
            default_weight=i.default_weight,
            weight=weights.get(i.code, i.default_weight) if weights else i.default_weight,
        )
        for i in Indicator.objects.all()
    ]


@router.get(
    "/sites/{code}/screening-policy",
    response={200: PolicyOut, **ERRORS},
    summary="A site's screening policy",
)
@allow(VIEW_ITEMS, "reading the screening policy")
def get_policy(request: HttpRequest, code: Path[SiteCode]) -> PolicyOut:
    _staff(request, "reading the screening policy")
    return policy_out(services.site_policy(_site(code)))


@router.patch(
    "/sites/{code}/screening-policy",
    response={200: PolicyOut, **ERRORS},
    summary="Change a site's screening policy (security managers)",
)
@allow(services.MANAGE_POLICY, "changing the screening policy")
def update_policy(request: HttpRequest, payload: PolicyIn, code: Path[SiteCode]) -> PolicyOut:
    change = services.PolicyUpdate(
        **{
            **payload.model_dump(exclude_none=True),
            # enum keys and values as plain strings for the service
            **(
                {"xray_tiers": {k: v.value for k, v in payload.xray_tiers.items()}}
                if payload.xray_tiers is not None
                else {}
            ),
            **(
                {"actions": {k.value: v.value for k, v in payload.actions.items()}}
                if payload.actions is not None
                else {}
            ),
        }
    )
    return policy_out(services.update_policy(actor_of(request), code, change))


# ----------------------------------------------------------------------------- decisions


@router.post(
    "/items/{uid}/screening",
    response={201: DecisionOut, **ERRORS},
    summary="Submit an item's indicator checklist; the policy decides what happens next",
)
@allow(SCREEN, "screening an item")
def screen_item(
    request: HttpRequest, payload: ChecklistIn, uid: Path[ItemUid]
) -> Status[DecisionOut]:
    decision = services.screen_item(
        actor_of(request),
        uid,
        services.Checklist(
            indicators=list(payload.indicators),
            notes=payload.notes,
            raise_to=payload.raise_to.value if payload.raise_to else None,
            seconds_on_item=payload.seconds_on_item,
            confirm_findings=payload.confirm_findings,
        ),
    )
    return Status(201, decision_out(decision))


@router.get(
    "/items/{uid}/screening",
    response={200: list[DecisionOut], **ERRORS},
    summary="An item's screening decisions, oldest first",
)
@allow(VIEW_ITEMS, "reading screening decisions")
def item_decisions(request: HttpRequest, uid: Path[ItemUid]) -> list[DecisionOut]:
    _staff(request, "reading screening decisions")
    return [decision_out(d) for d in queries.decisions_of(_item(uid))]


@router.get(
    "/screening/pending",
    response={200: list[DecisionOut], **ERRORS},
    summary="Decisions waiting for a second screener, oldest first",
)
@allow(VIEW_ITEMS, "reading the second-screener queue")
def pending_decisions(request: HttpRequest, query: Query[PendingQuery]) -> list[DecisionOut]:
    _staff(request, "reading the second-screener queue")
    if query.site:
        _site(query.site, "site")
    return [decision_out(d) for d in queries.pending_decisions(query.site)[:500]]


@router.post(
    "/screening/decisions/{decision_id}/confirm",
    response={200: DecisionOut, **ERRORS},
    summary="Confirm an elevated-tier decision as the second screener; the item is cleared",
)
@allow(SCREEN, "confirming a screening decision")
def confirm_decision(request: HttpRequest, decision_id: Path[DbId]) -> DecisionOut:
    decision = services.confirm_decision(actor_of(request), decision_id)
    return decision_out(Decision.objects.select_related("item").get(pk=decision.pk))


# ----------------------------------------------------------------------------- scans


_SCAN_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "image": {
                            "type": "string",
                            "format": "binary",
                            "description": "A colour composite (JPEG, PNG, TIFF, BMP) or a "
                            "DICOS file.",
                        },
                        "high": {
                            "type": "string",
                            "format": "binary",
                            "description": "The high-energy image: a 16-bit greyscale TIFF.",
                        },
                        "low": {
                            "type": "string",
                            "format": "binary",
                            "description": "The low-energy image: a 16-bit greyscale TIFF.",
                        },
                    },
                }
            }
        },
    }
}


def _upload_bytes(upload: UploadedFile | None, field: str) -> bytes | None:
    if upload is None:
        return None
    # Django has spooled the upload to disk; checking its size first keeps an oversized file
    # out of memory.
    limit = get_settings().uploads.max_bytes
    if upload.size is not None and upload.size > limit:
        raise ServiceError(f"the file is {upload.size} bytes; the limit is {limit}", field)
    return upload.read()


@router.post(
    "/items/{uid}/scans",
    response={201: ScanOut, **ERRORS},
    summary="Upload an X-ray scan: a colour composite or DICOS file as image, or a 16-bit "
    "high/low pair as high and low",
    openapi_extra=_SCAN_BODY,
)
@allow(SCREEN, "importing an X-ray scan")
def upload_scan(
    request: HttpRequest,
    uid: Path[ItemUid],
    image: File[UploadedFile] = None,  # type: ignore[assignment]
    high: File[UploadedFile] = None,  # type: ignore[assignment]
    low: File[UploadedFile] = None,  # type: ignore[assignment]
) -> Status[ScanOut]:
    if request.content_type != "multipart/form-data":
        raise ServiceError("send the scan as a multipart upload", "image")
    names = [u.name or "" for u in (image, high) if u is not None]
    upload = services.ScanUpload(
        image=_upload_bytes(image, "image"),
        high=_upload_bytes(high, "high"),
        low=_upload_bytes(low, "low"),
        filename=names[0] if names else "",
    )
    scan = services.import_scan(actor_of(request), uid, upload, source=ScanSource.API)
    return Status(201, scan_out(scan))


@router.get(
    "/items/{uid}/scans",
    response={200: list[ScanOut], **ERRORS},
    summary="An item's X-ray scans, oldest first",
)
@allow(VIEW_ITEMS, "reading X-ray scans")
def item_scans(request: HttpRequest, uid: Path[ItemUid]) -> list[ScanOut]:
    _staff(request, "reading X-ray scans")
    return [scan_out(s) for s in queries.scans_of(_item(uid))]


@router.get("/scans/{scan_id}", response={200: ScanOut, **ERRORS}, summary="One X-ray scan")
@allow(VIEW_ITEMS, "reading X-ray scans")
def get_scan(request: HttpRequest, scan_id: Path[DbId]) -> ScanOut:
    _staff(request, "reading X-ray scans")
    return scan_out(_scan(scan_id))


@router.get(
    "/scans/{scan_id}/regions",
    response={200: list[RegionOut], **ERRORS},
    summary="The threat regions the analysis found in a scan, highest score first",
)
@allow(VIEW_ITEMS, "reading X-ray scans")
def scan_regions(request: HttpRequest, scan_id: Path[DbId]) -> list[RegionOut]:
    _staff(request, "reading X-ray scans")
    return [RegionOut(**r) for r in _scan(scan_id).regions]


@router.get(
    "/scans/{scan_id}/image.png",
    response=ERRORS,
    summary="The scan in pseudo-colour, as stored for the workstation",
    openapi_extra=_binary("The pseudo-colour image", PNG),
)
@allow(VIEW_ITEMS, "viewing X-ray images")
def scan_image(request: HttpRequest, scan_id: Path[DbId]) -> HttpResponse:
    _staff(request, "viewing X-ray images")
    scan = _scan(scan_id)
    if scan.images_purged_at is not None:
        raise NotFound(
            f"the images of scan {scan.pk} were purged under the rule {scan.images_purged_rule!r}",
            "scan_id",
        )
    return _png(media.get(scan.rendered_sha256), f"scan-{scan.pk}.png")


@lru_cache(maxsize=16)
def _view_png(files: tuple[str, str, str], view: imaging.View, level: float) -> bytes:
    # Rendering a view of a large scan takes most of a second and a screener flips between a
    # few. Keyed by the content hashes, which never name other images (ids can be reused).
    file_sha256, high_sha256, low_sha256 = files
    scan = Scan(file_sha256=file_sha256, high_sha256=high_sha256, low_sha256=low_sha256)
    return imaging.render(services.scan_decoded(scan), view, level)


@router.get(
    "/scans/{scan_id}/view/{name}.png",
    response=ERRORS,
    summary="An operator view of the scan (organic only, high penetration, edges, ...)",
    openapi_extra=_binary("The view", PNG),
)
@allow(VIEW_ITEMS, "viewing X-ray images")
def scan_view(
    request: HttpRequest, scan_id: Path[DbId], name: Path[imaging.View], query: Query[ViewQuery]
) -> HttpResponse:
    _staff(request, "viewing X-ray images")
    scan = _scan(scan_id)
    imaging.check_view(scan.kind, name)
    level = query.level if name == imaging.View.VARIABLE_DENSITY else 0.5
    files = (scan.file_sha256, scan.high_sha256, scan.low_sha256)
    return _png(_view_png(files, name, round(level, 3)), f"scan-{scan.pk}-{name.value}.png")


@router.get(
    "/scans/{scan_id}/files/{part}",
    response=ERRORS,
    summary="A file of the scan exactly as the scanner delivered it",
    openapi_extra=_binary("The original file", *FILE_TYPES.values()),
)
@allow(VIEW_ITEMS, "viewing X-ray images")
def scan_file(
    request: HttpRequest, scan_id: Path[DbId], part: Path[Literal["image", "high", "low"]]
) -> HttpResponse:
    _staff(request, "viewing X-ray images")
    scan = _scan(scan_id)
    digest = {"image": scan.file_sha256, "high": scan.high_sha256, "low": scan.low_sha256}.get(
        part, ""
    )
    if not digest:
        raise NotFound(f"scan {scan.pk} has no {part!r} file", "part")
    response = HttpResponse(media.get(digest), content_type=FILE_TYPES[ScanFormat(scan.format)])
    response["Content-Disposition"] = f'attachment; filename="scan-{scan.pk}-{part}"'
    response["Cache-Control"] = IMMUTABLE
    return response


# ----------------------------------------------------------------------------- quarantine


@router.get(
    "/quarantine",
    response={200: list[RegisterRowOut], **ERRORS},
    summary="The quarantine register: items held, longest first, with why and for how long",
)
@allow(VIEW_ITEMS, "reading the quarantine register")
def quarantine_register(request: HttpRequest, query: Query[RegisterQuery]) -> list[RegisterRowOut]:
    _staff(request, "reading the quarantine register")
    if query.site:
        _site(query.site, "site")
    return [register_row_out(row) for row in queries.quarantine_register(query.site)]


@router.post(
    "/items/{uid}/quarantine-outcome",
    response={201: RequestOut, **ERRORS},
    summary="Propose releasing, destroying or handing over a quarantined item (first person)",
)
@allow(services.PROPOSE_OUTCOME, "proposing a quarantine outcome")
def propose_outcome(
    request: HttpRequest, payload: OutcomeIn, uid: Path[ItemUid]
) -> Status[RequestOut]:
    proposal = services.propose_quarantine_outcome(
        actor_of(request), uid, payload.outcome.value, payload.reason
    )
    return Status(201, request_out(proposal, proposal.status_at(proposal.proposed_at)))


@router.get(
    "/quarantine/requests",
    response={200: list[RequestOut], **ERRORS},
    summary="Quarantine outcome requests, newest first",
)
@allow(VIEW_ITEMS, "reading quarantine requests")
def list_requests(request: HttpRequest, query: Query[RequestQuery]) -> list[RequestOut]:
    _staff(request, "reading quarantine requests")
    return [request_out(r, status) for r, status in queries.quarantine_requests(query.status)]


@router.post(
    "/quarantine/requests/{request_id}/confirm",
    response={200: RequestOut, **ERRORS},
    summary="Confirm a proposed quarantine outcome (second person, security manager)",
)
@allow(services.CONFIRM_OUTCOME, "confirming a quarantine outcome")
def confirm_outcome(request: HttpRequest, request_id: Path[DbId]) -> RequestOut:
    confirmed = services.confirm_quarantine_outcome(actor_of(request), request_id)
    fresh = QuarantineRequest.objects.select_related("item").get(pk=confirmed.pk)
    return request_out(fresh, fresh.status_at(fresh.confirmed_at or fresh.proposed_at))
