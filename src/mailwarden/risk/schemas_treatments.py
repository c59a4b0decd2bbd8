"""The treatment API's request and response shapes, bounded like their columns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from ninja import Field, Schema

from mailwarden.core.api import Input, IsoDate
from mailwarden.directory.schemas import SiteCode
from mailwarden.risk.models import Treatment, TreatmentKind, TreatmentStatus
from mailwarden.risk.services.treatments import MAX_DESCRIPTION, is_overdue, next_statuses

MAX_DB_INT = 2**31 - 1
# A row's ID in a path, query or body.
DbId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
Username = Annotated[str, Field(min_length=1, max_length=150)]


class RiskTreatmentIn(Input):
    kind: TreatmentKind = Field(description="accept, avoid, mitigate or transfer.")
    description: str = Field(min_length=1, max_length=MAX_DESCRIPTION)
    owner: Username = Field(description="The username of the person who sees it through.")
    due: IsoDate = Field(description="The day it is due, at the risk's site.")
    control: DbId | None = Field(
        None, description="A mitigation's control in mailwarden (the control's ID)."
    )


class RiskTreatmentStatusIn(Input):
    status: TreatmentStatus


class RiskTreatmentRescheduleIn(Input):
    due: IsoDate
    owner: Username | None = Field(None, description="A new owner, if it changes hands.")


class RiskTreatmentFilters(Input):
    site: SiteCode | None = None
    status: TreatmentStatus | None = None
    owner: Username | None = None
    overdue: bool | None = Field(
        None, description="true: only those past due unfinished; false: only the others."
    )
    assessment: DbId | None = None
    limit: int = Field(500, ge=1, le=1000)
    offset: int = Field(0, ge=0, le=MAX_DB_INT)


class RiskTreatmentOut(Schema):
    id: int
    risk: int
    risk_key: str
    risk_title: str
    risk_state: str
    assessment: int
    site: str
    kind: TreatmentKind
    description: str
    owner: str
    owner_name: str
    due: date
    status: TreatmentStatus
    overdue: bool
    next_statuses: list[TreatmentStatus] = Field(
        description="What the status may be set to now (an acceptance is approved instead)."
    )
    control: int | None
    control_title: str
    proposed_by: str
    approved_by: str | None
    approved_at: datetime | None
    overdue_alerted_at: datetime | None
    created_at: datetime
    updated_at: datetime


def _name(user: Any) -> str:
    return str(user.get_full_name() or user.get_username())


def treatment_out(t: Treatment, now: datetime) -> RiskTreatmentOut:
    return RiskTreatmentOut(
        id=t.pk,
        risk=t.risk_id,
        risk_key=t.risk.key,
        risk_title=t.risk.title,
        risk_state=t.risk.state,
        assessment=t.risk.assessment_id,
        site=t.risk.assessment.site.code,
        kind=TreatmentKind(t.kind),
        description=t.description,
        owner=t.owner.get_username(),
        owner_name=_name(t.owner),
        due=t.due,
        status=TreatmentStatus(t.status),
        overdue=is_overdue(t, now),
        next_statuses=[TreatmentStatus(s) for s in next_statuses(t)],
        control=t.control_id,
        control_title=t.control.title if t.control else "",
        proposed_by=t.proposed_by.get_username(),
        approved_by=t.approved_by.get_username() if t.approved_by else None,
        approved_at=t.approved_at,
        overdue_alerted_at=t.overdue_alerted_at,
        created_at=t.created_at,
        updated_at=t.updated_at,
    )
