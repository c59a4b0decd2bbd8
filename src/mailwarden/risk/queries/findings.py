"""Read-side queries on findings and their photos."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from mailwarden.core import media
from mailwarden.core.errors import NotFound
from mailwarden.risk.models import Assessment, Finding, FindingPhoto


def _base() -> QuerySet[Finding]:
    return Finding.objects.select_related("assessment__site").prefetch_related("photos")


def findings(
    assessment_id: int, *, source: str | None = None, state: str | None = None
) -> list[Finding]:
    """An assessment's findings, newest first."""
    if not Assessment.objects.filter(pk=assessment_id).exists():
        raise NotFound(f"no assessment {assessment_id}", "assessment")
    found = _base().filter(assessment_id=assessment_id)
    if source:
        found = found.filter(source=source)
    if state:
        found = found.filter(state=state)
    return list(found.order_by("-created_at", "-id"))


def finding(finding_id: int) -> Finding:
    found = _base().filter(pk=finding_id).first()
    if found is None:
        raise NotFound(f"no finding {finding_id}", "finding")
    return found


@dataclass(frozen=True)
class PhotoFile:
    photo: FindingPhoto
    data: bytes

    @property
    def extension(self) -> str:
        return self.photo.content_type.split("/")[-1].replace("jpeg", "jpg")


def photo(finding_id: int, photo_id: int) -> PhotoFile:
    """One photo of a finding with its bytes from the media store."""
    found = FindingPhoto.objects.filter(pk=photo_id, finding_id=finding_id).first()
    if found is None:
        raise NotFound(f"finding {finding_id} has no photo {photo_id}", "photo")
    try:
        data = media.get(found.sha256)
    except FileNotFoundError:
        raise NotFound(f"photo {photo_id} is missing from the media store", "photo") from None
    return PhotoFile(found, data)
