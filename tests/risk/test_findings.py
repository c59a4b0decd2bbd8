"""An assessor's findings: recorded with notes, photos checked like every other upload (size,
pixels, a real image), confirmed or dismissed, and fixed once the assessment is finalised."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from mailwarden.core import ledger, media
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.risk.models import Finding, FindingPhoto, FindingSource, FindingState
from mailwarden.risk.services import findings
from tests.factories import AUDITOR, CLERK, MANAGER
from tests.risk import treatment_fixtures
from tests.risk.treatment_fixtures import Office, finalise

office = treatment_fixtures.office
upload_limits = treatment_fixtures.upload_limits


def jpeg(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "grey").save(out, format="JPEG")
    return out.getvalue()


def _record(o: Office, **kw: str) -> Finding:
    values = {"title": "Side door propped open with a wedge", "notes": "Seen at 07:40", **kw}
    return findings.record_finding(MANAGER, o.assessment.pk, **values)


def test_an_assessors_finding_is_confirmed_and_in_the_ledger(office):
    finding = _record(office, threat="unauthorised-access")
    assert (finding.source, finding.state, finding.threat, finding.created_by) == (
        FindingSource.MANUAL,
        FindingState.CONFIRMED,
        "unauthorised-access",
        "user:manager",
    )
    [entry] = ledger.entries_for("risk_finding", str(finding.pk))
    assert entry.action == "risk.finding.recorded"
    assert ledger.entry_data(entry)["notes"] == "Seen at 07:40"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"notes": "x" * 10_001}, "notes"),
        ({"threat": "Not A Key!"}, "threat"),
        ({"threat": "martians"}, "threat"),
    ],
)
def test_bad_findings_name_the_field_and_change_nothing(office, changes, field):
    with pytest.raises(ServiceError) as refused:
        _record(office, **changes)
    assert refused.value.field == field
    assert not Finding.objects.exists()


def test_who_may_record_and_where(office):
    for who in (AUDITOR, CLERK):
        with pytest.raises(Forbidden):
            findings.record_finding(who, office.assessment.pk, title="x")
    with pytest.raises(NotFound) as missing:
        findings.record_finding(MANAGER, 99999, title="x")
    assert missing.value.field == "assessment"
    finalise(office.assessment)
    with pytest.raises(Conflict, match="finalised") as fixed:
        _record(office)
    assert fixed.value.field == "assessment"


def test_a_photo_is_stored_with_its_type_and_caption(office):
    finding = _record(office)
    data = jpeg()
    photo = findings.add_photo(MANAGER, finding.pk, data, caption="The wedge")
    assert (photo.content_type, photo.caption, photo.added_by) == (
        "image/jpeg",
        "The wedge",
        "user:manager",
    )
    assert media.get(photo.sha256) == data
    entry = ledger.entries_for("risk_finding", str(finding.pk))[-1]
    assert entry.action == "risk.finding.photo_added"
    assert ledger.entry_data(entry)["width"] == 64


def test_photos_are_checked_before_anything_is_stored(office, upload_limits):
    finding = _record(office)
    with pytest.raises(ServiceError, match="not a readable image") as junk:
        findings.add_photo(MANAGER, finding.pk, b"not an image at all")
    assert junk.value.field == "photo"
    with pytest.raises(ServiceError, match="empty"):
        findings.add_photo(MANAGER, finding.pk, b"")
    upload_limits.max_pixels = 1_000_000
    with pytest.raises(ServiceError, match="pixels") as pixels:
        findings.add_photo(MANAGER, finding.pk, jpeg(2000, 1000))
    assert pixels.value.field == "photo"
    upload_limits.max_bytes = 100
    with pytest.raises(ServiceError, match="bytes"):
        findings.add_photo(MANAGER, finding.pk, jpeg())
    upload_limits.max_bytes = 10**7
    with pytest.raises(ServiceError) as caption:
        findings.add_photo(MANAGER, finding.pk, jpeg(), caption="x" * 201)
    assert caption.value.field == "caption"
    with pytest.raises(Forbidden):
        findings.add_photo(AUDITOR, finding.pk, jpeg())
    with pytest.raises(NotFound) as missing:
        findings.add_photo(MANAGER, 99999, jpeg())
    assert missing.value.field == "finding"
    assert not FindingPhoto.objects.exists()


def test_a_finding_holds_a_bounded_number_of_photos(office):
    finding = _record(office)
    for n in range(findings.MAX_PHOTOS):
        findings.add_photo(MANAGER, finding.pk, jpeg(8 + n, 8))
    with pytest.raises(Conflict):
        findings.add_photo(MANAGER, finding.pk, jpeg())


def test_confirm_and_dismiss_with_the_reason_kept(office):
    finding = _record(office)
    dismissed = findings.set_finding_state(
        MANAGER, finding.pk, "dismissed", notes="The wedge belongs to the cleaners' cupboard"
    )
    assert dismissed.state == FindingState.DISMISSED
    assert dismissed.notes == "Seen at 07:40\n\nThe wedge belongs to the cleaners' cupboard"
    with pytest.raises(Conflict, match="already dismissed"):
        findings.set_finding_state(MANAGER, finding.pk, "dismissed")
    confirmed = findings.set_finding_state(MANAGER, finding.pk, "confirmed")
    assert confirmed.state == FindingState.CONFIRMED
    actions = [e.action for e in ledger.entries_for("risk_finding", str(finding.pk))]
    assert actions == ["risk.finding.recorded", "risk.finding.dismissed", "risk.finding.confirmed"]


def test_bad_state_changes_are_refused(office):
    finding = _record(office)
    with pytest.raises(ServiceError) as state:
        findings.set_finding_state(MANAGER, finding.pk, "proposed")
    assert state.value.field == "state"
    with pytest.raises(Forbidden):
        findings.set_finding_state(AUDITOR, finding.pk, "dismissed")
    finalise(office.assessment)
    with pytest.raises(Conflict, match="finalised"):
        findings.set_finding_state(MANAGER, finding.pk, "dismissed")
    with pytest.raises(Conflict, match="finalised"):
        findings.add_photo(MANAGER, finding.pk, jpeg())
    assert Finding.objects.get(pk=finding.pk).state == FindingState.CONFIRMED
