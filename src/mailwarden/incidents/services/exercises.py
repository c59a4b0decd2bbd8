"""Exercises on the incident engine, and after-action reports (AAR/IP) with their improvement
plan.

An exercise is planned by a security manager; starting it opens an incident the one way any
incident opens (:func:`mailwarden.incidents.services.incidents.open_incident`), marked
``exercise`` with its HSEEP type, which runs the incident type's playbook. Its messages are
labelled EXERCISE (``delivery.queue``), its CAP alerts have status Exercise, and its door and item
actions only simulate unless the manager armed it.

The report follows HSEEP: overview, objectives rated met, partially met or not met, strengths,
areas for improvement, and corrective actions each with an owner and a due date. Security
managers write it; operators and auditors read it. A real incident gets the same report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db import transaction

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.core.validation import check_text
from mailwarden.directory.models import Site
from mailwarden.incidents.models import (
    AfterActionReport,
    CorrectiveAction,
    CorrectiveActionStatus,
    Exercise,
    ExerciseType,
    Incident,
    IncidentSeverity,
    IncidentType,
    ObjectiveRating,
)
from mailwarden.incidents.services import incidents, timeline

PLAN_EXERCISES = (Role.SECURITY_MANAGER,)
VIEW_EXERCISES = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR)
EDIT_REPORTS = (Role.SECURITY_MANAGER,)
VIEW_REPORTS = VIEW_EXERCISES

MAX_OBJECTIVES = 20
MAX_POINTS = 30
MAX_ACTIONS = 100


def _choice(value: str, choices: Sequence[str], field_name: str) -> str:
    if value not in choices:
        raise ServiceError(f"must be one of {', '.join(c for c in choices if c)}", field_name)
    return value


def _lines(values: Sequence[str], field_name: str, *, limit: int, max_length: int) -> list[str]:
    cleaned = [
        check_text(v, f"{field_name}.{i}", max_length=max_length) for i, v in enumerate(values)
    ]
    kept = [v for v in cleaned if v]
    if len(kept) > limit:
        raise ServiceError(f"at most {limit} entries", field_name)
    return kept


# ----------------------------------------------------------------------------- exercises


@dataclass(frozen=True)
class ExerciseRequest:
    name: str
    type: str
    scenario: str
    site: str
    incident_type: str
    planned_start: datetime
    objectives: Sequence[str] = ()
    participants: str = ""
    severity: int = IncidentSeverity.SEV2
    armed: bool = False


def _exercise_values(request: ExerciseRequest) -> dict[str, Any]:
    objectives = _lines(request.objectives, "objectives", limit=MAX_OBJECTIVES, max_length=300)
    if not objectives:
        raise ServiceError("an exercise tests at least one objective", "objectives")
    if request.planned_start.tzinfo is None:
        raise ServiceError("give the time with its offset from UTC", "planned_start")
    if request.severity not in IncidentSeverity.values:
        raise ServiceError("must be 1 (SEV-1, the worst) to 4", "severity")
    site = Site.objects.filter(code=request.site).first()
    if site is None:
        raise NotFound(f"no site {request.site!r}", "site")
    return {
        "name": check_text(request.name, "name", max_length=200, required=True),
        "type": _choice(request.type, ExerciseType.values, "type"),
        "scenario": check_text(request.scenario, "scenario", max_length=5000, required=True),
        "site": site,
        "incident_type": _choice(request.incident_type, IncidentType.values, "incident_type"),
        "planned_start": request.planned_start,
        "objectives": objectives,
        "participants": check_text(request.participants, "participants", max_length=2000),
        "severity": request.severity,
        "armed": bool(request.armed),
    }


def _exercise_data(exercise: Exercise) -> dict[str, Any]:
    return {
        "name": exercise.name,
        "type": exercise.type,
        "site": exercise.site.code,
        "incident_type": exercise.incident_type,
        "planned_start": exercise.planned_start.isoformat(),
        "objectives": exercise.objectives,
        "severity": exercise.severity,
        "armed": exercise.armed,
    }


def plan_exercise(actor: Actor, request: ExerciseRequest) -> Exercise:
    require(actor, PLAN_EXERCISES, "planning exercises")
    values = _exercise_values(request)
    now = clock.now()
    with transaction.atomic():
        exercise = Exercise.objects.create(**values, created_at=now, created_by=actor.label)
        ledger.append(
            actor,
            "incidents.exercise.planned",
            "exercise",
            str(exercise.pk),
            _exercise_data(exercise),
        )
    return exercise


def update_exercise(actor: Actor, exercise_id: int, request: ExerciseRequest) -> Exercise:
    require(actor, PLAN_EXERCISES, "planning exercises")
    values = _exercise_values(request)
    with transaction.atomic():
        exercise = Exercise.objects.select_for_update().filter(pk=exercise_id).first()
        if exercise is None:
            raise NotFound(f"no exercise {exercise_id}", "exercise_id")
        if exercise.incident_id is not None:
            raise Conflict("the exercise has started; its plan can no longer change", "exercise_id")
        for name, value in values.items():
            setattr(exercise, name, value)
        exercise.save()
        ledger.append(
            actor,
            "incidents.exercise.updated",
            "exercise",
            str(exercise.pk),
            _exercise_data(exercise),
        )
    return exercise


def start_exercise(actor: Actor, exercise_id: int, *, confirm: bool) -> Incident:
    """Open the exercise's incident (marked as an exercise) and start its playbook."""
    require(actor, PLAN_EXERCISES, "starting exercises")
    if not confirm:
        raise ServiceError("confirm that the exercise starts now", "confirm")
    now = clock.now()
    with transaction.atomic():
        exercise = (
            Exercise.objects.select_for_update()
            .select_related("site")
            .filter(pk=exercise_id)
            .first()
        )
        if exercise is None:
            raise NotFound(f"no exercise {exercise_id}", "exercise_id")
        if exercise.incident_id is not None:
            raise Conflict("the exercise has started already", "exercise_id")
        kind = ExerciseType(exercise.type).label
        # The one way an incident opens: the same reference, timeline, ledger entry, event and
        # playbook as a real one, marked as an exercise.
        incident = incidents.open_incident(
            actor,
            incidents.OpenIncidentRequest(
                type=exercise.incident_type,
                severity=exercise.severity,
                site=exercise.site.code,
                title=f"EXERCISE: {exercise.name}"[:200],
                summary=exercise.scenario,
                exercise=True,
                exercise_type=exercise.type,
                armed=exercise.armed,
            ),
        )
        exercise.incident, exercise.started_at, exercise.started_by = incident, now, actor.label
        exercise.save(update_fields=["incident", "started_at", "started_by"])
        armed = "armed: door and item actions run for real" if exercise.armed else "not armed"
        timeline.append(
            incident.pk,
            "exercise",
            f"{kind} \u201c{exercise.name}\u201d started ({armed})",
            by=actor.label,
            at=now,
            data={"exercise": exercise.pk, "type": exercise.type, "armed": exercise.armed},
        )
        ledger.append(
            actor,
            "incidents.exercise.started",
            "exercise",
            str(exercise.pk),
            {"incident": incident.pk, "reference": incident.reference, "armed": exercise.armed},
            at=now,
        )
    return incident


# ----------------------------------------------------------------------------- reports


@dataclass(frozen=True)
class ObjectiveResult:
    objective: str
    rating: str = ObjectiveRating.NOT_RATED
    notes: str = ""


@dataclass(frozen=True)
class ReportRequest:
    overview: str = ""
    participants: str = ""
    objectives: Sequence[ObjectiveResult] = ()
    strengths: Sequence[str] = ()
    improvements: Sequence[str] = ()


def draft_report(incident: Incident) -> AfterActionReport:
    """The incident's report as saved, or (unsaved) the start of one: an exercise's objectives
    to rate, its participants and scenario."""
    saved = AfterActionReport.objects.filter(incident=incident).first()
    if saved is not None:
        return saved
    plan = Exercise.objects.filter(incident=incident).first()
    objectives = [
        {"objective": o, "rating": "", "notes": ""} for o in (plan.objectives if plan else [])
    ]
    return AfterActionReport(
        incident=incident,
        # An exercise's scenario shows in the overview already; a real incident starts from
        # its summary.
        overview="" if plan else incident.summary,
        participants=plan.participants if plan else "",
        objectives=objectives,
        strengths=[],
        improvements=[],
    )


def incident_named(incident_id: int) -> Incident:
    """The incident a path names, or NotFound naming ``incident_id``."""
    incident = Incident.objects.select_related("site").filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(f"no incident {incident_id}", "incident_id")
    return incident


def _report_data(report: AfterActionReport) -> dict[str, Any]:
    return {
        "overview": report.overview,
        "participants": report.participants,
        "objectives": report.objectives,
        "strengths": report.strengths,
        "improvements": report.improvements,
    }


def save_report(actor: Actor, incident_id: int, request: ReportRequest) -> AfterActionReport:
    require(actor, EDIT_REPORTS, "writing after-action reports")
    if len(request.objectives) > MAX_OBJECTIVES:
        raise ServiceError(f"at most {MAX_OBJECTIVES} objectives", "objectives")
    objectives = []
    for i, result in enumerate(request.objectives):
        text = check_text(result.objective, f"objectives.{i}.objective", max_length=300)
        notes = check_text(result.notes, f"objectives.{i}.notes", max_length=2000)
        rating = _choice(result.rating, ObjectiveRating.values, f"objectives.{i}.rating")
        if not text:
            if rating or notes:
                raise ServiceError("name the objective", f"objectives.{i}.objective")
            continue
        objectives.append({"objective": text, "rating": rating, "notes": notes})
    values = {
        "overview": check_text(request.overview, "overview", max_length=10_000),
        "participants": check_text(request.participants, "participants", max_length=2000),
        "objectives": objectives,
        "strengths": _lines(request.strengths, "strengths", limit=MAX_POINTS, max_length=1000),
        "improvements": _lines(
            request.improvements, "improvements", limit=MAX_POINTS, max_length=1000
        ),
    }
    now = clock.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None:
            raise NotFound(f"no incident {incident_id}", "incident_id")
        report, created = AfterActionReport.objects.get_or_create(
            incident=incident,
            defaults={**values, "created_at": now, "updated_at": now, "updated_by": actor.label},
        )
        if not created:
            for name, value in values.items():
                setattr(report, name, value)
            report.updated_at, report.updated_by = now, actor.label
            report.save()
        timeline.append(
            incident.pk,
            "report",
            "After-action report written" if created else "After-action report updated",
            by=actor.label,
            at=now,
        )
        ledger.append(
            actor,
            "incidents.report.written" if created else "incidents.report.updated",
            "incident",
            str(incident.pk),
            _report_data(report),
            at=now,
        )
    return report


@dataclass(frozen=True)
class ActionRequest:
    action: str
    owner: str
    due_on: date | None
    improvement: str = ""
    status: str = CorrectiveActionStatus.OPEN


def _action_values(request: ActionRequest, *, new: bool) -> dict[str, Any]:
    if request.due_on is None:
        raise ServiceError("give the date it is due", "due_on")
    if new and request.due_on < clock.now().date():
        raise ServiceError("a new corrective action cannot be due in the past", "due_on")
    return {
        "action": check_text(request.action, "action", max_length=500, required=True),
        "owner": check_text(request.owner, "owner", max_length=150, required=True),
        "due_on": request.due_on,
        "improvement": check_text(request.improvement, "improvement", max_length=500),
        "status": _choice(request.status, CorrectiveActionStatus.values, "status"),
    }


def _action_data(action: CorrectiveAction) -> dict[str, Any]:
    return {
        "action": action.action,
        "owner": action.owner,
        "due_on": action.due_on.isoformat(),
        "improvement": action.improvement,
        "status": action.status,
    }


def add_corrective_action(
    actor: Actor, incident_id: int, request: ActionRequest
) -> CorrectiveAction:
    require(actor, EDIT_REPORTS, "writing the improvement plan")
    values = _action_values(request, new=True)
    now = clock.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        if incident is None:
            raise NotFound(f"no incident {incident_id}", "incident_id")
        draft = draft_report(incident)
        if draft.pk is None:
            draft.created_at = draft.updated_at = now
            draft.updated_by = actor.label
            draft.save()
        if draft.actions.count() >= MAX_ACTIONS:
            raise ServiceError(f"at most {MAX_ACTIONS} corrective actions", "action")
        action = CorrectiveAction.objects.create(
            report=draft,
            **values,
            completed_at=now if values["status"] == CorrectiveActionStatus.DONE else None,
            created_at=now,
            updated_at=now,
        )
        ledger.append(
            actor,
            "incidents.corrective_action.added",
            "corrective_action",
            str(action.pk),
            {"incident": incident.pk, **_action_data(action)},
            at=now,
        )
    return action


def update_corrective_action(
    actor: Actor, incident_id: int, action_id: int, request: ActionRequest
) -> CorrectiveAction:
    require(actor, EDIT_REPORTS, "writing the improvement plan")
    values = _action_values(request, new=False)
    now = clock.now()
    with transaction.atomic():
        action = (
            CorrectiveAction.objects.select_for_update()
            .filter(pk=action_id, report__incident_id=incident_id)
            .first()
        )
        if action is None:
            raise NotFound(
                f"no corrective action {action_id} on incident {incident_id}", "action_id"
            )
        was_done = action.status == CorrectiveActionStatus.DONE
        for name, value in values.items():
            setattr(action, name, value)
        if action.status == CorrectiveActionStatus.DONE and not was_done:
            action.completed_at = now
        elif action.status != CorrectiveActionStatus.DONE:
            action.completed_at = None
        action.updated_at = now
        action.save()
        ledger.append(
            actor,
            "incidents.corrective_action.updated",
            "corrective_action",
            str(action.pk),
            {"incident": incident_id, **_action_data(action)},
            at=now,
        )
    return action
