"""API shapes of the register, the treatment plan and what changed since the last assessment."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from ninja import Schema
from pydantic import Field

from mailwarden.risk.queries.diff import Diff, RiskChange, Score
from mailwarden.risk.queries.register import ControlRef, RegisterRow, TreatmentRow

RiskDbId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class RiskRegisterControlOut(Schema):
    id: int
    title: str
    claimed: str
    contradicted: bool = Field(description="its live evidence contradicts the claimed status")


class RiskRegisterTreatmentOut(Schema):
    id: int
    risk_id: int
    risk_key: str
    risk_title: str
    kind: str
    description: str
    owner: str = Field(description="the owner's name")
    due: date
    status: str
    overdue: bool
    approved_by: str = Field(description="who approved an acceptance (empty otherwise)")
    control: RiskRegisterControlOut | None


class RiskRegisterRowOut(Schema):
    id: int
    key: str
    title: str
    description: str
    threat: str
    state: str
    inherent: dict[str, int]
    inherent_score: float | None
    inherent_level: str
    residual: dict[str, int]
    residual_score: float | None
    residual_level: str
    flagged: bool = Field(description="a control its treatments rely on is contradicted")
    treatments: list[RiskRegisterTreatmentOut]
    controls: list[RiskRegisterControlOut]


class RiskDiffScoreOut(Schema):
    score: float
    level: str
    normalised: float = Field(description="the score on the method's 0..1 scale")


class RiskDiffChangeOut(Schema):
    key: str
    title: str
    change: str = Field(description="up, down, new, closed or unchanged")
    before: RiskDiffScoreOut | None
    after: RiskDiffScoreOut | None
    delta: float | None = Field(description="after minus before, normalised")
    risk_id: int | None
    previous_risk_id: int | None


class RiskDiffOut(Schema):
    assessment_id: int
    previous_id: int | None = Field(description="the assessment this one re-assesses, if any")
    counts: dict[str, int]
    changes: list[RiskDiffChangeOut]


def control_out(control: ControlRef) -> RiskRegisterControlOut:
    return RiskRegisterControlOut(
        id=control.id,
        title=control.title,
        claimed=control.claimed,
        contradicted=control.contradicted,
    )


def treatment_out(row: TreatmentRow) -> RiskRegisterTreatmentOut:
    return RiskRegisterTreatmentOut(
        id=row.id,
        risk_id=row.risk_id,
        risk_key=row.risk_key,
        risk_title=row.risk_title,
        kind=row.kind,
        description=row.description,
        owner=row.owner,
        due=row.due,
        status=row.status,
        overdue=row.overdue,
        approved_by=row.approved_by,
        control=control_out(row.control) if row.control else None,
    )


def register_row_out(row: RegisterRow) -> RiskRegisterRowOut:
    return RiskRegisterRowOut(
        id=row.id,
        key=row.key,
        title=row.title,
        description=row.description,
        threat=row.threat,
        state=row.state,
        inherent=row.inherent,
        inherent_score=row.inherent_score,
        inherent_level=row.inherent_level,
        residual=row.residual,
        residual_score=row.residual_score,
        residual_level=row.residual_level,
        flagged=row.flagged,
        treatments=[treatment_out(t) for t in row.treatments],
        controls=[control_out(c) for c in row.controls],
    )


def _score(score: Score | None) -> RiskDiffScoreOut | None:
    if score is None:
        return None
    return RiskDiffScoreOut(score=score.score, level=score.level, normalised=score.normalised)


def _change(change: RiskChange) -> RiskDiffChangeOut:
    return RiskDiffChangeOut(
        key=change.key,
        title=change.title,
        change=change.change.value,
        before=_score(change.before),
        after=_score(change.after),
        delta=change.delta,
        risk_id=change.risk_id,
        previous_risk_id=change.previous_risk_id,
    )


def diff_out(diff: Diff) -> RiskDiffOut:
    return RiskDiffOut(
        assessment_id=diff.assessment_id,
        previous_id=diff.previous_id,
        counts=diff.counts,
        changes=[_change(c) for c in diff.changes],
    )
