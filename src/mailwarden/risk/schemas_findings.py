"""The findings API's request and response shapes, bounded like their columns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from mailwarden.core.api import Input
from mailwarden.risk.models import Finding, FindingPhoto, FindingSource, FindingState
from mailwarden.risk.services.findings import MAX_CAPTION, MAX_NOTES, MAX_TITLE

MAX_DB_INT = 2**31 - 1
FindingRowId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]


class RiskFindingIn(Input):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    notes: str = Field("", max_length=MAX_NOTES)
    threat: str = Field(
        "", max_length=60, description="The template's threat this finding bears on (its key)."
    )


class RiskFindingStateIn(Input):
    state: FindingState = Field(description="confirmed or dismissed.")
    notes: str = Field("", max_length=MAX_NOTES, description="Why; added to the notes.")


class RiskFindingPhotoIn(Input):
    caption: str = Field("", max_length=MAX_CAPTION)


class RiskFindingFilters(Input):
    source: FindingSource | None = None
    state: FindingState | None = None


class RiskFindingPhotoOut(Schema):
    id: int
    content_type: str
    caption: str
    added_by: str
    added_at: datetime
    url: str = Field(description="Where the API sends the photo.")


class RiskFindingOut(Schema):
    id: int
    assessment: int
    site: str
    source: FindingSource
    rule: str
    subject: str
    title: str
    notes: str
    evidence: dict[str, Any]
    suggested_treatment: str
    threat: str
    state: FindingState
    created_by: str
    created_at: datetime
    updated_at: datetime
    photos: list[RiskFindingPhotoOut]


def photo_out(photo: FindingPhoto) -> RiskFindingPhotoOut:
    return RiskFindingPhotoOut(
        id=photo.pk,
        content_type=photo.content_type,
        caption=photo.caption,
        added_by=photo.added_by,
        added_at=photo.added_at,
        url=f"/api/risk/findings/{photo.finding_id}/photos/{photo.pk}",
    )


def finding_out(f: Finding) -> RiskFindingOut:
    return RiskFindingOut(
        id=f.pk,
        assessment=f.assessment_id,
        site=f.assessment.site.code,
        source=FindingSource(f.source),
        rule=f.rule,
        subject=f.subject,
        title=f.title,
        notes=f.notes,
        evidence=dict(f.evidence or {}),
        suggested_treatment=f.suggested_treatment,
        threat=f.threat,
        state=FindingState(f.state),
        created_by=f.created_by,
        created_at=f.created_at,
        updated_at=f.updated_at,
        photos=[photo_out(p) for p in f.photos.all()],
    )
