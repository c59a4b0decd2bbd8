"""Findings: recorded by an assessor with notes and photos, or proposed by the automatic rules.

An assessor's finding starts confirmed (they saw it); an automatic one starts proposed until
someone confirms or dismisses it. A finalised assessment's findings are fixed."""

from __future__ import annotations

from django.db import transaction

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger, media
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.risk import questionnaire
from mailwarden.risk.models import (
    Assessment,
    Finding,
    FindingPhoto,
    FindingSource,
    FindingState,
)
from mailwarden.risk.permissions import MANAGE_RISK
from mailwarden.risk.rules import RunReport
from mailwarden.risk.services import rule_runs

MAX_TITLE = 200
MAX_NOTES = 10_000
MAX_CAPTION = 200
MAX_PHOTOS = 20
CONTENT_TYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "TIFF": "image/tiff",
    "BMP": "image/bmp",
    "GIF": "image/gif",
}


def _text(value: str, field: str, limit: int, *, required: bool = False) -> str:
    value = value.strip()
    if required and not value:
        raise ServiceError("must not be empty", field)
    if len(value) > limit:
        raise ServiceError(f"is {len(value)} characters; the limit is {limit}", field)
    return value


def _open_assessment(assessment: Assessment) -> None:
    if assessment.final:
        raise Conflict(
            f"assessment {assessment.title!r} is finalised; its findings are fixed", "assessment"
        )


def _locked_finding(finding_id: int) -> Finding:
    finding = (
        Finding.objects.select_for_update(of=("self",))
        .select_related("assessment")
        .filter(pk=finding_id)
        .first()
    )
    if finding is None:
        raise NotFound(f"no finding {finding_id}", "finding")
    return finding


def record_finding(
    actor: Actor, assessment_id: int, *, title: str, notes: str = "", threat: str = ""
) -> Finding:
    """An assessor's finding on a draft assessment, confirmed from the start."""
    require(actor, MANAGE_RISK, "recording a finding")
    clean_title = _text(title, "title", MAX_TITLE, required=True)
    clean_notes = _text(notes, "notes", MAX_NOTES)
    now = clock.now()
    with transaction.atomic():
        assessment = Assessment.objects.select_for_update().filter(pk=assessment_id).first()
        if assessment is None:
            raise NotFound(f"no assessment {assessment_id}", "assessment")
        _open_assessment(assessment)
        finding = Finding.objects.create(
            assessment=assessment,
            source=FindingSource.MANUAL,
            title=clean_title,
            notes=clean_notes,
            threat=questionnaire.template(assessment.template).check_threat(threat),
            state=FindingState.CONFIRMED,
            created_by=actor.label,
            created_at=now,
            updated_at=now,
        )
        ledger.append(
            actor,
            "risk.finding.recorded",
            "risk_finding",
            str(finding.pk),
            {
                "assessment": assessment.pk,
                "title": finding.title,
                "notes": finding.notes,
                "threat": finding.threat,
            },
        )
    return finding


def add_photo(actor: Actor, finding_id: int, data: bytes, caption: str = "") -> FindingPhoto:
    """A photo of a finding, checked by core.media.check_image (size and pixel limits)."""
    require(actor, MANAGE_RISK, "adding a photo to a finding")
    clean_caption = _text(caption, "caption", MAX_CAPTION)
    limits = get_settings().uploads
    checked = media.check_image(
        data, field="photo", max_bytes=limits.max_bytes, max_pixels=limits.max_pixels
    )
    now = clock.now()
    with transaction.atomic():
        finding = _locked_finding(finding_id)
        _open_assessment(finding.assessment)
        if finding.photos.count() >= MAX_PHOTOS:
            raise Conflict(f"a finding holds at most {MAX_PHOTOS} photos", "photo")
        digest = media.put(checked.data)
        photo = FindingPhoto.objects.create(
            finding=finding,
            sha256=digest,
            content_type=CONTENT_TYPES[checked.format],
            caption=clean_caption,
            added_by=actor.label,
            added_at=now,
        )
        finding.updated_at = now
        finding.save(update_fields=["updated_at"])
        ledger.append(
            actor,
            "risk.finding.photo_added",
            "risk_finding",
            str(finding.pk),
            {
                "photo": photo.pk,
                "sha256": digest,
                "width": checked.width,
                "height": checked.height,
                "caption": clean_caption,
            },
        )
    return photo


def set_finding_state(actor: Actor, finding_id: int, state: str, notes: str = "") -> Finding:
    """Confirm or dismiss a finding (a dismissed automatic finding stays dismissed on reruns).
    ``notes`` (why) are added to the finding's notes."""
    require(actor, MANAGE_RISK, "confirming or dismissing a finding")
    if state not in (FindingState.CONFIRMED, FindingState.DISMISSED):
        raise ServiceError("must be confirmed or dismissed", "state")
    target = FindingState(state)
    why = _text(notes, "notes", MAX_NOTES)
    now = clock.now()
    with transaction.atomic():
        finding = _locked_finding(finding_id)
        _open_assessment(finding.assessment)
        if finding.state == target:
            raise Conflict(f"the finding is already {target.label.lower()}", "state")
        before = finding.state
        finding.state = target
        if why:
            combined = f"{finding.notes}\n\n{why}" if finding.notes else why
            if len(combined) > MAX_NOTES:
                raise ServiceError(
                    f"the finding's notes would be {len(combined)} characters; "
                    f"the limit is {MAX_NOTES}",
                    "notes",
                )
            finding.notes = combined
        finding.updated_at = now
        finding.save(update_fields=["state", "notes", "updated_at"])
        action = (
            "risk.finding.confirmed"
            if target == FindingState.CONFIRMED
            else "risk.finding.dismissed"
        )
        ledger.append(
            actor,
            action,
            "risk_finding",
            str(finding.pk),
            {"from": before, "to": finding.state, "notes": why},
        )
    return finding


def run_rules(actor: Actor, assessment_id: int, only: list[str] | None = None) -> RunReport:
    """Run the automatic rules for the assessment's site and period; each proposal becomes (or
    updates) a finding. A rule that raises is in ``RunReport.failed`` and the others run."""
    return rule_runs.run_rules(actor, assessment_id, only)
