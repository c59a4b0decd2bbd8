"""Request and response shapes of the screening API.

Inputs are bounded like the columns and rules they land in, so a bad value is refused naming
its field before any service runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from ninja import Field, Schema

from mailwarden.core.api import Input
from mailwarden.custody.schemas import MAX_DB_INT
from mailwarden.custody.states import State
from mailwarden.directory.schemas import MAX_DB_ID, SLUG, SiteCode
from mailwarden.screening import queries
from mailwarden.screening.imaging import COLOUR_VIEWS, View
from mailwarden.screening.models import (
    Decision,
    DecisionStatus,
    Outcome,
    QuarantineRequest,
    RequestStatus,
    Scan,
    ScanFormat,
    ScanKind,
    ScanSource,
)
from mailwarden.screening.policy import MAX_THRESHOLD, MAX_WEIGHT, Action, Tier
from mailwarden.screening.services import MAX_CONFIRM_MINUTES, MAX_LIST, SitePolicyView

DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
IndicatorCode = Annotated[str, Field(min_length=1, max_length=40, pattern=SLUG)]
RegionClass = Literal["explosive", "ied", "knife", "gun", "shielded", "powder"]
Weight = Annotated[int, Field(ge=0, le=MAX_WEIGHT)]
Threshold = Annotated[int, Field(ge=1, le=MAX_THRESHOLD)]
EmployeeId = Annotated[str, Field(min_length=1, max_length=40)]
Department = Annotated[str, Field(min_length=1, max_length=120)]


# ----------------------------------------------------------------------------- indicators


class IndicatorOut(Schema):
    code: str
    label: str
    description: str
    default_weight: int
    weight: int = Field(description="The weight at the site asked for (the default without one).")


class IndicatorQuery(Input):
    site: SiteCode | None = None


# ----------------------------------------------------------------------------- policy


class PolicyOut(Schema):
    site: str
    version: int = Field(description="0 while the site uses the defaults.")
    customised: bool
    indicator_weights: dict[str, int]
    elevated_at: int
    high_at: int
    critical_at: int
    xray_tiers: dict[str, Tier]
    xray_min_score: float
    recipient_risk_weight: int
    high_risk_employee_ids: list[str]
    high_risk_departments: list[str]
    actions: dict[Tier, Action]
    confirm_within_minutes: int


class PolicyIn(Input):
    """Only the parts given change."""

    indicator_weights: dict[IndicatorCode, Weight] | None = Field(None, max_length=100)
    elevated_at: Threshold | None = None
    high_at: Threshold | None = None
    critical_at: Threshold | None = None
    xray_tiers: dict[RegionClass, Tier] | None = None
    xray_min_score: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    recipient_risk_weight: Weight | None = None
    high_risk_employee_ids: list[EmployeeId] | None = Field(None, max_length=MAX_LIST)
    high_risk_departments: list[Department] | None = Field(None, max_length=MAX_LIST)
    actions: dict[Tier, Action] | None = None
    confirm_within_minutes: Annotated[int, Field(ge=1, le=MAX_CONFIRM_MINUTES)] | None = None
    expected_version: Annotated[int, Field(ge=0, le=MAX_DB_INT)] | None = None


def policy_out(view: SitePolicyView) -> PolicyOut:
    p = view.policy
    return PolicyOut(
        site=view.site.code,
        version=view.version,
        customised=view.customised,
        indicator_weights=dict(p.indicator_weights),
        elevated_at=p.elevated_at,
        high_at=p.high_at,
        critical_at=p.critical_at,
        xray_tiers=dict(p.xray_tiers),
        xray_min_score=p.xray_min_score,
        recipient_risk_weight=p.recipient_risk_weight,
        high_risk_employee_ids=list(view.high_risk_employee_ids),
        high_risk_departments=list(view.high_risk_departments),
        actions=dict(p.actions),
        confirm_within_minutes=view.confirm_within_minutes,
    )


# ----------------------------------------------------------------------------- scans


class RegionOut(Schema):
    cls: str = Field(description="Threat class: explosive, ied, knife, gun, shielded, powder.")
    score: float
    reason: str
    bbox: list[int] = Field(description="row0, col0, row1, col1 (exclusive), in image pixels.")
    area_cm2: float | None
    features: dict[str, float | None]


class ScanOut(Schema):
    id: int
    uid: str
    kind: ScanKind
    format: ScanFormat
    source: ScanSource
    width: int
    height: int
    file_sha256: str
    high_sha256: str
    low_sha256: str
    rendered_sha256: str
    filename: str
    regions: list[RegionOut]
    max_score: float
    taken_by: str
    created_at: datetime
    views: list[View] = Field(description="The operator views this scan can be drawn in.")


def scan_out(scan: Scan) -> ScanOut:
    views = [v for v in View if scan.kind == ScanKind.PAIR or v in COLOUR_VIEWS]
    return ScanOut(
        id=scan.pk,
        uid=scan.item.uid,
        kind=ScanKind(scan.kind),
        format=ScanFormat(scan.format),
        source=ScanSource(scan.source),
        width=scan.width,
        height=scan.height,
        file_sha256=scan.file_sha256,
        high_sha256=scan.high_sha256,
        low_sha256=scan.low_sha256,
        rendered_sha256=scan.rendered_sha256,
        filename=scan.filename,
        regions=[RegionOut(**r) for r in scan.regions],
        max_score=scan.max_score,
        taken_by=scan.taken_by,
        created_at=scan.created_at,
        views=views,
    )


class ViewQuery(Input):
    level: Annotated[float, Field(ge=0.0, le=1.0)] = Field(
        0.5, description="variable_density only: 0 shows the thinnest layers, 1 the densest."
    )


# ----------------------------------------------------------------------------- decisions


class ChecklistIn(Input):
    indicators: list[IndicatorCode] = Field(default_factory=list, max_length=50)
    notes: str = Field("", max_length=2000)
    raise_to: Tier | None = Field(None, description="Raise the tier; it is never lowered.")
    seconds_on_item: int | None = Field(
        None, ge=0, le=86_400, description="How long the screener looked at the item."
    )
    confirm_findings: bool = Field(
        False,
        description="Needed to clear (raise_to unset) an item whose X-ray has a high or critical "
        "finding: the screener has seen it, and what clearing will do. Refused (400) without.",
    )


class DecisionOut(Schema):
    id: int
    uid: str
    item_state: State
    tier: Tier
    action: Action
    status: DecisionStatus
    points: int
    indicators: list[str]
    reasons: list[str]
    scan_ids: list[int]
    image_hashes: list[str]
    high_risk_recipient: str
    raised_to: str
    notes: str
    seconds_on_item: int | None
    screener: str
    decided_at: datetime
    confirmed_by: str
    confirmed_at: datetime | None


def decision_out(decision: Decision) -> DecisionOut:
    return DecisionOut(
        id=decision.pk,
        uid=decision.item.uid,
        item_state=State(decision.item.state),
        tier=Tier(decision.tier),
        action=Action(decision.action),
        status=DecisionStatus(decision.status),
        points=decision.points,
        indicators=list(decision.indicators),
        reasons=list(decision.reasons),
        scan_ids=list(decision.scan_ids),
        image_hashes=list(decision.image_hashes),
        high_risk_recipient=decision.high_risk_recipient,
        raised_to=decision.raised_to,
        notes=decision.notes,
        seconds_on_item=decision.seconds_on_item,
        screener=decision.screener,
        decided_at=decision.decided_at,
        confirmed_by=decision.confirmed_by,
        confirmed_at=decision.confirmed_at,
    )


class PendingQuery(Input):
    site: SiteCode | None = None


# ----------------------------------------------------------------------------- quarantine


class OutcomeIn(Input):
    outcome: Outcome
    reason: str = Field(min_length=1, max_length=2000)


class RequestOut(Schema):
    id: int
    uid: str
    outcome: Outcome
    reason: str
    status: RequestStatus
    proposed_by: str
    proposed_at: datetime
    expires_at: datetime
    confirmed_by: str
    confirmed_at: datetime | None


def request_out(request: QuarantineRequest, status: RequestStatus) -> RequestOut:
    return RequestOut(
        id=request.pk,
        uid=request.item.uid,
        outcome=Outcome(request.outcome),
        reason=request.reason,
        status=status,
        proposed_by=request.proposed_by,
        proposed_at=request.proposed_at,
        expires_at=request.expires_at,
        confirmed_by=request.confirmed_by,
        confirmed_at=request.confirmed_at,
    )


class RequestQuery(Input):
    status: RequestStatus | None = None


class RegisterQuery(Input):
    site: SiteCode | None = None


class RegisterRowOut(Schema):
    uid: str
    site: str
    location: str
    location_name: str
    recipient: str
    entered_at: datetime
    dwell_seconds: int
    dwell: str = Field(description="The dwell time for people, e.g. '2 d 3 h'.")
    tier: Tier | None
    decision_id: int | None
    reasons: list[str]
    request: RequestOut | None


def _dwell_words(dwell: timedelta) -> str:
    minutes = max(0, int(dwell.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


def register_row_out(row: queries.RegisterRow) -> RegisterRowOut:
    item = row.item
    return RegisterRowOut(
        uid=item.uid,
        site=item.site.code,
        location=item.location.code,
        location_name=item.location.name,
        recipient=item.recipient.display_name,
        entered_at=row.entered_at,
        dwell_seconds=max(0, int(row.dwell.total_seconds())),
        dwell=_dwell_words(row.dwell),
        tier=Tier(row.decision.tier) if row.decision else None,
        decision_id=row.decision.pk if row.decision else None,
        reasons=row.reasons,
        request=request_out(row.request, row.request_status)
        if row.request is not None and row.request_status is not None
        else None,
    )
