"""The controls API's request and response shapes, bounded like their columns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, Schema

from mailwarden.core.api import Input, IsoDateTime
from mailwarden.directory.schemas import SiteCode
from mailwarden.risk.models import ControlStatus
from mailwarden.risk.queries.controls import ControlRow

MAX_DB_INT = 2**31 - 1
RiskControlId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
Expectation = dict[str, float]
EXPECTATION_HELP = 'Bounds on the measured value: {"min": x} and/or {"max": y}.'


class RiskControlIn(Input):
    site: SiteCode = Field(description="The code of the site that relies on the control.")
    title: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=4000)
    claimed: ControlStatus = Field(
        ControlStatus.IMPLEMENTED, description="What the site claims about the control."
    )
    link_kind: str = Field(
        "", max_length=40, description="What implements it (GET /api/risk/controls/link-kinds)."
    )
    link_ref: str = Field("", max_length=120, description="The linked object's reference.")
    measure: str = Field(
        "", max_length=60, description="The evidence measure (GET /api/risk/controls/measures)."
    )
    expectation: Expectation | None = Field(
        None, description=EXPECTATION_HELP + " Defaults to the measure's."
    )


class RiskControlPatch(Input):
    """Only the fields given are changed."""

    title: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=4000)
    claimed: ControlStatus | None = None
    link_kind: str | None = Field(None, max_length=40)
    link_ref: str | None = Field(None, max_length=120)
    measure: str | None = Field(None, max_length=60)
    expectation: Expectation | None = Field(
        None, description=EXPECTATION_HELP + " null: the measure's default."
    )


class RiskPeriodIn(Input):
    start: IsoDateTime | None = Field(None, description="Defaults to 30 days before the end.")
    end: IsoDateTime | None = Field(None, description="Defaults to now.")


class RiskSitePeriodIn(RiskPeriodIn):
    site: SiteCode = Field(description="The code of the site whose controls are evaluated.")


class RiskControlFilters(Input):
    site: SiteCode | None = None
    contradicted: bool | None = Field(None, description="Only the flagged (or unflagged) ones.")


class RiskEvidenceOut(Schema):
    value: float | None = Field(description="The measured value; null: nothing to measure.")
    unit: str
    summary: str
    detail: dict[str, Any]
    expectation: Expectation
    meets: bool | None = Field(description="Whether the value meets the expectation.")
    start: datetime
    end: datetime
    error: bool = Field(False, description="The measure failed; the value says nothing.")


class RiskControlOut(Schema):
    id: int
    site: str
    title: str
    description: str
    claimed: ControlStatus
    link_kind: str
    link_ref: str
    link_label: str = Field(description="The linked object, in words; empty when none or gone.")
    link_url: str = Field(description="The linked object's console page.")
    measure: str
    measure_title: str
    expectation: Expectation
    evidence: RiskEvidenceOut | None = Field(description="The last evaluation's evidence.")
    last_evaluated_at: datetime | None
    contradicted: bool = Field(description="Claimed in force, and the evidence falls short.")
    created_by: str
    created_at: datetime
    updated_at: datetime


class RiskMeasureOut(Schema):
    slug: str
    title: str
    unit: str
    default_expectation: Expectation
    ref_kind: str = Field(description="The link kind whose reference narrows the measure.")
    description: str


class RiskLinkKindOut(Schema):
    slug: str
    title: str
    ref_hint: str = Field(description="What the reference is; empty when the kind takes none.")


def evidence_out(evidence: dict[str, Any]) -> RiskEvidenceOut | None:
    if not evidence:
        return None
    return RiskEvidenceOut(
        value=evidence.get("value"),
        unit=str(evidence.get("unit", "")),
        summary=str(evidence.get("summary", "")),
        detail=dict(evidence.get("detail") or {}),
        expectation=dict(evidence.get("expectation") or {}),
        meets=evidence.get("meets"),
        start=datetime.fromisoformat(evidence["start"]),
        end=datetime.fromisoformat(evidence["end"]),
        error=bool(evidence.get("error", False)),
    )


def control_out(row: ControlRow) -> RiskControlOut:
    control = row.control
    return RiskControlOut(
        id=control.pk,
        site=control.site.code,
        title=control.title,
        description=control.description,
        claimed=ControlStatus(control.claimed),
        link_kind=control.link_kind,
        link_ref=control.link_ref,
        link_label=row.linked.label if row.linked else "",
        link_url=row.linked.url if row.linked else "",
        measure=control.measure,
        measure_title=row.measure_title,
        expectation=dict(control.expectation),
        evidence=evidence_out(control.last_evidence),
        last_evaluated_at=control.last_evaluated_at,
        contradicted=control.contradicted,
        created_by=control.created_by,
        created_at=control.created_at,
        updated_at=control.updated_at,
    )
