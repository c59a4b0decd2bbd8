"""The API shapes of site messages and their roll calls, bounded like their columns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from mailwarden.core.api import Input
from mailwarden.directory.schemas import SiteCode
from mailwarden.incidents.models import Broadcast, RollCallAnswer
from mailwarden.incidents.queries.broadcasts import DepartmentTally, Tally
from mailwarden.incidents.services import broadcasts as services

BroadcastId = Annotated[int, Field(ge=1, le=2**63 - 1)]
KindName = Literal["evacuate", "shelter", "avoid", "all_clear"]
AnswerName = Literal["safe", "need_help", "none"]


class BroadcastIn(Input):
    site: SiteCode
    kind: KindName = Field(description="evacuate, shelter (in place), avoid (the area), all_clear")
    headline: str = Field(min_length=1, max_length=services.MAX_HEADLINE)
    text: str = Field(min_length=1, max_length=services.MAX_TEXT)
    incident: int | None = Field(None, ge=1, le=2**63 - 1, description="The incident's ID.")
    resend_minutes: int = Field(
        services.DEFAULT_RESEND_MINUTES,
        ge=0,
        le=1440,
        description="Re-send to those who have not answered every this many minutes; 0: never.",
    )
    max_rounds: int = Field(
        services.DEFAULT_MAX_ROUNDS,
        ge=1,
        le=services.ROUND_LIMIT,
        description="At most this many sendings in all, the first one included.",
    )
    confirm: bool = Field(
        False, description="Must be true: the message goes to everyone at the site at once."
    )


class TallyOut(Schema):
    total: int
    safe: int
    need_help: int
    no_answer: int


class DepartmentTallyOut(TallyOut):
    department: str


class BroadcastOut(Schema):
    id: int
    site: str
    kind: str
    kind_name: str
    headline: str
    text: str
    incident: int | None
    exercise: bool
    sent_at: datetime
    sent_by: str
    recipients: int
    messages: int
    roll_call: bool
    resend_minutes: int
    max_rounds: int
    rounds: int
    last_round_at: datetime
    closed_at: datetime | None


class BroadcastDetailOut(BroadcastOut):
    counts: TallyOut
    departments: list[DepartmentTallyOut]


class AnswerOut(Schema):
    recipient: int
    employee_id: str
    name: str
    department: str
    answer: str
    note: str
    location: str
    answered_at: datetime | None
    via: str


class AnswersQuery(Input):
    answer: AnswerName | None = Field(None, description="Only these answers; none: no answer yet.")
    limit: int = Field(500, ge=1, le=10_000)
    offset: int = Field(0, ge=0, le=1_000_000)


class ListQuery(Input):
    site: SiteCode | None = None
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


def broadcast_out(b: Broadcast) -> BroadcastOut:
    return BroadcastOut(**_fields(b))


def _fields(b: Broadcast) -> dict[str, Any]:
    return {
        "id": b.pk,
        "site": b.site.code,
        "kind": b.kind,
        "kind_name": b.get_kind_display(),
        "headline": b.headline,
        "text": b.text,
        "incident": b.incident_id,
        "exercise": b.exercise,
        "sent_at": b.sent_at,
        "sent_by": b.sent_by,
        "recipients": b.recipients,
        "messages": b.messages,
        "roll_call": b.has_roll_call,
        "resend_minutes": b.resend_minutes,
        "max_rounds": b.max_rounds,
        "rounds": b.rounds,
        "last_round_at": b.last_round_at,
        "closed_at": b.closed_at,
    }


def _tally(t: Tally) -> dict[str, int]:
    return {"total": t.total, "safe": t.safe, "need_help": t.need_help, "no_answer": t.no_answer}


def detail_out(
    b: Broadcast, counts: Tally, departments: list[DepartmentTally]
) -> BroadcastDetailOut:
    return BroadcastDetailOut(
        **_fields(b),
        counts=TallyOut(**_tally(counts)),
        departments=[
            DepartmentTallyOut(department=d.department, **_tally(d.tally)) for d in departments
        ],
    )


def answer_out(a: RollCallAnswer) -> AnswerOut:
    r = a.recipient
    return AnswerOut(
        recipient=r.pk,
        employee_id=r.employee_id,
        name=r.display_name,
        department=r.department_name,
        answer=a.answer or "none",
        note=a.note,
        location=a.location,
        answered_at=a.answered_at,
        via=a.via,
    )
