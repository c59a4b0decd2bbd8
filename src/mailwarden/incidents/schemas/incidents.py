"""The incidents API's shapes, bounded like their columns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from mailwarden.core.api import Input, IsoDateTime
from mailwarden.directory.schemas import SiteCode
from mailwarden.incidents.models import Incident
from mailwarden.incidents.schemas.alarms import AlarmId
from mailwarden.incidents.services import incidents as services

IncidentId = Annotated[int, Field(ge=1, le=2**31 - 1)]
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
TypeName = Literal[
    "suspicious_package",
    "suspicious_substance",
    "bomb_threat",
    "forced_entry",
    "tampering_theft",
    "unattended_item",
]
StateName = Literal["open", "contained", "resolved", "closed"]
ExerciseTypeName = Literal["tabletop", "drill", "functional", "full_scale"]
LinkKindName = Literal["item", "alarm", "door", "camera", "person", "user"]
Username = Annotated[str, Field(min_length=1, max_length=150)]
IncidentSeverityLevel = Annotated[
    int, Field(ge=1, le=4, description="1 (SEV-1, the worst) to 4 (SEV-4)")
]


class IncidentQuery(Input):
    state: StateName | None = None
    site: SiteCode | None = None
    type: TypeName | None = None
    exercise: bool | None = Field(None, description="Only exercises (true) or only real (false).")
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


class IncidentOut(Schema):
    id: int
    reference: str
    type: str
    type_name: str
    severity: int
    severity_name: str
    state: str
    title: str
    summary: str
    site: str
    opened_at: datetime
    opened_by: str
    contained_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    exercise: bool
    exercise_type: str
    armed: bool
    allowed_moves: list[str]
    legal_hold_reason: str = Field(
        "", description="Why the incident is under a legal hold; empty when it is not."
    )
    legal_hold_by: str = ""
    legal_hold_at: datetime | None = None


class TimelineOut(Schema):
    at: datetime
    kind: str
    text: str
    by: str
    data: dict[str, Any]


class StepOut(Schema):
    position: int
    title: str
    instructions: str
    role: str
    target_at: datetime
    action: str
    done_at: datetime | None
    done_by: str
    action_status: str
    action_result: str


class LinkOut(Schema):
    id: int
    kind: str
    target: str
    label: str
    added_at: datetime
    added_by: str


class EvidenceFileOut(Schema):
    id: int
    name: str
    sha256: str
    size: int
    content_type: str
    description: str
    added_at: datetime
    added_by: str


class TaskOut(Schema):
    id: int
    title: str
    assignee: str | None
    due_at: datetime | None
    created_at: datetime
    created_by: str
    done_at: datetime | None
    done_by: str
    late: bool = Field(description="Done after its due time, or not done and past it.")


class AssigneeOut(Schema):
    username: str
    assigned_at: datetime
    assigned_by: str


class IncidentDetailOut(IncidentOut):
    assignees: list[AssigneeOut]
    timeline: list[TimelineOut]
    steps: list[StepOut]
    links: list[LinkOut]
    evidence: list[EvidenceFileOut]
    tasks: list[TaskOut]


def _base(incident: Incident) -> dict[str, Any]:
    return {
        "id": incident.pk,
        "reference": incident.reference,
        "type": incident.type,
        "type_name": incident.get_type_display(),
        "severity": incident.severity,
        "severity_name": incident.get_severity_display(),
        "state": incident.state,
        "title": incident.title,
        "summary": incident.summary,
        "site": incident.site.code,
        "opened_at": incident.opened_at,
        "opened_by": incident.opened_by,
        "contained_at": incident.contained_at,
        "resolved_at": incident.resolved_at,
        "closed_at": incident.closed_at,
        "exercise": incident.exercise,
        "exercise_type": incident.exercise_type,
        "armed": incident.armed,
        "allowed_moves": list(services.allowed_moves(incident.state)),
        "legal_hold_reason": incident.legal_hold_reason,
        "legal_hold_by": incident.legal_hold_by,
        "legal_hold_at": incident.legal_hold_at,
    }


def incident_out(incident: Incident) -> IncidentOut:
    return IncidentOut(**_base(incident))


def detail_out(incident: Incident) -> IncidentDetailOut:
    """From :func:`queries.incidents.case_file`, whose prefetches these read."""
    return IncidentDetailOut(
        **_base(incident),
        assignees=[
            AssigneeOut(
                username=a.user.username, assigned_at=a.assigned_at, assigned_by=a.assigned_by
            )
            for a in incident.assignees.all()
        ],
        timeline=[
            TimelineOut(at=t.at, kind=t.kind, text=t.text, by=t.by, data=t.data)
            for t in incident.timeline.all()
        ],
        steps=[
            StepOut(
                position=s.position,
                title=s.title,
                instructions=s.instructions,
                role=s.role,
                target_at=s.target_at,
                action=s.action,
                done_at=s.done_at,
                done_by=s.done_by,
                action_status=s.action_status,
                action_result=s.action_result,
            )
            for s in incident.steps.all()
        ],
        links=[link_out(link) for link in incident.links.all()],
        evidence=[evidence_out(e) for e in incident.evidence.all()],
        tasks=[task_out(t) for t in incident.tasks.all()],
    )


def link_out(link: Any) -> LinkOut:
    return LinkOut(
        id=link.pk,
        kind=link.kind,
        target=link.target,
        label=link.label,
        added_at=link.added_at,
        added_by=link.added_by,
    )


def evidence_out(evidence: Any) -> EvidenceFileOut:
    return EvidenceFileOut(
        id=evidence.pk,
        name=evidence.name,
        sha256=evidence.sha256,
        size=evidence.size,
        content_type=evidence.content_type,
        description=evidence.description,
        added_at=evidence.added_at,
        added_by=evidence.added_by,
    )


def task_out(task: Any) -> TaskOut:
    return TaskOut(
        id=task.pk,
        title=task.title,
        assignee=task.assignee.username if task.assignee else None,
        due_at=task.due_at,
        created_at=task.created_at,
        created_by=task.created_by,
        done_at=task.done_at,
        done_by=task.done_by,
        late=services.task_late(task),
    )


class OpenIncidentIn(Input):
    type: TypeName
    severity: IncidentSeverityLevel
    site: SiteCode
    title: str = Field(min_length=1, max_length=200)
    summary: str = Field("", max_length=5000)
    alarm_ids: list[AlarmId] = Field(default_factory=list, max_length=services.MAX_ALARM_LINKS)
    exercise: bool = False
    exercise_type: ExerciseTypeName | None = None
    armed: bool = Field(False, description="An exercise's door and item actions act for real.")


class IncidentMoveIn(Input):
    state: StateName
    note: str = Field("", max_length=1000)


class IncidentLegalHoldIn(Input):
    reason: str = Field(min_length=1, max_length=300, description="Why it is held, or released.")


class NoteIn(Input):
    text: str = Field(min_length=1, max_length=1000)


class AssignIn(Input):
    username: Username


class LinkIn(Input):
    kind: LinkKindName
    target: str = Field(
        min_length=1,
        max_length=100,
        description=(
            "item: its UID; alarm: its ID; door: its code at the incident's site; camera: a "
            "free reference; person: an employee ID; user: a staff member's username."
        ),
    )


class EvidenceIn(Input):
    description: str = Field("", max_length=500)


class TaskIn(Input):
    title: str = Field(min_length=1, max_length=200)
    assignee: Username | None = None
    due_at: IsoDateTime | None = None
