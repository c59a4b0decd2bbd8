"""The register: adding risks, scoring them inherent and residual by the assessment's method,
closing them, and the refusals that name the field."""

from __future__ import annotations

import pytest

from mailwarden.core import ledger
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.risk.models import Finding, FindingSource, RiskState
from mailwarden.risk.services import assessments, register
from tests.factories import AUDITOR, MANAGER, make_site

pytestmark = pytest.mark.django_db


@pytest.fixture
def assessment(frozen_clock):
    site = make_site("hq")
    return assessments.create_assessment(MANAGER, site=site.code, title="Walk")


def _carver(value: int) -> dict[str, int]:
    keys = ("criticality", "accessibility", "recuperability", "vulnerability", "effect")
    return {**dict.fromkeys(keys, value), "recognisability": value}


def test_a_risk_is_added_with_a_key_made_from_its_title(assessment):
    risk = register.add_risk(
        MANAGER,
        assessment.pk,
        title="Flooded basement sorting room",
        description="The sorting room floods in heavy rain.",
        threat="disruption",
    )
    assert risk.key == "flooded-basement-sorting-room"
    assert risk.state == RiskState.OPEN
    assert risk.inherent_score is None
    [entry] = ledger.entries_for("risk", str(risk.pk))
    assert entry.action == "risk.risk.added"
    assert ledger.entry_data(entry)["assessment"] == assessment.pk


def test_a_risk_can_come_from_a_finding_of_the_same_assessment(assessment, frozen_clock):
    finding = Finding.objects.create(
        assessment=assessment,
        source=FindingSource.MANUAL,
        title="Back door propped open",
        threat="unauthorised-access",
        created_by=MANAGER.label,
        created_at=frozen_clock(),
        updated_at=frozen_clock(),
    )
    risk = register.add_risk(
        MANAGER, assessment.pk, title="Propped back door", key="back-door", finding_id=finding.pk
    )
    assert risk.finding == finding
    assert risk.threat == "unauthorised-access"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "Flood", "key": "Not A Slug"}, "key"),
        ({"title": "!!!"}, "key"),
        ({"title": "Flood", "threat": "meteor"}, "threat"),
        ({"title": "Flood", "finding_id": 999}, "finding_id"),
    ],
)
def test_bad_risks_are_refused_naming_the_field(assessment, kw, field):
    with pytest.raises(ServiceError) as err:
        register.add_risk(MANAGER, assessment.pk, **kw)
    assert err.value.field == field


def test_a_key_is_used_once_per_assessment(assessment):
    with pytest.raises(Conflict) as err:
        register.add_risk(MANAGER, assessment.pk, title="Insider", key="insider")
    assert err.value.field == "key"


def test_an_unknown_assessment_or_risk_is_not_found(assessment):
    with pytest.raises(NotFound):
        register.add_risk(MANAGER, 9999, title="Flood")
    with pytest.raises(NotFound):
        register.score_risk(MANAGER, 9999, inherent={"likelihood": 1, "impact": 1})
    with pytest.raises(NotFound):
        register.close_risk(MANAGER, 9999, "gone")


def test_auditors_read_but_do_not_change_the_register(assessment):
    risk = assessment.risks.first()
    with pytest.raises(Forbidden):
        register.add_risk(AUDITOR, assessment.pk, title="Flood")
    with pytest.raises(Forbidden):
        register.score_risk(AUDITOR, risk.pk, inherent={"likelihood": 1, "impact": 1})
    with pytest.raises(Forbidden):
        register.close_risk(AUDITOR, risk.pk, "gone")


# ----------------------------------------------------------------------------- scoring


def test_inherent_and_residual_are_scored_by_the_assessment_method(assessment):
    risk = assessment.risks.get(key="insider")
    risk = register.score_risk(
        MANAGER,
        risk.pk,
        inherent={"likelihood": 4, "impact": 5},
        residual={"likelihood": 2, "impact": 3},
    )
    assert (risk.inherent_score, risk.inherent_level) == (20, "critical")
    assert (risk.residual_score, risk.residual_level) == (6, "medium")
    [entry] = [e for e in ledger.entries_for("risk", str(risk.pk))]
    assert entry.action == "risk.risk.scored"
    assert ledger.entry_data(entry)["inherent_level"] == "critical"


def test_a_side_left_out_keeps_its_values(assessment):
    risk = assessment.risks.get(key="insider")
    register.score_risk(MANAGER, risk.pk, inherent={"likelihood": 4, "impact": 5})
    risk = register.score_risk(MANAGER, risk.pk, residual={"likelihood": 1, "impact": 1})
    assert risk.inherent_score == 20
    assert risk.residual_score == 1


def test_partial_values_are_kept_unscored_until_complete(assessment):
    risk = assessment.risks.get(key="theft")
    risk = register.score_risk(MANAGER, risk.pk, inherent={"likelihood": 3})
    assert risk.inherent == {"likelihood": 3}
    assert risk.inherent_score is None and risk.inherent_level == ""


def test_another_method_scores_by_its_own_factors(assessment):
    assessments.set_method(MANAGER, assessment.pk, "carver")
    risk = assessment.risks.get(key="theft")
    risk = register.score_risk(MANAGER, risk.pk, inherent=_carver(9))
    assert (risk.inherent_score, risk.inherent_level) == (54, "critical")
    with pytest.raises(ServiceError) as err:
        register.score_risk(MANAGER, risk.pk, inherent={"likelihood": 3})
    assert err.value.field == "inherent.likelihood"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"inherent": {"likelihood": 6, "impact": 1}}, "inherent.likelihood"),
        ({"inherent": {"likelihood": 1, "impact": 0}}, "inherent.impact"),
        ({"residual": {"likelihood": True, "impact": 1}}, "residual.likelihood"),
        ({"residual": {"likelihood": "2", "impact": 1}}, "residual.likelihood"),
        ({"residual": {"threat": 2}}, "residual.threat"),
        ({}, "inherent"),
    ],
)
def test_bad_factor_values_name_the_side_and_factor(assessment, kw, field):
    risk = assessment.risks.get(key="theft")
    with pytest.raises(ServiceError) as err:
        register.score_risk(MANAGER, risk.pk, **kw)
    assert err.value.field == field
    risk.refresh_from_db()
    assert risk.inherent == {} and risk.residual == {}


def test_the_matrix_size_bounds_the_factors(frozen_clock):
    site = make_site("annex")
    small = assessments.create_assessment(
        MANAGER, site=site.code, title="Walk", method_params={"size": 3}
    )
    risk = small.risks.get(key="theft")
    with pytest.raises(ServiceError) as err:
        register.score_risk(MANAGER, risk.pk, inherent={"likelihood": 4, "impact": 1})
    assert err.value.field == "inherent.likelihood"
    risk = register.score_risk(MANAGER, risk.pk, inherent={"likelihood": 3, "impact": 3})
    assert risk.inherent_level == "critical"


# ----------------------------------------------------------------------------- closing


def test_a_closed_risk_is_no_longer_scored(assessment):
    risk = assessment.risks.get(key="theft")
    risk = register.close_risk(MANAGER, risk.pk, "no valuables are handled here")
    assert risk.state == RiskState.CLOSED
    entry = ledger.entries_for("risk", str(risk.pk))[-1]
    assert entry.action == "risk.risk.closed"
    assert ledger.entry_data(entry)["reason"] == "no valuables are handled here"
    with pytest.raises(Conflict):
        register.close_risk(MANAGER, risk.pk, "again")
    with pytest.raises(Conflict):
        register.score_risk(MANAGER, risk.pk, inherent={"likelihood": 1, "impact": 1})


def test_closing_needs_a_reason(assessment):
    risk = assessment.risks.get(key="theft")
    with pytest.raises(ServiceError) as err:
        register.close_risk(MANAGER, risk.pk, " ")
    assert err.value.field == "reason"
