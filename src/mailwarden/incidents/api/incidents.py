"""The incidents API (``/api/incidents``): list and read incidents with their timeline, playbook
steps, links, evidence and tasks; open one, move it, and add to its case file. Each operation
declares who may call it; every change goes through :mod:`mailwarden.incidents.services`."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import File, Form, Path, Query, Router, Status
from ninja.files import UploadedFile

from mailwarden.core.api import ERRORS, actor_of, allow, upload_bytes
from mailwarden.core.errors import NotFound
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_SECURITY
from mailwarden.incidents.downloads import evidence_response
from mailwarden.incidents.models import IncidentEvidence
from mailwarden.incidents.queries import incidents as queries
from mailwarden.incidents.schemas.incidents import (
    AssignIn,
    EvidenceFileOut,
    EvidenceIn,
    IncidentDetailOut,
    IncidentId,
    IncidentLegalHoldIn,
    IncidentMoveIn,
    IncidentOut,
    IncidentQuery,
    LinkIn,
    LinkOut,
    NoteIn,
    OpenIncidentIn,
    RowId,
    TaskIn,
    TaskOut,
    Username,
    detail_out,
    evidence_out,
    incident_out,
    link_out,
    task_out,
)
from mailwarden.incidents.services import incidents as services
from mailwarden.incidents.services import legal_holds

router = Router()

READ = (services.VIEW_INCIDENTS, "reading incidents")
ACT = (services.HANDLE_INCIDENTS, "handling incidents")


def _detail(incident_id: int) -> IncidentDetailOut:
    return detail_out(queries.case_file(incident_id))


@router.get("/incidents", response={200: list[IncidentOut], **ERRORS}, summary="Incidents")
@allow(*READ)
def list_incidents(request: HttpRequest, filters: Query[IncidentQuery]) -> list[IncidentOut]:
    require(actor_of(request), *READ)
    found = queries.incidents(
        queries.IncidentFilters(
            state=filters.state, site=filters.site, type=filters.type, exercise=filters.exercise
        )
    )
    return [incident_out(i) for i in found[filters.offset : filters.offset + filters.limit]]


@router.post(
    "/incidents",
    response={201: IncidentDetailOut, **ERRORS},
    summary="Open an incident (its playbook starts)",
)
@allow(*ACT)
def open_incident(request: HttpRequest, payload: OpenIncidentIn) -> Status[IncidentDetailOut]:
    actor = actor_of(request)
    require(actor, *ACT)
    incident = services.open_incident(
        actor,
        services.OpenIncidentRequest(
            type=payload.type,
            severity=payload.severity,
            site=payload.site,
            title=payload.title,
            summary=payload.summary,
            alarm_ids=tuple(payload.alarm_ids),
            exercise=payload.exercise,
            exercise_type=payload.exercise_type or "",
            armed=payload.armed,
        ),
    )
    return Status(201, _detail(incident.pk))


@router.get(
    "/incidents/{incident_id}",
    response={200: IncidentDetailOut, **ERRORS},
    summary="One incident with its timeline, steps, links, evidence and tasks",
)
@allow(*READ)
def get_incident(request: HttpRequest, incident_id: Path[IncidentId]) -> IncidentDetailOut:
    require(actor_of(request), *READ)
    return _detail(incident_id)


@router.post(
    "/incidents/{incident_id}/move",
    response={200: IncidentDetailOut, **ERRORS},
    summary="Move an incident to another state (refused moves name the allowed ones)",
)
@allow(*ACT)
def move(
    request: HttpRequest, incident_id: Path[IncidentId], payload: IncidentMoveIn
) -> IncidentDetailOut:
    actor = actor_of(request)
    require(actor, *ACT)
    services.move(actor, incident_id, payload.state, payload.note)
    return _detail(incident_id)


@router.post(
    "/incidents/{incident_id}/legal-hold",
    response={200: IncidentDetailOut, **ERRORS},
    summary="Place a legal hold: the content of the incident's linked items is never purged",
)
@allow(MANAGE_SECURITY, "placing a legal hold")
def place_legal_hold(
    request: HttpRequest, incident_id: Path[IncidentId], payload: IncidentLegalHoldIn
) -> IncidentDetailOut:
    legal_holds.place_legal_hold(actor_of(request), incident_id, payload.reason)
    return _detail(incident_id)


@router.post(
    "/incidents/{incident_id}/legal-hold/release",
    response={200: IncidentDetailOut, **ERRORS},
    summary="Release an incident's legal hold",
)
@allow(MANAGE_SECURITY, "releasing a legal hold")
def release_legal_hold(
    request: HttpRequest, incident_id: Path[IncidentId], payload: IncidentLegalHoldIn
) -> IncidentDetailOut:
    legal_holds.release_legal_hold(actor_of(request), incident_id, payload.reason)
    return _detail(incident_id)


@router.post(
    "/incidents/{incident_id}/notes",
    response={201: IncidentDetailOut, **ERRORS},
    summary="Add a note to the timeline",
)
@allow(*ACT)
def add_note(
    request: HttpRequest, incident_id: Path[IncidentId], payload: NoteIn
) -> Status[IncidentDetailOut]:
    actor = actor_of(request)
    require(actor, *ACT)
    services.add_note(actor, incident_id, payload.text)
    return Status(201, _detail(incident_id))


@router.post(
    "/incidents/{incident_id}/assignees",
    response={201: IncidentDetailOut, **ERRORS},
    summary="Assign a member of staff",
)
@allow(*ACT)
def assign(
    request: HttpRequest, incident_id: Path[IncidentId], payload: AssignIn
) -> Status[IncidentDetailOut]:
    actor = actor_of(request)
    require(actor, *ACT)
    services.assign(actor, incident_id, payload.username)
    return Status(201, _detail(incident_id))


@router.delete(
    "/incidents/{incident_id}/assignees/{username}",
    response={204: None, **ERRORS},
    summary="Unassign a member of staff",
)
@allow(*ACT)
def unassign(
    request: HttpRequest, incident_id: Path[IncidentId], username: Path[Username]
) -> Status[None]:
    actor = actor_of(request)
    require(actor, *ACT)
    services.unassign(actor, incident_id, username)
    return Status(204, None)


@router.post(
    "/incidents/{incident_id}/links",
    response={201: LinkOut, **ERRORS},
    summary="Link an item, alarm, door, camera, person or member of staff",
)
@allow(*ACT)
def add_link(
    request: HttpRequest, incident_id: Path[IncidentId], payload: LinkIn
) -> Status[LinkOut]:
    actor = actor_of(request)
    require(actor, *ACT)
    return Status(
        201, link_out(services.add_link(actor, incident_id, payload.kind, payload.target))
    )


@router.delete(
    "/incidents/{incident_id}/links/{link_id}",
    response={204: None, **ERRORS},
    summary="Remove a link",
)
@allow(*ACT)
def remove_link(
    request: HttpRequest, incident_id: Path[IncidentId], link_id: Path[RowId]
) -> Status[None]:
    actor = actor_of(request)
    require(actor, *ACT)
    services.remove_link(actor, incident_id, link_id)
    return Status(204, None)


@router.post(
    "/incidents/{incident_id}/evidence",
    response={201: EvidenceFileOut, **ERRORS},
    summary="Add an evidence file (multipart; its SHA-256 goes on the ledger)",
)
@allow(*ACT)
def add_evidence(
    request: HttpRequest,
    incident_id: Path[IncidentId],
    file: File[UploadedFile],
    payload: Form[EvidenceIn],
) -> Status[EvidenceFileOut]:
    actor = actor_of(request)
    require(actor, *ACT)
    data = upload_bytes(file, "file")
    evidence = services.add_evidence(
        actor,
        incident_id,
        name=file.name or "",
        data=data,
        content_type=(file.content_type or "")[:100],
        description=payload.description,
    )
    return Status(201, evidence_out(evidence))


@router.get(
    "/incidents/{incident_id}/evidence/{evidence_id}",
    response=ERRORS,
    summary="An evidence file's bytes, as stored",
    openapi_extra={
        "responses": {
            200: {
                "description": "The file, checked against its SHA-256",
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        }
    },
)
@allow(*READ)
def get_evidence(
    request: HttpRequest, incident_id: Path[IncidentId], evidence_id: Path[RowId]
) -> HttpResponse:
    require(actor_of(request), *READ)
    evidence = IncidentEvidence.objects.filter(incident_id=incident_id, pk=evidence_id).first()
    if evidence is None:
        raise NotFound(f"no evidence {evidence_id} on incident {incident_id}", "evidence_id")
    return evidence_response(evidence, services.evidence_bytes(evidence))


@router.post(
    "/incidents/{incident_id}/tasks",
    response={201: TaskOut, **ERRORS},
    summary="Add a task",
)
@allow(*ACT)
def add_task(
    request: HttpRequest, incident_id: Path[IncidentId], payload: TaskIn
) -> Status[TaskOut]:
    actor = actor_of(request)
    require(actor, *ACT)
    task = services.add_task(
        actor,
        incident_id,
        title=payload.title,
        assignee=payload.assignee or "",
        due_at=payload.due_at,
    )
    return Status(201, task_out(task))


@router.post(
    "/incidents/{incident_id}/tasks/{task_id}/done",
    response={200: TaskOut, **ERRORS},
    summary="Mark a task done (with the time and by whom)",
)
@allow(*ACT)
def complete_task(
    request: HttpRequest, incident_id: Path[IncidentId], task_id: Path[RowId]
) -> TaskOut:
    actor = actor_of(request)
    require(actor, *ACT)
    return task_out(services.complete_task(actor, incident_id, task_id))
