"""Exercises (``/api/exercises``), step timings against their targets, and after-action reports
with their improvement plan (``/api/incidents/{id}/report``, also as PDF). Every change goes
through :mod:`mailwarden.incidents.services.exercises`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Router, Status

from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import NotFound
from mailwarden.core.permissions import require
from mailwarden.incidents.models import Exercise
from mailwarden.incidents.queries.exercises import step_timings
from mailwarden.incidents.report import report_pdf
from mailwarden.incidents.schemas.exercises import (
    ActionIn,
    ActionOut,
    DbId,
    ExerciseIn,
    ExerciseOut,
    ReportIn,
    ReportOut,
    StartedOut,
    StartIn,
    StepTimingOut,
    action_out,
    exercise_out,
    report_out,
    started_out,
    timing_out,
)
from mailwarden.incidents.services import exercises as services

router = Router()


def _exercise(exercise_id: int) -> Exercise:
    found = Exercise.objects.select_related("site", "incident").filter(pk=exercise_id).first()
    if found is None:
        raise NotFound(f"no exercise {exercise_id}", "exercise_id")
    return found


def _request(payload: ExerciseIn) -> services.ExerciseRequest:
    return services.ExerciseRequest(**payload.model_dump())


@router.get("/exercises", response={200: list[ExerciseOut], **ERRORS}, summary="Exercises")
@allow(services.VIEW_EXERCISES, "reading exercises")
def list_exercises(request: HttpRequest) -> list[ExerciseOut]:
    require(actor_of(request), services.VIEW_EXERCISES, "reading exercises")
    return [exercise_out(e) for e in Exercise.objects.select_related("site", "incident")[:500]]


@router.post("/exercises", response={201: ExerciseOut, **ERRORS}, summary="Plan an exercise")
@allow(services.PLAN_EXERCISES, "planning exercises")
def plan_exercise(request: HttpRequest, payload: ExerciseIn) -> Status[ExerciseOut]:
    actor = actor_of(request)
    require(actor, services.PLAN_EXERCISES, "planning exercises")
    return Status(201, exercise_out(services.plan_exercise(actor, _request(payload))))


@router.get(
    "/exercises/{exercise_id}", response={200: ExerciseOut, **ERRORS}, summary="One exercise"
)
@allow(services.VIEW_EXERCISES, "reading exercises")
def get_exercise(request: HttpRequest, exercise_id: Path[DbId]) -> ExerciseOut:
    require(actor_of(request), services.VIEW_EXERCISES, "reading exercises")
    return exercise_out(_exercise(exercise_id))


@router.put(
    "/exercises/{exercise_id}",
    response={200: ExerciseOut, **ERRORS},
    summary="Change an exercise's plan before it starts",
)
@allow(services.PLAN_EXERCISES, "planning exercises")
def update_exercise(
    request: HttpRequest, exercise_id: Path[DbId], payload: ExerciseIn
) -> ExerciseOut:
    actor = actor_of(request)
    require(actor, services.PLAN_EXERCISES, "planning exercises")
    return exercise_out(services.update_exercise(actor, exercise_id, _request(payload)))


@router.post(
    "/exercises/{exercise_id}/start",
    response={201: StartedOut, **ERRORS},
    summary="Start an exercise: its incident opens, marked as an exercise, with its playbook",
)
@allow(services.PLAN_EXERCISES, "starting exercises")
def start_exercise(
    request: HttpRequest, exercise_id: Path[DbId], payload: StartIn
) -> Status[StartedOut]:
    actor = actor_of(request)
    require(actor, services.PLAN_EXERCISES, "starting exercises")
    incident = services.start_exercise(actor, exercise_id, confirm=payload.confirm)
    return Status(201, started_out(_exercise(exercise_id), incident))


@router.get(
    "/incidents/{incident_id}/timings",
    response={200: list[StepTimingOut], **ERRORS},
    summary="Each step's actual time against its target, in minutes from the opening",
)
@allow(services.VIEW_REPORTS, "reading step timings")
def timings(request: HttpRequest, incident_id: Path[DbId]) -> list[StepTimingOut]:
    require(actor_of(request), services.VIEW_REPORTS, "reading step timings")
    return [timing_out(t) for t in step_timings(services.incident_named(incident_id))]


@router.get(
    "/incidents/{incident_id}/report",
    response={200: ReportOut, **ERRORS},
    summary="The after-action report and improvement plan (a draft until first saved)",
)
@allow(services.VIEW_REPORTS, "reading after-action reports")
def get_report(request: HttpRequest, incident_id: Path[DbId]) -> ReportOut:
    require(actor_of(request), services.VIEW_REPORTS, "reading after-action reports")
    incident = services.incident_named(incident_id)
    return report_out(services.draft_report(incident), step_timings(incident))


@router.put(
    "/incidents/{incident_id}/report",
    response={200: ReportOut, **ERRORS},
    summary="Write the after-action report",
)
@allow(services.EDIT_REPORTS, "writing after-action reports")
def put_report(request: HttpRequest, incident_id: Path[DbId], payload: ReportIn) -> ReportOut:
    actor = actor_of(request)
    require(actor, services.EDIT_REPORTS, "writing after-action reports")
    report = services.save_report(
        actor,
        incident_id,
        services.ReportRequest(
            overview=payload.overview,
            participants=payload.participants,
            objectives=[services.ObjectiveResult(**o.model_dump()) for o in payload.objectives],
            strengths=payload.strengths,
            improvements=payload.improvements,
        ),
    )
    return report_out(report, step_timings(report.incident))


_PDF = {
    "responses": {
        200: {
            "description": "The report as an A4 PDF",
            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
        }
    }
}


@router.get(
    "/incidents/{incident_id}/report.pdf",
    response=ERRORS,
    summary="The after-action report as a PDF, with its timeline chart",
    openapi_extra=_PDF,
)
@allow(services.VIEW_REPORTS, "reading after-action reports")
def report_as_pdf(request: HttpRequest, incident_id: Path[DbId]) -> HttpResponse:
    require(actor_of(request), services.VIEW_REPORTS, "reading after-action reports")
    incident = services.incident_named(incident_id)
    response = HttpResponse(report_pdf(incident), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="report-{incident.reference}.pdf"'
    return response


def _action(payload: ActionIn) -> services.ActionRequest:
    return services.ActionRequest(**payload.model_dump())


@router.post(
    "/incidents/{incident_id}/report/actions",
    response={201: ActionOut, **ERRORS},
    summary="Add a corrective action to the improvement plan",
)
@allow(services.EDIT_REPORTS, "writing the improvement plan")
def add_action(
    request: HttpRequest, incident_id: Path[DbId], payload: ActionIn
) -> Status[ActionOut]:
    actor = actor_of(request)
    require(actor, services.EDIT_REPORTS, "writing the improvement plan")
    return Status(
        201, action_out(services.add_corrective_action(actor, incident_id, _action(payload)))
    )


@router.put(
    "/incidents/{incident_id}/report/actions/{action_id}",
    response={200: ActionOut, **ERRORS},
    summary="Change a corrective action (its status, owner, date)",
)
@allow(services.EDIT_REPORTS, "writing the improvement plan")
def update_action(
    request: HttpRequest, incident_id: Path[DbId], action_id: Path[DbId], payload: ActionIn
) -> ActionOut:
    actor = actor_of(request)
    require(actor, services.EDIT_REPORTS, "writing the improvement plan")
    return action_out(
        services.update_corrective_action(actor, incident_id, action_id, _action(payload))
    )
