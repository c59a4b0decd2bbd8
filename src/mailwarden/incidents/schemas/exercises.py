"""API shapes of exercises, step timings and after-action reports, bounded like their columns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from mailwarden.core.api import Input, IsoDate, IsoDateTime
from mailwarden.directory.schemas import SiteCode
from mailwarden.incidents.models import (
    AfterActionReport,
    CorrectiveAction,
    Exercise,
    Incident,
)
from mailwarden.incidents.queries.exercises import StepTiming

DbId = Annotated[int, Field(ge=1, le=2**31 - 1)]
ExerciseTypeName = Literal["tabletop", "drill", "functional", "full_scale"]
IncidentTypeName = Literal[
    "suspicious_package",
    "suspicious_substance",
    "bomb_threat",
    "forced_entry",
    "tampering_theft",
    "unattended_item",
]
RatingName = Literal["", "met", "partially_met", "not_met"]
ActionStatusName = Literal["open", "in_progress", "done"]
Line = Annotated[str, Field(max_length=1000)]


class ExerciseIn(Input):
    name: str = Field(min_length=1, max_length=200)
    type: ExerciseTypeName
    scenario: str = Field(min_length=1, max_length=5000)
    site: SiteCode
    incident_type: IncidentTypeName
    planned_start: IsoDateTime
    objectives: list[Annotated[str, Field(max_length=300)]] = Field(min_length=1, max_length=20)
    participants: str = Field("", max_length=2000)
    severity: int = Field(2, ge=1, le=4, description="1 (SEV-1, the worst) to 4")
    armed: bool = Field(False, description="Door and item actions run for real")


class ExerciseOut(Schema):
    id: int
    name: str
    type: str
    scenario: str
    site: str
    incident_type: str
    planned_start: datetime
    objectives: list[str]
    participants: str
    severity: int
    armed: bool
    created_at: datetime
    created_by: str
    started_at: datetime | None
    started_by: str
    incident: int | None
    incident_reference: str | None


def exercise_out(exercise: Exercise) -> ExerciseOut:
    incident = exercise.incident
    return ExerciseOut(
        id=exercise.pk,
        name=exercise.name,
        type=exercise.type,
        scenario=exercise.scenario,
        site=exercise.site.code,
        incident_type=exercise.incident_type,
        planned_start=exercise.planned_start,
        objectives=list(exercise.objectives),
        participants=exercise.participants,
        severity=exercise.severity,
        armed=exercise.armed,
        created_at=exercise.created_at,
        created_by=exercise.created_by,
        started_at=exercise.started_at,
        started_by=exercise.started_by,
        incident=incident.pk if incident else None,
        incident_reference=incident.reference if incident else None,
    )


class StartIn(Input):
    confirm: bool = Field(description="Must be true: the exercise starts now")


class StartedOut(Schema):
    exercise: int
    incident: int
    reference: str
    exercise_type: str
    armed: bool
    steps: int


def started_out(exercise: Exercise, incident: Incident) -> StartedOut:
    return StartedOut(
        exercise=exercise.pk,
        incident=incident.pk,
        reference=incident.reference,
        exercise_type=incident.exercise_type,
        armed=incident.armed,
        steps=incident.steps.count(),
    )


class StepTimingOut(Schema):
    position: int
    title: str
    role: str
    target_minutes: float
    actual_minutes: float | None
    done_at: datetime | None
    late: bool
    state: str
    action_status: str


def timing_out(timing: StepTiming) -> StepTimingOut:
    return StepTimingOut(
        position=timing.position,
        title=timing.title,
        role=timing.role,
        target_minutes=timing.target_minutes,
        actual_minutes=timing.actual_minutes,
        done_at=timing.done_at,
        late=timing.late,
        state=timing.state,
        action_status=timing.action_status,
    )


class ObjectiveIn(Input):
    objective: str = Field(max_length=300)
    rating: RatingName = ""
    notes: str = Field("", max_length=2000)


class ObjectiveOut(Schema):
    objective: str
    rating: str
    notes: str


class ReportIn(Input):
    overview: str = Field("", max_length=10_000)
    participants: str = Field("", max_length=2000)
    objectives: list[ObjectiveIn] = Field(default_factory=list, max_length=20)
    strengths: list[Line] = Field(default_factory=list, max_length=30)
    improvements: list[Line] = Field(default_factory=list, max_length=30)


class ActionIn(Input):
    action: str = Field(min_length=1, max_length=500)
    owner: str = Field(min_length=1, max_length=150)
    due_on: IsoDate
    improvement: str = Field("", max_length=500)
    status: ActionStatusName = "open"


class ActionOut(Schema):
    id: int
    action: str
    improvement: str
    owner: str
    due_on: date
    status: str
    completed_at: datetime | None


def action_out(action: CorrectiveAction) -> ActionOut:
    return ActionOut(
        id=action.pk,
        action=action.action,
        improvement=action.improvement,
        owner=action.owner,
        due_on=action.due_on,
        status=action.status,
        completed_at=action.completed_at,
    )


class ReportOut(Schema):
    incident: int
    reference: str
    exercise: bool
    exercise_type: str
    saved: bool
    overview: str
    participants: str
    objectives: list[ObjectiveOut]
    strengths: list[str]
    improvements: list[str]
    actions: list[ActionOut]
    timings: list[StepTimingOut]
    updated_at: datetime | None
    updated_by: str


def report_out(report: AfterActionReport, timings: list[StepTiming]) -> ReportOut:
    incident = report.incident
    return ReportOut(
        incident=incident.pk,
        reference=incident.reference,
        exercise=incident.exercise,
        exercise_type=incident.exercise_type,
        saved=report.pk is not None,
        overview=report.overview,
        participants=report.participants,
        objectives=[ObjectiveOut(**o) for o in report.objectives],
        strengths=list(report.strengths),
        improvements=list(report.improvements),
        actions=[action_out(a) for a in report.actions.all()] if report.pk else [],
        timings=[timing_out(t) for t in timings],
        updated_at=report.updated_at if report.pk else None,
        updated_by=report.updated_by if report.pk else "",
    )
