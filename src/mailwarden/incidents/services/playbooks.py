"""Playbooks: each incident type's response as ordered steps, copied onto an incident when it
opens, checked off with times, and steps that act: lock the site's doors (access), hold every
item at the site (custody), or send a message to the people holding the step's role (delivery).

An exercise that a security manager has not armed only simulates the actions that touch doors
or items: nothing changes, and the step says what would have happened. Its messages are sent,
labelled EXERCISE by :mod:`mailwarden.incidents.delivery`.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from mailwarden.access.models import Door
from mailwarden.access.services import lockdown
from mailwarden.access.services.common import LOCKDOWN
from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import STAFF, Role
from mailwarden.core.tasks import periodic
from mailwarden.core.validation import check_text
from mailwarden.custody import holds
from mailwarden.incidents import delivery
from mailwarden.incidents.models import (
    ActionStatus,
    Incident,
    IncidentState,
    IncidentStep,
    Playbook,
    PlaybookStep,
    StepAction,
)
from mailwarden.incidents.queries import playbooks as queries
from mailwarden.incidents.services import timeline
from mailwarden.incidents.services.playbook_defaults import DEFAULT_PLAYBOOKS

EDIT_PLAYBOOKS = (Role.SECURITY_MANAGER,)
VIEW_PLAYBOOKS = tuple(sorted(STAFF))
# Everyone on the staff may read an incident's steps: the steps are theirs to do.
VIEW_STEPS = VIEW_PLAYBOOKS
ARM_EXERCISES = (Role.SECURITY_MANAGER,)
JOB = Actor.job("playbooks")

MAX_STEPS = 40
MAX_TARGET_MINUTES = 1440
PLACEHOLDERS = ("site", "reference", "title")
# The roles each acting step's role must hold for its action to be allowed to run.
ACTION_ROLES: dict[str, tuple[Role, ...]] = {
    StepAction.LOCKDOWN_SITE: tuple(LOCKDOWN),
    StepAction.HOLD_SITE_MAIL: tuple(holds.PLACE_HOLDS),
}
ACTIONS_THAT_SIMULATE = frozenset({StepAction.LOCKDOWN_SITE, StepAction.HOLD_SITE_MAIL})


def _role_title(role: str) -> str:
    try:
        return Role(role).title.lower()
    except ValueError:
        return role


# ----------------------------------------------------------------------------- starting


def start_playbook(actor: Actor, incident: Incident) -> list[IncidentStep]:
    """Copy the incident type's playbook onto the incident, each step due ``target_minutes``
    after it opened. Runs in the caller's transaction (opening an incident); an incident that
    has its steps already keeps them, so a repeat does nothing."""
    with transaction.atomic():
        if IncidentStep.objects.filter(incident=incident).exists():
            return list(IncidentStep.objects.filter(incident=incident))
        playbook = Playbook.objects.filter(incident_type=incident.type).first()
        if playbook is None:
            timeline.append(
                incident.pk,
                "playbook",
                f"No playbook for {incident.get_type_display().lower()}; no steps were added",
                by=actor.label,
            )
            return []
        steps = IncidentStep.objects.bulk_create(
            IncidentStep(
                incident=incident,
                position=s.position,
                title=s.title,
                instructions=s.instructions,
                role=s.role,
                target_at=incident.opened_at + timedelta(minutes=s.target_minutes),
                action=s.action,
                message=s.message,
            )
            for s in playbook.steps.order_by("position")
        )
        timeline.append(
            incident.pk,
            "playbook",
            f"Playbook “{playbook.name}” started: {len(steps)} steps",
            by=actor.label,
            data={"playbook": playbook.pk, "steps": len(steps)},
        )
        ledger.append(
            actor,
            "incidents.playbook.started",
            "incident",
            incident.reference,
            {"playbook": playbook.pk, "name": playbook.name, "steps": len(steps)},
        )
    return steps


# ----------------------------------------------------------------------------- checking off


def may_complete(actor: Actor, step: IncidentStep) -> bool:
    """The step's own role does it; a security manager may do any step."""
    roles: list[Role] = [Role.SECURITY_MANAGER]
    if step.role in Role._value2member_map_:
        roles.append(Role(step.role))
    return actor.has(*roles)


def _incident(incident_id: int, *, lock: bool = False) -> Incident:
    query = Incident.objects.select_related("site")
    if lock:
        query = query.select_for_update(of=("self",))
    incident = query.filter(pk=incident_id).first()
    if incident is None:
        raise NotFound(f"no incident {incident_id}", "incident_id")
    return incident


def complete_step(actor: Actor, incident_id: int, position: int, note: str = "") -> IncidentStep:
    """Check a step off with the time and who did it, then run its action.

    The check-off stands whatever the action does: an action that fails is recorded as failed
    with its reason (and can be done by hand), never undoing the check-off.
    """
    require(actor, VIEW_STEPS, "checking off playbook steps")
    if actor.kind == "device":
        # A controller's token carries an operator's role; a step is a person's word that it
        # was done.
        raise Forbidden("checking off a playbook step is for a person, not a device token")
    note = check_text(note, "note", max_length=500)
    with transaction.atomic():
        incident = _incident(incident_id, lock=True)
        step = (
            IncidentStep.objects.select_for_update()
            .filter(incident=incident, position=position)
            .first()
        )
        if step is None:
            raise NotFound(f"{incident.reference} has no step {position}", "position")
        if not may_complete(actor, step):
            raise Forbidden(
                f"step {position} is for the {_role_title(step.role)} (or a security manager)",
                "position",
            )
        if step.done_at is not None:
            raise Conflict(
                f"step {position} was checked off by {step.done_by} at "
                f"{step.done_at:%Y-%m-%d %H:%M} UTC",
                "position",
            )
        if incident.state == IncidentState.CLOSED:
            raise Conflict(f"{incident.reference} is closed", "incident_id")
        now = clock.now()
        step.done_at, step.done_by, step.done_note = now, actor.label, note
        late = now > step.target_at
        text = f"Step {step.position} done: {step.title}"
        if late:
            text += f" ({_minutes(now - step.target_at)} late)"
        if note:
            text += f" — {note}"
        timeline.append(
            incident.pk,
            "step",
            text,
            by=actor.label,
            at=now,
            data={"position": step.position, "late": late},
        )
        if step.action:
            step.action_status, step.action_result = _run_action(actor, incident, step)
            timeline.append(
                incident.pk,
                "action",
                f"Step {step.position} {StepAction(step.action).label.lower()}: "
                f"{ActionStatus(step.action_status).label.lower()}: {step.action_result}",
                by=actor.label,
                at=now,
                data={
                    "position": step.position,
                    "action": step.action,
                    "status": step.action_status,
                },
            )
        step.save(
            update_fields=["done_at", "done_by", "done_note", "action_status", "action_result"]
        )
        ledger.append(
            actor,
            "incidents.step.completed",
            "incident",
            incident.reference,
            {
                "position": step.position,
                "title": step.title,
                "note": note,
                "late": late,
                "action": step.action,
                "action_status": step.action_status,
                "action_result": step.action_result,
            },
        )
    return step


def _minutes(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes} min" if minutes >= 1 else "under a minute"


def _run_action(actor: Actor, incident: Incident, step: IncidentStep) -> tuple[str, str]:
    """(status, result) of the step's action; a refusal is caught in its own savepoint so the
    check-off survives it."""
    if step.action in ACTIONS_THAT_SIMULATE and incident.exercise and not incident.armed:
        return ActionStatus.SIMULATED, _simulate(incident, step)
    try:
        with transaction.atomic():
            if step.action == StepAction.LOCKDOWN_SITE:
                result = _lockdown(actor, incident, step)
            elif step.action == StepAction.HOLD_SITE_MAIL:
                result = _hold_mail(actor, incident, step)
            elif step.action == StepAction.SEND_MESSAGE:
                result = _send_message(incident, step)
            else:
                raise ServiceError(f"unknown action {step.action!r}", "action")
    except ServiceError as exc:
        return ActionStatus.FAILED, exc.message[:1000]
    return ActionStatus.DONE, result[:1000]


def _door_count(incident: Incident) -> int:
    return Door.objects.filter(site=incident.site).count()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _simulate(incident: Incident, step: IncidentStep) -> str:
    site = incident.site.name
    if step.action == StepAction.LOCKDOWN_SITE:
        return (
            f"exercise not armed: would lock {_plural(_door_count(incident), 'door')} at {site}; "
            "nothing was changed"
        )
    items = holds.items_held_count(incident.site)
    return (
        f"exercise not armed: would hold all mail at {site} "
        f"({_plural(items, 'item')} there now); nothing was changed"
    )


def _lockdown(actor: Actor, incident: Incident, step: IncidentStep) -> str:
    lockdown.lockdown_site(
        actor,
        incident.site.code,
        confirm=True,
        reason=f"{incident.reference} step {step.position}: {step.title}"[:200],
    )
    return (
        f"locked {_plural(_door_count(incident), 'door')} at {incident.site.name} (site lockdown)"
    )


def hold_ref(incident: Incident) -> str:
    return f"incident:{incident.pk}"


def _hold_mail(actor: Actor, incident: Incident, step: IncidentStep) -> str:
    hold = holds.place_site_hold(
        actor,
        incident.site.code,
        reason=f"incident {incident.reference}: {incident.title}"[:300],
        ref=hold_ref(incident),
    )
    items = holds.items_held_count(incident.site)
    return (
        f"held all mail at {incident.site.name} (hold {hold.pk}): "
        f"{_plural(items, 'item')} cannot be handed over until the hold is released"
    )


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_message(template: str, incident: Incident) -> str:
    return template.format_map(
        _Blank(site=incident.site.name, reference=incident.reference, title=incident.title)
    )


def role_holders(role: str) -> list[int]:
    """The active users holding ``role`` (roles are Django groups named by their value)."""
    users = get_user_model().objects.filter(groups__name=role, is_active=True).distinct()
    return list(users.order_by("pk").values_list("pk", flat=True))


def _send_message(incident: Incident, step: IncidentStep) -> str:
    people = role_holders(step.role)
    if not people:
        raise ServiceError(f"nobody holds the {_role_title(step.role)} role", "role")
    text = render_message(step.message, incident)
    subject = f"{incident.reference}: {step.title}"
    messages = [
        delivery.Outgoing(
            to=address,
            subject=subject,
            text=text,
            key=f"incident:{incident.pk}:step:{step.position}:{address.channel}:{address.address}",
            ref=f"incident:{incident.pk}",
            payload={
                "incident": incident.reference,
                "step": step.position,
                "site": incident.site.code,
            },
            exercise=incident.exercise,
        )
        for user_id in people
        for address in delivery.addresses_for_user(user_id)
    ]
    queued = delivery.queue(messages)
    label = "exercise message" if incident.exercise else "message"
    return (
        f"queued {_plural(queued, label)} to {_plural(len(people), 'person')} "
        f"holding the {_role_title(step.role)} role"
    ).replace("persons", "people")


# ----------------------------------------------------------------------------- late steps


@periodic("incidents.late_steps")
def note_late_steps(now: datetime | None = None) -> int:
    """Write once on each incident's timeline when one of its steps runs past its target time
    undone (the page shows late steps in red whenever it is drawn; the timeline keeps when it
    happened, for the after-action report). Returns how many were noted."""
    now = now or clock.now()
    noted = 0
    with transaction.atomic():
        late = (
            queries.late_steps(now)
            .filter(late_noted_at__isnull=True)
            .select_for_update(of=("self",), skip_locked=True)[:500]
        )
        for step in late:
            step.late_noted_at = now
            step.save(update_fields=["late_noted_at"])
            timeline.append(
                step.incident_id,
                "late",
                f"Step {step.position} is late: {step.title} (due "
                f"{step.target_at:%H:%M} UTC, {_role_title(step.role)})",
                by=JOB.label,
                at=now,
                data={"position": step.position},
            )
            noted += 1
    return noted


# ----------------------------------------------------------------------------- exercises


def arm_exercise(actor: Actor, incident_id: int) -> Incident:
    """Let an exercise's door and item actions run for real from now on."""
    require(actor, ARM_EXERCISES, "arming an exercise")
    with transaction.atomic():
        incident = _incident(incident_id, lock=True)
        if not incident.exercise:
            raise ServiceError(
                f"{incident.reference} is not an exercise; its actions act already", "incident_id"
            )
        if incident.armed:
            raise Conflict(f"{incident.reference} is armed already", "incident_id")
        incident.armed = True
        incident.save(update_fields=["armed"])
        timeline.append(
            incident.pk,
            "exercise",
            "Exercise armed: its steps now lock doors and hold mail for real",
            by=actor.label,
        )
        ledger.append(actor, "incidents.exercise.armed", "incident", incident.reference, {})
    return incident


def release_incident_hold(actor: Actor, incident_id: int, *, reason: str = "") -> int:
    """Release the site mail hold the incident's playbook placed; returns the hold's number."""
    require(actor, holds.RELEASE_HOLDS, "releasing a site's mail hold")
    with transaction.atomic():
        incident = _incident(incident_id, lock=True)
        standing = [
            h for h in holds.standing_holds(incident.site_id) if h.ref == hold_ref(incident)
        ]
        if not standing:
            raise Conflict(f"{incident.reference} holds no mail", "incident_id")
        hold = holds.release_site_hold(actor, standing[0].pk, reason=reason)
        timeline.append(
            incident.pk,
            "action",
            f"Mail hold {hold.pk} at {incident.site.name} released"
            + (f": {hold.release_reason}" if hold.release_reason else ""),
            by=actor.label,
        )
    return hold.pk


# ----------------------------------------------------------------------------- editing


@dataclass(frozen=True)
class StepRequest:
    title: str
    role: str
    target_minutes: int
    instructions: str = ""
    action: str = ""
    message: str = ""


@dataclass(frozen=True)
class PlaybookRequest:
    """A playbook's whole content: its steps in order (adding, removing and reordering steps
    is sending the list as it should be)."""

    name: str
    steps: Sequence[StepRequest]
    description: str = ""


STEP_ROLES = tuple(r.value for r in Role if r in STAFF)


def _check_message(template: str, field: str) -> str:
    template = check_text(template, field, max_length=2000, required=True)
    try:
        names = [n for _, n, _, _ in string.Formatter().parse(template) if n is not None]
    except ValueError as exc:
        raise ServiceError(
            f"is not a valid template ({exc}); write {{{{ for a brace", field
        ) from None
    unknown = sorted({n for n in names if n not in PLACEHOLDERS})
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        raise ServiceError(
            f"unknown placeholder {', '.join('{' + n + '}' for n in unknown)}; use {allowed}",
            field,
        )
    return template


def _check_step(n: int, step: StepRequest) -> dict[str, Any]:
    at = f"steps.{n}"
    title = check_text(step.title, f"{at}.title", max_length=200, required=True)
    instructions = check_text(step.instructions, f"{at}.instructions", max_length=4000)
    if step.role not in STEP_ROLES:
        raise ServiceError(
            f"unknown role {step.role!r}; choose one of {', '.join(STEP_ROLES)}", f"{at}.role"
        )
    minutes = step.target_minutes
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, int)
        or not 0 <= minutes <= MAX_TARGET_MINUTES
    ):
        raise ServiceError(
            f"must be a whole number of minutes from 0 to {MAX_TARGET_MINUTES}",
            f"{at}.target_minutes",
        )
    if step.action not in StepAction.values:
        raise ServiceError(
            f"unknown action {step.action!r}; choose one of "
            + ", ".join(v or "(none)" for v in StepAction.values),
            f"{at}.action",
        )
    needed = ACTION_ROLES.get(step.action)
    if needed and Role(step.role) not in needed:
        raise ServiceError(
            f"the {_role_title(step.role)} may not {StepAction(step.action).label.lower()}; "
            f"give the step to the {' or '.join(r.title.lower() for r in needed)}",
            f"{at}.role",
        )
    if step.action == StepAction.SEND_MESSAGE:
        message = _check_message(step.message, f"{at}.message")
    elif step.message.strip():
        raise ServiceError("only a send_message step has a message", f"{at}.message")
    else:
        message = ""
    return {
        "position": n + 1,
        "title": title,
        "instructions": instructions,
        "role": step.role,
        "target_minutes": minutes,
        "action": step.action,
        "message": message,
    }


def check_playbook(request: PlaybookRequest) -> tuple[str, str, list[dict[str, Any]]]:
    name = check_text(request.name, "name", max_length=120, required=True)
    description = check_text(request.description, "description", max_length=4000)
    if not request.steps:
        raise ServiceError("a playbook needs at least one step", "steps")
    if len(request.steps) > MAX_STEPS:
        raise ServiceError(f"at most {MAX_STEPS} steps", "steps")
    return name, description, [_check_step(n, s) for n, s in enumerate(request.steps)]


def _content(playbook: Playbook) -> dict[str, Any]:
    return {
        "name": playbook.name,
        "description": playbook.description,
        "steps": [
            {
                "title": s.title,
                "role": s.role,
                "target_minutes": s.target_minutes,
                "action": s.action,
                "message": s.message,
                "instructions": s.instructions,
            }
            for s in playbook.steps.order_by("position")
        ],
    }


def update_playbook(actor: Actor, playbook_id: int, request: PlaybookRequest) -> Playbook:
    """Replace a playbook's name, description and steps. Incidents already open keep the steps
    they were given; the next incident of the type gets these."""
    require(actor, EDIT_PLAYBOOKS, "editing playbooks")
    name, description, steps = check_playbook(request)
    with transaction.atomic():
        playbook = Playbook.objects.select_for_update().filter(pk=playbook_id).first()
        if playbook is None:
            raise NotFound(f"no playbook {playbook_id}", "playbook_id")
        before = _content(playbook)
        playbook.name, playbook.description = name, description
        playbook.updated_at, playbook.updated_by = clock.now(), actor.label
        playbook.save(update_fields=["name", "description", "updated_at", "updated_by"])
        playbook.steps.all().delete()
        PlaybookStep.objects.bulk_create(PlaybookStep(playbook=playbook, **s) for s in steps)
        after = _content(playbook)
        ledger.append(
            actor,
            "incidents.playbook.updated",
            "playbook",
            playbook.incident_type,
            {"before": before, "after": after},
        )
    return playbook


# ----------------------------------------------------------------------------- the defaults


def install_default_playbooks(actor: Actor) -> list[Playbook]:
    """Add the shipped playbook of every incident type that has none; edited ones are kept."""
    require(actor, EDIT_PLAYBOOKS, "installing the default playbooks")
    created: list[Playbook] = []
    now = clock.now()
    with transaction.atomic():
        have = set(Playbook.objects.values_list("incident_type", flat=True))
        for data in DEFAULT_PLAYBOOKS:
            if data["incident_type"] in have:
                continue
            playbook = Playbook.objects.create(
                incident_type=data["incident_type"],
                name=data["name"],
                description=data["description"],
                updated_at=now,
                updated_by=actor.label,
            )
            PlaybookStep.objects.bulk_create(
                PlaybookStep(playbook=playbook, position=n, **step)
                for n, step in enumerate(data["steps"], start=1)
            )
            created.append(playbook)
        if created:
            ledger.append(
                actor,
                "incidents.playbook.installed",
                "playbook",
                ",".join(p.incident_type for p in created),
                {"types": [p.incident_type for p in created]},
            )
    return created
