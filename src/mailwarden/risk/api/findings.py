"""The risk API: findings. Security managers record them, add photos, confirm and dismiss;
auditors read them and their photos."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Path, Query, Router, Status
from ninja.files import UploadedFile

from mailwarden.core.api import ERRORS, actor_of, allow, upload_bytes
from mailwarden.risk.permissions import MANAGE_RISK, VIEW_RISK
from mailwarden.risk.queries import findings as queries
from mailwarden.risk.schemas_findings import (
    FindingRowId,
    RiskFindingFilters,
    RiskFindingIn,
    RiskFindingOut,
    RiskFindingPhotoIn,
    RiskFindingPhotoOut,
    RiskFindingStateIn,
    finding_out,
    photo_out,
)
from mailwarden.risk.services import findings as services

router = Router()


@router.get(
    "/risk/assessments/{assessment_id}/findings",
    response={200: list[RiskFindingOut], **ERRORS},
    summary="An assessment's findings, newest first (recorded and automatic)",
)
@allow(VIEW_RISK, "viewing findings")
def list_findings(
    request: HttpRequest, assessment_id: Path[FindingRowId], filters: Query[RiskFindingFilters]
) -> list[RiskFindingOut]:
    rows = queries.findings(
        assessment_id,
        source=filters.source.value if filters.source else None,
        state=filters.state.value if filters.state else None,
    )
    return [finding_out(f) for f in rows]


@router.post(
    "/risk/assessments/{assessment_id}/findings",
    response={201: RiskFindingOut, **ERRORS},
    summary="Record a finding seen on the assessment (confirmed from the start)",
)
@allow(MANAGE_RISK, "recording a finding")
def record_finding(
    request: HttpRequest, assessment_id: Path[FindingRowId], payload: RiskFindingIn
) -> Status[RiskFindingOut]:
    finding = services.record_finding(
        actor_of(request),
        assessment_id,
        title=payload.title,
        notes=payload.notes,
        threat=payload.threat,
    )
    return Status(201, finding_out(queries.finding(finding.pk)))


@router.get(
    "/risk/findings/{finding_id}",
    response={200: RiskFindingOut, **ERRORS},
    summary="A finding with its evidence and photos",
)
@allow(VIEW_RISK, "viewing a finding")
def get_finding(request: HttpRequest, finding_id: Path[FindingRowId]) -> RiskFindingOut:
    return finding_out(queries.finding(finding_id))


@router.post(
    "/risk/findings/{finding_id}/state",
    response={200: RiskFindingOut, **ERRORS},
    summary="Confirm or dismiss a finding (a dismissed automatic one stays dismissed)",
)
@allow(MANAGE_RISK, "confirming or dismissing a finding")
def set_state(
    request: HttpRequest, finding_id: Path[FindingRowId], payload: RiskFindingStateIn
) -> RiskFindingOut:
    services.set_finding_state(actor_of(request), finding_id, payload.state.value, payload.notes)
    return finding_out(queries.finding(finding_id))


@router.post(
    "/risk/findings/{finding_id}/photos",
    response={201: RiskFindingPhotoOut, **ERRORS},
    summary="Add a photo to a finding (a multipart form: photo, and an optional caption)",
)
@allow(MANAGE_RISK, "adding a photo to a finding")
def add_photo(
    request: HttpRequest,
    finding_id: Path[FindingRowId],
    photo: File[UploadedFile],
    payload: Form[RiskFindingPhotoIn],
) -> Status[RiskFindingPhotoOut]:
    data = upload_bytes(photo, "photo")
    stored = services.add_photo(actor_of(request), finding_id, data, caption=payload.caption)
    return Status(201, photo_out(stored))


def _binary(description: str) -> dict[str, object]:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {"image/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


@router.get(
    "/risk/findings/{finding_id}/photos/{photo_id}",
    response=ERRORS,
    summary="A finding's photo, as it was stored",
    openapi_extra=_binary("The photo"),
)
@allow(VIEW_RISK, "viewing a finding's photo")
def get_photo(
    request: HttpRequest, finding_id: Path[FindingRowId], photo_id: Path[FindingRowId]
) -> HttpResponse:
    found = queries.photo(finding_id, photo_id)
    response = HttpResponse(found.data, content_type=found.photo.content_type)
    response["Content-Disposition"] = (
        f'inline; filename="finding-{finding_id}-photo-{photo_id}.{found.extension}"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    return response
