"""The register, the heatmap, what changed and the PDF on an assessment made through the real
services and scored by the real matrix method (skipped until those services are merged in)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.risk.queries.diff import Change, diff
from mailwarden.risk.queries.register import register
from mailwarden.risk.report import heatmap_of, report_pdf
from mailwarden.risk.services import assessments, treatments
from mailwarden.risk.services import register as risks
from tests.factories import ADMIN, make_site
from tests.risk import assessment_helpers as helpers
from tests.risk.test_reports import pdf_text

pytestmark = pytest.mark.django_db


def test_a_reassessment_made_by_the_services_reports_what_changed(frozen_clock) -> None:
    user = create_user(
        ADMIN,
        "mona",
        password="Correct-Horse-9-Battery",
        roles=[Role.SECURITY_MANAGER.value],
        check_password=False,
    )
    mona = Actor.for_user(user)
    make_site()
    first = assessments.create_assessment(mona, site="hq", title="Assessment 2025")
    helpers.complete(mona, first)  # every risk scored likelihood 2, impact 2
    second = assessments.create_assessment(mona, site="hq", title="Assessment 2026")
    assert second.previous_id == first.pk
    up, down, gone, *_ = list(second.risks.order_by("key"))
    risks.score_risk(mona, up.pk, inherent={"likelihood": 5, "impact": 4})
    risks.score_risk(mona, down.pk, inherent={"likelihood": 1, "impact": 1})
    risks.close_risk(mona, gone.pk, "The loading bay was walled up")
    new = risks.add_risk(mona, second.pk, title="Drone drop over the wall")
    treatments.plan_treatment(
        mona,
        up.pk,
        kind="mitigate",
        description="Anti-tailgating turnstile",
        owner="mona",
        due=clock.now().date() + timedelta(days=30),
    )

    changes = {c.key: c.change for c in diff(second).changes}
    assert changes[up.key] == Change.UP
    assert changes[down.key] == Change.DOWN
    assert changes[gone.key] == Change.CLOSED
    assert changes[new.key] == Change.NEW
    rows = register(second)
    assert rows[0].key == up.key and rows[0].inherent_level == "critical"
    assert rows[0].treatments[0].owner == "mona"
    assert 'data-count="1" data-level="critical"' in heatmap_of(second)
    text = pdf_text(report_pdf(second))
    assert "Anti-tailgating turnstile" in text
    assert "1 up, 1 down, 1 new, 1 closed" in text
