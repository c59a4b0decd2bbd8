"""Every change to an incident's case file (docs/architecture.md rule 1): opening it (by a person
or by an alarm rule), moving it between states, assignees, notes, links, evidence and tasks.

Each change checks the caller's role, validates its input naming the field at fault, and in one
transaction writes the change, a line of the incident's timeline and a ledger entry; opening and
moving also emit their catalogue events. A closed incident is the final record: nothing more is
added to it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction

from mailwarden.access import queries as access_queries
from mailwarden.config import get_settings
from mailwarden.contracts.events import IncidentOpened, IncidentStateChanged
from mailwarden.core import clock, ledger, media, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.core.validation import check_text
from mailwarden.custody import queries as custody_queries
from mailwarden.directory.models import Site
from mailwarden.incidents.models import (
    Alarm,
    AlarmIncident,
    ExerciseType,
    Incident,
    IncidentAssignee,
    IncidentEvidence,
    IncidentLink,
    IncidentSeverity,
    IncidentState,
    IncidentTask,
    IncidentType,
    LinkKind,
    Severity,
)
from mailwarden.incidents.models.incidents import ALLOWED_MOVES
from mailwarden.incidents.services import playbooks, timeline
from mailwarden.incidents.services.alarms import HANDLE_ALARMS, VIEW_ALARMS

# People who run an incident are the ones who handle alarms; auditors read.
HANDLE_INCIDENTS = HANDLE_ALARMS
VIEW_INCIDENTS = VIEW_ALARMS
# Who can be assigned an incident or a task: staff who act (an auditor only reads).
ASSIGNABLE = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.SCREENER, Role.CLERK)
# Arming an exercise makes its door and item actions real: a manager's decision.
ARM_EXERCISES = (Role.SECURITY_MANAGER,)

MAX_ALARM_LINKS = 50
# Evidence is kept for good; a file larger than this belongs in the organisation's own archive.
EVIDENCE_MAX_BYTES = 25 * 1024 * 1024
_REFERENCE = "INC-{:05d}"
_CAMERA_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}")


class EvidenceTooLarge(ServiceError):
    status = 413


def reference_for(incident_id: int) -> str:
    return _REFERENCE.format(incident_id)


def evidence_limit() -> int:
    """The largest evidence file accepted: the smaller of the evidence cap and the uploads cap."""
    return min(EVIDENCE_MAX_BYTES, get_settings().uploads.max_bytes)


# ----------------------------------------------------------------------------- opening


@dataclass(frozen=True)
class OpenIncidentRequest:
    type: str
    severity: int
    site: str
    title: str
    summary: str = ""
    alarm_ids: Sequence[int] = field(default_factory=tuple)
    exercise: bool = False
    exercise_type: str = ""
    armed: bool = False


def _choices(values: Sequence[str]) -> str:
    return ", ".join(values)


def _validated_open(actor: Actor, request: OpenIncidentRequest) -> dict[str, Any]:
    if request.type not in IncidentType.values:
        raise ServiceError(f"must be one of {_choices(IncidentType.values)}", "type")
    if isinstance(request.severity, bool) or request.severity not in IncidentSeverity.values:
        raise ServiceError("must be 1 (SEV-1, the worst) to 4", "severity")
    site = Site.objects.filter(code=request.site).first() if request.site else None
    if site is None:
        raise NotFound(f"no site {request.site!r}", "site")
    title = check_text(request.title, "title", max_length=200, required=True)
    summary = check_text(request.summary, "summary", max_length=5000)
    exercise_type = ""
    if request.exercise:
        if request.exercise_type not in ExerciseType.values:
            raise ServiceError(
                f"an exercise must be one of {_choices(ExerciseType.values)}", "exercise_type"
            )
        exercise_type = request.exercise_type
    elif request.exercise_type:
        raise ServiceError("only an exercise has an exercise type", "exercise_type")
    if request.armed:
        if not request.exercise:
            raise ServiceError("only an exercise is armed; a real incident always acts", "armed")
        require(actor, ARM_EXERCISES, "arming an exercise")
    alarm_ids = list(dict.fromkeys(request.alarm_ids))
    if len(alarm_ids) > MAX_ALARM_LINKS:
        raise ServiceError(f"at most {MAX_ALARM_LINKS} alarms", "alarm_ids")
    alarms = {a.pk: a for a in Alarm.objects.filter(pk__in=alarm_ids)}
    missing = [i for i in alarm_ids if i not in alarms]
    if missing:
        raise NotFound(f"no alarm {', '.join(map(str, missing))}", "alarm_ids")
    return {
        "type": request.type,
        "severity": int(request.severity),
        "site": site,
        "title": title,
        "summary": summary,
        "exercise": bool(request.exercise),
        "exercise_type": exercise_type,
        "armed": bool(request.armed),
        "alarms": [alarms[i] for i in alarm_ids],
    }


def open_incident(actor: Actor, request: OpenIncidentRequest) -> Incident:
    """Open an incident and start its playbook, linked to the alarms named."""
    require(actor, HANDLE_INCIDENTS, "opening incidents")
    values = _validated_open(actor, request)
    with transaction.atomic():
        return _open(actor, values)


def _open(actor: Actor, values: dict[str, Any]) -> Incident:
    now = clock.now()
    alarms: list[Alarm] = values.pop("alarms")
    # The reference is the row's own number, so two openings at once never share one.
    incident = Incident.objects.create(
        reference=f"new-{uuid.uuid4().hex[:16]}",
        opened_at=now,
        opened_by=actor.label,
        **values,
    )
    incident.reference = reference_for(incident.pk)
    incident.save(update_fields=["reference"])
    site: Site = values["site"]
    what = "Exercise opened" if incident.exercise else "Opened"
    timeline.append(
        incident.pk,
        "opened",
        f"{what}: {incident.get_type_display()}, {incident.get_severity_display()} at {site.name}",
        by=actor.label,
        at=now,
        data={"type": incident.type, "severity": incident.severity, "site": site.code},
    )
    for alarm in alarms:
        _link(actor, incident, LinkKind.ALARM, str(alarm.pk), alarm.title[:200], now)
    ledger.append(
        actor,
        "incidents.incident.opened",
        "incident",
        str(incident.pk),
        {
            "reference": incident.reference,
            "type": incident.type,
            "severity": incident.severity,
            "site": site.code,
            "title": incident.title,
            "summary": incident.summary,
            "alarms": [a.pk for a in alarms],
            "exercise": incident.exercise,
            "exercise_type": incident.exercise_type,
            "armed": incident.armed,
        },
        at=now,
    )
    outbox.emit(
        IncidentOpened(
            incident=incident.pk,
            reference=incident.reference,
            type=incident.type,
            severity=incident.severity,
            site=site.code,
            title=incident.title,
            exercise=incident.exercise,
        )
    )
    playbooks.start_playbook(actor, incident)
    return incident


# ----------------------------------------------------------------------------- from an alarm

# What each alarm type opens when its rule says open_incident; anything else by its source.
ALARM_INCIDENT_TYPES: dict[str, IncidentType] = {
    "screening.alarm.raised": IncidentType.SUSPICIOUS_PACKAGE,
    "access.door.forced": IncidentType.FORCED_ENTRY,
    "access.door.held_open": IncidentType.FORCED_ENTRY,
    "access.reader.invalid_attempts_exceeded": IncidentType.FORCED_ENTRY,
    "access.reader.tampered": IncidentType.TAMPERING_THEFT,
    "access.reader.went_offline": IncidentType.TAMPERING_THEFT,
    "access.controller.went_offline": IncidentType.TAMPERING_THEFT,
    "access.controller.rules_rejected": IncidentType.TAMPERING_THEFT,
    "access.controller.clock_skewed": IncidentType.TAMPERING_THEFT,
    "core.ledger.verification_failed": IncidentType.TAMPERING_THEFT,
}
SOURCE_INCIDENT_TYPES: dict[str, IncidentType] = {
    "screening": IncidentType.SUSPICIOUS_PACKAGE,
    "access": IncidentType.FORCED_ENTRY,
    "ledger": IncidentType.TAMPERING_THEFT,
}


def incident_type_for_alarm(alarm_type: str, source: str) -> IncidentType:
    found = ALARM_INCIDENT_TYPES.get(alarm_type) or SOURCE_INCIDENT_TYPES.get(source)
    return found or IncidentType.SUSPICIOUS_PACKAGE


def severity_for_alarm(severity: int) -> IncidentSeverity:
    """Alarms count up to 4 (critical); incidents count down to SEV-1 (the worst)."""
    level = min(max(int(severity), Severity.LOW), Severity.CRITICAL)
    return IncidentSeverity(5 - level)


def open_from_alarm(actor: Actor, alarm_id: int) -> Incident | None:
    """An alarm rule said ``open_incident``: open the incident of the alarm's type, linked to
    it. Once per alarm: a second call returns the incident already opened. None for an alarm
    without a site (a ledger check), which stays on the console for people to act on."""
    if actor.kind != "job":
        raise Forbidden("an alarm rule's incident is opened by the rule, not by people")
    with transaction.atomic():
        alarm = (
            Alarm.objects.select_for_update(of=("self",))
            .select_related("site", "rule")
            .get(pk=alarm_id)
        )
        done = AlarmIncident.objects.filter(alarm=alarm).select_related("incident").first()
        if done is not None:
            return done.incident
        if alarm.site is None:
            return None
        rule = f"alarm rule {alarm.rule.name!r}" if alarm.rule else "the alarm rules"
        values = _validated_open(
            actor,
            OpenIncidentRequest(
                type=incident_type_for_alarm(alarm.type, alarm.source),
                severity=severity_for_alarm(alarm.severity),
                site=alarm.site.code,
                title=alarm.title,
                summary=f"Opened by {rule} from alarm #{alarm.pk}: {alarm.title}",
                alarm_ids=(alarm.pk,),
            ),
        )
        try:
            with transaction.atomic():
                incident = _open(actor, values)
                AlarmIncident.objects.create(alarm=alarm, incident=incident)
        except IntegrityError:
            # Another dispatcher opened it between our check and our insert.
            return AlarmIncident.objects.select_related("incident").get(alarm=alarm).incident
    return incident


# ----------------------------------------------------------------------------- changes


def _locked(incident_id: int, *, open_only: bool = True) -> Incident:
    incident = (
        Incident.objects.select_for_update().select_related("site").filter(pk=incident_id).first()
    )
    if incident is None:
        raise NotFound(f"no incident {incident_id}", "incident_id")
    if open_only and incident.state == IncidentState.CLOSED:
        raise Conflict(f"{incident.reference} is closed; its record is final", "incident_id")
    return incident


def allowed_moves(state: str) -> tuple[str, ...]:
    return tuple(str(s) for s in ALLOWED_MOVES.get(state, ()))


def move(actor: Actor, incident_id: int, state: str, note: str = "") -> Incident:
    """Move an incident to another state; a move the response may not make is refused, naming
    the moves it may."""
    require(actor, HANDLE_INCIDENTS, "moving incidents")
    if state not in IncidentState.values:
        raise ServiceError(f"must be one of {_choices(IncidentState.values)}", "state")
    note = check_text(note, "note", max_length=1000)
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id, open_only=False)
        previous = incident.state
        allowed = allowed_moves(previous)
        if state not in allowed:
            if not allowed:
                reason = f"{incident.reference} is {previous}: it cannot move any more"
            else:
                reason = (
                    f"{incident.reference} is {previous}: it can move to "
                    f"{' or '.join(allowed)}, not {state}"
                )
            raise Conflict(reason, "state")
        incident.state = state
        if state == IncidentState.CONTAINED and incident.contained_at is None:
            incident.contained_at = now
        elif state == IncidentState.RESOLVED:
            incident.resolved_at = now
        elif state == IncidentState.CLOSED:
            incident.closed_at = now
        elif state == IncidentState.OPEN:
            # Reopened: it is no longer resolved; when it was first contained still stands.
            incident.resolved_at = None
        incident.save(update_fields=["state", "contained_at", "resolved_at", "closed_at"])
        text = f"{IncidentState(previous).label} → {IncidentState(state).label}"
        timeline.append(
            incident.pk,
            "state",
            f"{text}: {note}" if note else text,
            by=actor.label,
            at=now,
            data={"previous": previous, "state": state, "note": note},
        )
        ledger.append(
            actor,
            "incidents.incident.state_changed",
            "incident",
            str(incident.pk),
            {"reference": incident.reference, "previous": previous, "state": state, "note": note},
            at=now,
        )
        outbox.emit(
            IncidentStateChanged(
                incident=incident.pk,
                reference=incident.reference,
                site=incident.site.code,
                previous=previous,
                state=state,
                by=actor.label,
                exercise=incident.exercise,
                title=incident.title,
                at=now,
            )
        )
    return incident


def add_note(actor: Actor, incident_id: int, text: str) -> None:
    require(actor, HANDLE_INCIDENTS, "adding notes to incidents")
    text = check_text(text, "text", max_length=1000, required=True)
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        timeline.append(incident.pk, "note", text, by=actor.label, at=now)
        ledger.append(
            actor,
            "incidents.note.added",
            "incident",
            str(incident.pk),
            {"reference": incident.reference, "text": text},
            at=now,
        )


# ----------------------------------------------------------------------------- assignees


def staff_user(username: str, field_name: str = "username") -> User:
    """An active member of staff who acts (:data:`ASSIGNABLE`), by username: assignees and task
    owners."""
    name = check_text(username, field_name, max_length=150, required=True)
    user = User.objects.filter(username=name).first()
    if user is None:
        raise NotFound(f"no user {name!r}", field_name)
    if not user.is_active:
        raise ServiceError(f"{name} is deactivated", field_name)
    roles = {g for g in user.groups.values_list("name", flat=True)}
    if not user.is_superuser and not roles & {r.value for r in ASSIGNABLE}:
        raise ServiceError(f"{name} is not a member of staff who acts on incidents", field_name)
    return user


def assign(actor: Actor, incident_id: int, username: str) -> IncidentAssignee:
    require(actor, HANDLE_INCIDENTS, "assigning incidents")
    user = staff_user(username)
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        if IncidentAssignee.objects.filter(incident=incident, user=user).exists():
            raise Conflict(f"{user.username} is assigned already", "username")
        assignee = IncidentAssignee.objects.create(
            incident=incident, user=user, assigned_at=now, assigned_by=actor.label
        )
        timeline.append(incident.pk, "assign", f"Assigned {user.username}", by=actor.label, at=now)
        ledger.append(
            actor,
            "incidents.assignee.added",
            "incident",
            str(incident.pk),
            {"reference": incident.reference, "username": user.username},
            at=now,
        )
    return assignee


def unassign(actor: Actor, incident_id: int, username: str) -> None:
    require(actor, HANDLE_INCIDENTS, "assigning incidents")
    name = check_text(username, "username", max_length=150, required=True)
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        assignee = IncidentAssignee.objects.filter(incident=incident, user__username=name).first()
        if assignee is None:
            raise NotFound(f"{name} is not assigned to {incident.reference}", "username")
        assignee.delete()
        timeline.append(incident.pk, "assign", f"Unassigned {name}", by=actor.label, at=now)
        ledger.append(
            actor,
            "incidents.assignee.removed",
            "incident",
            str(incident.pk),
            {"reference": incident.reference, "username": name},
            at=now,
        )


# ----------------------------------------------------------------------------- links


def _link_target(actor: Actor, incident: Incident, kind: str, target: str) -> tuple[str, str]:
    """The target's identifier as stored, and its label; refused naming ``target`` when the
    lower app does not know it."""
    if kind == LinkKind.ITEM:
        uid = target.upper()
        item = custody_queries.visible_items(actor).filter(uid=uid).first()
        if item is None:
            raise NotFound(f"no item {target!r}", "target")
        return item.uid, f"{item.get_kind_display()} for {item.recipient}"[:200]
    if kind == LinkKind.ALARM:
        alarm = (
            Alarm.objects.filter(pk=int(target)).first()
            if target.isdigit() and len(target) < 10
            else None
        )
        if alarm is None:
            raise NotFound(f"no alarm {target!r}", "target")
        return str(alarm.pk), alarm.title[:200]
    if kind == LinkKind.DOOR:
        # Doors are named by their code at the incident's site, as on its door board.
        door = access_queries.door_at(incident.site, target, "target")
        return door.code, (door.name or door.code)[:200]
    if kind == LinkKind.CAMERA:
        if not _CAMERA_REF.fullmatch(target):
            raise ServiceError(
                "a camera reference is letters, digits and . _ : / - (up to 100)", "target"
            )
        return target, ""
    if kind == LinkKind.PERSON:
        person = access_queries.recipient_with_employee_id(target, "target")
        return person.employee_id, str(person)[:200]
    user = staff_user(target, "target")
    return user.username, (user.get_full_name() or user.username)[:200]


def _link(
    actor: Actor, incident: Incident, kind: str, target: str, label: str, now: datetime
) -> IncidentLink:
    link = IncidentLink.objects.create(
        incident=incident, kind=kind, target=target, label=label, added_at=now, added_by=actor.label
    )
    shown = f"{LinkKind(kind).label} {target}" + (f" ({label})" if label else "")
    timeline.append(
        incident.pk,
        "link",
        f"Linked {shown}",
        by=actor.label,
        at=now,
        data={"kind": kind, "target": target},
    )
    ledger.append(
        actor,
        "incidents.link.added",
        "incident",
        str(incident.pk),
        {"reference": incident.reference, "kind": kind, "target": target, "label": label},
        at=now,
    )
    return link


def add_link(actor: Actor, incident_id: int, kind: str, target: str) -> IncidentLink:
    """Link the incident to an item, alarm, door, camera, person or member of staff."""
    require(actor, HANDLE_INCIDENTS, "linking incidents")
    if kind not in LinkKind.values:
        raise ServiceError(f"must be one of {_choices(LinkKind.values)}", "kind")
    target = check_text(target, "target", max_length=100, required=True)
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        stored, label = _link_target(actor, incident, kind, target)
        if IncidentLink.objects.filter(incident=incident, kind=kind, target=stored).exists():
            raise Conflict(f"{incident.reference} is linked to {kind} {stored} already", "target")
        return _link(actor, incident, kind, stored, label, now)


def remove_link(actor: Actor, incident_id: int, link_id: int) -> None:
    require(actor, HANDLE_INCIDENTS, "linking incidents")
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        link = IncidentLink.objects.filter(incident=incident, pk=link_id).first()
        if link is None:
            raise NotFound(f"no link {link_id} on {incident.reference}", "link_id")
        data = {"reference": incident.reference, "kind": link.kind, "target": link.target}
        link.delete()
        timeline.append(
            incident.pk,
            "link",
            f"Unlinked {LinkKind(data['kind']).label} {data['target']}",
            by=actor.label,
            at=now,
            data=data,
        )
        ledger.append(actor, "incidents.link.removed", "incident", str(incident.pk), data, at=now)


# ----------------------------------------------------------------------------- evidence

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._ ()+-]")


def _file_name(name: str) -> str:
    # Only the last part of a path a browser sent, without characters a download header or a
    # file system would read as something else.
    base = re.split(r"[\\/]", name or "")[-1].strip()
    cleaned = _UNSAFE_NAME.sub("_", base)[:200].strip(". ")
    return cleaned or "evidence"


def add_evidence(
    actor: Actor,
    incident_id: int,
    *,
    name: str,
    data: bytes,
    content_type: str = "",
    description: str = "",
) -> IncidentEvidence:
    """Keep a file as evidence: its bytes go to the content-addressed store, and its SHA-256
    to the ledger and the timeline, so any later copy can be checked against the record."""
    require(actor, HANDLE_INCIDENTS, "adding evidence")
    limit = evidence_limit()
    if not data:
        raise ServiceError("the file is empty", "file")
    if len(data) > limit:
        raise EvidenceTooLarge(f"the file is {len(data)} bytes; the limit is {limit}", "file")
    description = check_text(description, "description", max_length=500)
    content_type = check_text(content_type, "content_type", max_length=100)
    file_name = _file_name(name)
    if not Incident.objects.filter(pk=incident_id).exists():
        raise NotFound(f"no incident {incident_id}", "incident_id")
    # Stored before the transaction: a file the transaction then refuses is only an unnamed
    # blob, and the store never holds a record pointing at nothing.
    digest = media.put(data)
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        if IncidentEvidence.objects.filter(incident=incident, sha256=digest).exists():
            raise Conflict(f"this file is evidence on {incident.reference} already", "file")
        evidence = IncidentEvidence.objects.create(
            incident=incident,
            name=file_name,
            sha256=digest,
            size=len(data),
            content_type=content_type,
            description=description,
            added_at=now,
            added_by=actor.label,
        )
        timeline.append(
            incident.pk,
            "evidence",
            f"Evidence {file_name} ({len(data)} bytes), SHA-256 {digest}",
            by=actor.label,
            at=now,
            data={"evidence": evidence.pk, "sha256": digest, "size": len(data)},
        )
        ledger.append(
            actor,
            "incidents.evidence.added",
            "incident",
            str(incident.pk),
            {
                "reference": incident.reference,
                "evidence": evidence.pk,
                "name": file_name,
                "sha256": digest,
                "size": len(data),
                "description": description,
            },
            at=now,
        )
    return evidence


def evidence_bytes(evidence: IncidentEvidence) -> bytes:
    """The stored file, checked against its recorded hash before anyone is handed it."""
    data = media.get(evidence.sha256)
    if hashlib.sha256(data).hexdigest() != evidence.sha256:
        raise Conflict(f"the stored copy of {evidence.name} does not match its hash", "evidence")
    return data


# ----------------------------------------------------------------------------- tasks


def add_task(
    actor: Actor,
    incident_id: int,
    *,
    title: str,
    assignee: str = "",
    due_at: datetime | None = None,
) -> IncidentTask:
    require(actor, HANDLE_INCIDENTS, "adding tasks")
    title = check_text(title, "title", max_length=200, required=True)
    user = staff_user(assignee, "assignee") if assignee else None
    if due_at is not None and due_at.tzinfo is None:
        raise ServiceError("give the time with its offset", "due_at")
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        task = IncidentTask.objects.create(
            incident=incident,
            title=title,
            assignee=user,
            due_at=due_at,
            created_at=now,
            created_by=actor.label,
        )
        who = f" for {user.username}" if user else ""
        timeline.append(
            incident.pk,
            "task",
            f"Task added{who}: {title}",
            by=actor.label,
            at=now,
            data={"task": task.pk},
        )
        ledger.append(
            actor,
            "incidents.task.added",
            "incident",
            str(incident.pk),
            {
                "reference": incident.reference,
                "task": task.pk,
                "title": title,
                "assignee": user.username if user else None,
                "due_at": due_at.isoformat() if due_at else None,
            },
            at=now,
        )
    return task


def task_late(task: IncidentTask, now: datetime | None = None) -> bool:
    """Done after its due time, or still not done past it."""
    if task.due_at is None:
        return False
    return (task.done_at or now or clock.now()) > task.due_at


def complete_task(actor: Actor, incident_id: int, task_id: int) -> IncidentTask:
    require(actor, HANDLE_INCIDENTS, "completing tasks")
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id)
        tasks = IncidentTask.objects.select_for_update()
        task = tasks.filter(incident=incident, pk=task_id).first()
        if task is None:
            raise NotFound(f"no task {task_id} on {incident.reference}", "task_id")
        if task.done_at is not None:
            raise Conflict(f"the task was done already, by {task.done_by}", "task_id")
        task.done_at, task.done_by = now, actor.label
        task.save(update_fields=["done_at", "done_by"])
        timeline.append(
            incident.pk,
            "task",
            f"Task done: {task.title}",
            by=actor.label,
            at=now,
            data={"task": task.pk},
        )
        ledger.append(
            actor,
            "incidents.task.done",
            "incident",
            str(incident.pk),
            {"reference": incident.reference, "task": task.pk, "title": task.title},
            at=now,
        )
    return task
