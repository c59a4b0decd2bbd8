"""The demo's risk part: a finalised assessment, its re-assessment in progress with automatic
findings from the demo's own data, and controls measured against that data."""

from __future__ import annotations

import pytest

from mailwarden.core import clock, ledger
from mailwarden.core.demo import seed
from mailwarden.risk.models import (
    Assessment,
    AssessmentState,
    Control,
    Finding,
    FindingSource,
    TreatmentKind,
    TreatmentStatus,
)
from mailwarden.risk.queries.diff import diff
from mailwarden.risk.services import assessments, treatments

pytestmark = pytest.mark.django_db


def test_the_demo_has_a_finished_and_a_running_assessment_with_live_findings():
    # The training demo's 120 TIP images are not what this test is about.
    result = seed(items=40, recipients=12, seed=3, skip={"training"})

    summary = result.summary()
    assert "2 risk assessments" in summary and "automatic findings" in summary
    final, running = (
        Assessment.objects.get(state=AssessmentState.FINAL),
        Assessment.objects.get(state=AssessmentState.DRAFT),
    )
    assert running.previous == final and running.site == final.site
    assert final.period_end < running.period_end
    # The finalised one is complete and treated; its acceptance waits for a second manager.
    assert assessments.missing(final) == []
    planned = {t.kind: t.status for r in final.risks.all() for t in r.treatments.all()}
    assert planned[TreatmentKind.ACCEPT] == TreatmentStatus.PROPOSED
    assert planned[TreatmentKind.MITIGATE] == TreatmentStatus.PLANNED
    # The running one is half answered, so finalising it names what is missing.
    assert assessments.missing(running)
    automatic = Finding.objects.filter(assessment=running, source=FindingSource.AUTOMATIC)
    assert automatic.exists()
    assert all(f.evidence and f.suggested_treatment for f in automatic)
    # Controls measured against the demo's data: some hold, some are contradicted.
    measured = Control.objects.filter(site=final.site).exclude(last_evaluated_at=None)
    assert measured.count() == Control.objects.count() >= 5
    assert measured.filter(contradicted=True).exists()
    assert measured.filter(contradicted=False).exists()
    # One treatment fell due during the demo's history: its owner is alerted.
    assert treatments.alert_overdue(clock.now()) >= 1
    # The re-assessment starts from the finalised one's risks, so each is compared.
    compared = diff(running)
    assert compared.previous_id == final.pk
    assert len(compared.changes) == final.risks.count()
    assert ledger.verify().ok
