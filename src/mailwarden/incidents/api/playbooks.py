"""Playbooks in the API: read and edit each incident type's playbook, read an incident's steps
(with the late ones flagged), check a step off (which runs its action), arm an exercise and
release the mail hold an incident placed. Every change goes through
:mod:`mailwarden.incidents.services.playbooks`."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Router

from mailwarden.core import clock
from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import NotFound
from mailwarden.core.permissions import require
from mailwarden.custody import holds
from mailwarden.incidents.models import Incident, IncidentStep, Playbook
from mailwarden.incidents.queries import playbooks as queries
from mailwarden.incidents.schemas.playbooks import (
    ArmedOut,
    CompleteStepIn,
    HoldReleasedOut,
    Id,
    IncidentStepOut,
    PlaybookIn,
    PlaybookOut,
    Position,
    ReleaseHoldIn,
    incident_step_out,
    playbook_out,
)
from mailwarden.incidents.services import playbooks as services

router = Router()


@router.get(
    "/playbooks",
    response={200: list[PlaybookOut], **ERRORS},
    summary="Every incident type's playbook",
)
@allow(services.VIEW_PLAYBOOKS, "reading playbooks")
def list_playbooks(request: HttpRequest) -> list[PlaybookOut]:
    require(actor_of(request), services.VIEW_PLAYBOOKS, "reading playbooks")
    return [playbook_out(p) for p in queries.playbooks()]


@router.post(
    "/playbooks/install-defaults",
    response={200: list[PlaybookOut], **ERRORS},
    summary="Add the shipped playbook of every incident type that has none",
)
@allow(services.EDIT_PLAYBOOKS, "installing the default playbooks")
def install_defaults(request: HttpRequest) -> list[PlaybookOut]:
    actor = actor_of(request)
    require(actor, services.EDIT_PLAYBOOKS, "installing the default playbooks")
    return [playbook_out(p) for p in services.install_default_playbooks(actor)]


@router.get(
    "/playbooks/late-steps",
    response={200: list[IncidentStepOut], **ERRORS},
    summary="Steps past their target time and not done, on open and contained incidents",
)
@allow(services.VIEW_STEPS, "reading incidents' steps")
def late_steps(request: HttpRequest) -> list[IncidentStepOut]:
    require(actor_of(request), services.VIEW_STEPS, "reading incidents' steps")
    now = clock.now()
    return [incident_step_out(s, s.incident, now) for s in queries.late_steps(now)[:500]]


def _playbook(playbook_id: int) -> Playbook:
    playbook = Playbook.objects.filter(pk=playbook_id).first()
    if playbook is None:
        raise NotFound(f"no playbook {playbook_id}", "playbook_id")
    return playbook


@router.get(
    "/playbooks/{playbook_id}", response={200: PlaybookOut, **ERRORS}, summary="One playbook"
)
@allow(services.VIEW_PLAYBOOKS, "reading playbooks")
def get_playbook(request: HttpRequest, playbook_id: Path[Id]) -> PlaybookOut:
    require(actor_of(request), services.VIEW_PLAYBOOKS, "reading playbooks")
    return playbook_out(_playbook(playbook_id))


@router.put(
    "/playbooks/{playbook_id}",
    response={200: PlaybookOut, **ERRORS},
    summary="Replace a playbook's name, description and steps",
)
@allow(services.EDIT_PLAYBOOKS, "editing playbooks")
def update_playbook(
    request: HttpRequest, playbook_id: Path[Id], payload: PlaybookIn
) -> PlaybookOut:
    actor = actor_of(request)
    require(actor, services.EDIT_PLAYBOOKS, "editing playbooks")
    req = services.PlaybookRequest(
        name=payload.name,
        description=payload.description,
        steps=[services.StepRequest(**s.model_dump()) for s in payload.steps],
    )
    return playbook_out(services.update_playbook(actor, playbook_id, req))


def _incident(incident_id: int) -> Incident:
    incident = Incident.objects.select_related("site").filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(f"no incident {incident_id}", "incident_id")
    return incident


@router.get(
    "/incidents/{incident_id}/steps",
    response={200: list[IncidentStepOut], **ERRORS},
    summary="An incident's playbook steps, with times, results and the late ones flagged",
)
@allow(services.VIEW_STEPS, "reading incidents' steps")
def list_steps(request: HttpRequest, incident_id: Path[Id]) -> list[IncidentStepOut]:
    require(actor_of(request), services.VIEW_STEPS, "reading incidents' steps")
    incident = _incident(incident_id)
    now = clock.now()
    return [incident_step_out(s, incident, now) for s in queries.incident_steps(incident)]


@router.post(
    "/incidents/{incident_id}/steps/{position}/complete",
    response={200: IncidentStepOut, **ERRORS},
    summary="Check a step off (its role, or a security manager); runs the step's action",
)
@allow(services.VIEW_STEPS, "checking off playbook steps")
def complete_step(
    request: HttpRequest, incident_id: Path[Id], position: Path[Position], payload: CompleteStepIn
) -> IncidentStepOut:
    actor = actor_of(request)
    require(actor, services.VIEW_STEPS, "checking off playbook steps")
    step: IncidentStep = services.complete_step(actor, incident_id, position, payload.note)
    return incident_step_out(step, _incident(incident_id))


@router.post(
    "/incidents/{incident_id}/arm",
    response={200: ArmedOut, **ERRORS},
    summary="Arm an exercise: its door and item actions then act for real",
)
@allow(services.ARM_EXERCISES, "arming an exercise")
def arm(request: HttpRequest, incident_id: Path[Id]) -> ArmedOut:
    actor = actor_of(request)
    require(actor, services.ARM_EXERCISES, "arming an exercise")
    incident = services.arm_exercise(actor, incident_id)
    return ArmedOut(incident=incident.reference, exercise=incident.exercise, armed=incident.armed)


@router.post(
    "/incidents/{incident_id}/mail-hold/release",
    response={200: HoldReleasedOut, **ERRORS},
    summary="Release the site mail hold the incident's playbook placed",
)
@allow(holds.RELEASE_HOLDS, "releasing a site's mail hold")
def release_hold(
    request: HttpRequest, incident_id: Path[Id], payload: ReleaseHoldIn
) -> HoldReleasedOut:
    actor = actor_of(request)
    require(actor, holds.RELEASE_HOLDS, "releasing a site's mail hold")
    hold = services.release_incident_hold(actor, incident_id, reason=payload.reason)
    return HoldReleasedOut(incident=_incident(incident_id).reference, hold=hold)
