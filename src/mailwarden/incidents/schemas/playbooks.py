"""The playbooks API's shapes, bounded like their columns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Schema
from pydantic import Field

from mailwarden.core import clock
from mailwarden.core.api import Input
from mailwarden.incidents.models import Incident, IncidentStep, Playbook, PlaybookStep
from mailwarden.incidents.queries import playbooks as queries

Id = Annotated[int, Field(ge=1, le=2**31 - 1)]
Position = Annotated[int, Field(ge=1, le=32767)]
RoleName = Literal["security_manager", "security_operator", "screener", "clerk", "auditor"]
ActionName = Literal["", "lockdown_site", "hold_site_mail", "send_message"]


class PlaybookStepOut(Schema):
    position: int
    title: str
    instructions: str
    role: str
    target_minutes: int
    action: str
    message: str


class PlaybookOut(Schema):
    id: int
    incident_type: str
    name: str
    description: str
    updated_at: datetime
    updated_by: str
    steps: list[PlaybookStepOut]


def _step_out(step: PlaybookStep) -> PlaybookStepOut:
    return PlaybookStepOut(
        position=step.position,
        title=step.title,
        instructions=step.instructions,
        role=step.role,
        target_minutes=step.target_minutes,
        action=step.action,
        message=step.message,
    )


def playbook_out(playbook: Playbook) -> PlaybookOut:
    return PlaybookOut(
        id=playbook.pk,
        incident_type=playbook.incident_type,
        name=playbook.name,
        description=playbook.description,
        updated_at=playbook.updated_at,
        updated_by=playbook.updated_by,
        steps=[_step_out(s) for s in playbook.steps.order_by("position")],
    )


class PlaybookStepIn(Input):
    title: str = Field(min_length=1, max_length=200)
    instructions: str = Field("", max_length=4000)
    role: RoleName
    target_minutes: int = Field(ge=0, le=1440, description="Minutes after the incident opened.")
    action: ActionName = ""
    message: str = Field(
        "",
        max_length=2000,
        description="For send_message: the text, with {site}, {reference} and {title}.",
    )


class PlaybookIn(Input):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field("", max_length=4000)
    steps: list[PlaybookStepIn] = Field(
        min_length=1, max_length=40, description="In order; the list replaces the steps."
    )


class IncidentStepOut(Schema):
    incident: str
    position: int
    title: str
    instructions: str
    role: str
    target_at: datetime
    late: bool
    done_at: datetime | None
    done_by: str
    done_note: str
    action: str
    action_status: str
    action_result: str


def incident_step_out(
    step: IncidentStep, incident: Incident, now: datetime | None = None
) -> IncidentStepOut:
    return IncidentStepOut(
        incident=incident.reference,
        position=step.position,
        title=step.title,
        instructions=step.instructions,
        role=step.role,
        target_at=step.target_at,
        late=queries.is_late(step, incident, now or clock.now()),
        done_at=step.done_at,
        done_by=step.done_by,
        done_note=step.done_note,
        action=step.action,
        action_status=step.action_status,
        action_result=step.action_result,
    )


class CompleteStepIn(Input):
    note: str = Field("", max_length=500)


class ReleaseHoldIn(Input):
    reason: str = Field("", max_length=300)


class ArmedOut(Schema):
    incident: str
    exercise: bool
    armed: bool


class HoldReleasedOut(Schema):
    incident: str
    hold: int
