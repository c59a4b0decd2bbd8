"""``{% playbook_steps incident as pb %}``: what the steps partial shows of an incident, for
whoever is looking (their check-off buttons follow their roles)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import template

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.custody import holds
from mailwarden.custody.models import SiteMailHold
from mailwarden.incidents.models import Incident, IncidentStep
from mailwarden.incidents.queries import playbooks as queries
from mailwarden.incidents.services import playbooks as services

register = template.Library()


@dataclass(frozen=True)
class StepRow:
    step: IncidentStep
    role_title: str
    late: bool
    done_late: bool
    may_complete: bool


@dataclass(frozen=True)
class StepsView:
    rows: list[StepRow]
    late_count: int
    simulating: bool
    can_arm: bool
    hold: SiteMailHold | None
    can_release: bool


def _role_title(role: str) -> str:
    try:
        return Role(role).title
    except ValueError:
        return role


@register.simple_tag(takes_context=True)
def playbook_steps(context: dict[str, Any], incident: Incident) -> StepsView:
    request = context.get("request")
    user = getattr(request, "user", None)
    actor = Actor.for_user(user) if user is not None and user.is_authenticated else None
    now = clock.now()
    rows = [
        StepRow(
            step=s,
            role_title=_role_title(s.role),
            late=queries.is_late(s, incident, now),
            done_late=s.done_at is not None and s.done_at > s.target_at,
            may_complete=actor is not None
            and s.done_at is None
            and services.may_complete(actor, s),
        )
        for s in queries.incident_steps(incident)
    ]
    hold = next(
        (h for h in holds.standing_holds(incident.site_id) if h.ref == services.hold_ref(incident)),
        None,
    )
    return StepsView(
        rows=rows,
        late_count=sum(r.late for r in rows),
        simulating=incident.exercise and not incident.armed,
        can_arm=actor is not None
        and incident.exercise
        and not incident.armed
        and actor.has(*services.ARM_EXERCISES),
        hold=hold,
        can_release=actor is not None and hold is not None and actor.has(*holds.RELEASE_HOLDS),
    )


@register.filter
def role_title(role: str) -> str:
    return _role_title(role)
