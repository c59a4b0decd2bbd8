"""Test data for the register, heatmap, report and diff tests, made through the ORM (clearly a
fixture, not the services) so these tests do not wait on the assessment and treatment services.

``GridMethod`` is a tiny likelihood x impact method registered under a test-only slug, standing
in for the real scoring methods while they are written beside this work.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.contrib.auth.models import User

from mailwarden.core import clock
from mailwarden.directory.models import Site
from mailwarden.risk.models import (
    Assessment,
    AssessmentState,
    Control,
    ControlStatus,
    Risk,
    RiskState,
    Treatment,
    TreatmentKind,
    TreatmentStatus,
)
from mailwarden.risk.scoring import method

GRID = "matrix"  # the shipped likelihood x impact matrix


def make_assessment(
    site: Site,
    *,
    title: str = "Mail room 2026",
    final: bool = False,
    previous: Assessment | None = None,
    size: int = 5,
    at: datetime | None = None,
) -> Assessment:
    now = at or clock.now()
    return Assessment.objects.create(
        site=site,
        title=title,
        template="mail-centre",
        method=GRID,
        method_params={"size": size},
        state=AssessmentState.FINAL if final else AssessmentState.DRAFT,
        previous=previous,
        period_start=now - timedelta(days=90),
        period_end=now,
        created_by="user:mona",
        created_at=now,
        finalised_by="user:mona" if final else "",
        finalised_at=now if final else None,
    )


def add_risk(
    assessment: Assessment,
    key: str,
    inherent: tuple[int, int] | None,
    residual: tuple[int, int] | None = None,
    *,
    title: str = "",
    state: str = RiskState.OPEN,
) -> Risk:
    scorer = method(assessment.method, assessment.method_params)
    now = clock.now()

    def scored(pair: tuple[int, int] | None) -> tuple[dict[str, int], float | None, str]:
        if pair is None:
            return {}, None, ""
        values = {"likelihood": pair[0], "impact": pair[1]}
        score = scorer.score(values)
        return values, score, scorer.level(score)

    inh, inh_score, inh_level = scored(inherent)
    res, res_score, res_level = scored(residual)
    return Risk.objects.create(
        assessment=assessment,
        key=key,
        title=title or key.replace("-", " ").capitalize(),
        inherent=inh,
        inherent_score=inh_score,
        inherent_level=inh_level,
        residual=res,
        residual_score=res_score,
        residual_level=res_level,
        state=state,
        created_at=now,
        updated_at=now,
    )


def add_control(site: Site, title: str, *, contradicted: bool = False) -> Control:
    now = clock.now()
    return Control.objects.create(
        site=site,
        title=title,
        claimed=ControlStatus.IMPLEMENTED,
        link_kind="training.course",
        link_ref="suspicious-mail",
        measure="training_compliance",
        expectation={"min": 0.95},
        last_evidence={"value": 0.5} if contradicted else {"value": 1.0},
        last_evaluated_at=now,
        contradicted=contradicted,
        created_by="user:mona",
        created_at=now,
        updated_at=now,
    )


def add_treatment(
    risk: Risk,
    owner: User,
    *,
    kind: str = TreatmentKind.MITIGATE,
    description: str = "Train every clerk",
    due: date,
    status: str = TreatmentStatus.PLANNED,
    control: Control | None = None,
    approved_by: User | None = None,
) -> Treatment:
    now = clock.now()
    return Treatment.objects.create(
        risk=risk,
        kind=kind,
        description=description,
        owner=owner,
        due=due,
        status=status,
        control=control,
        proposed_by=owner,
        approved_by=approved_by,
        approved_at=now if approved_by else None,
        created_at=now,
        updated_at=now,
    )
