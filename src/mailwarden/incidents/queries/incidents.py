"""Read-side queries of incidents: the filtered list, one incident's case file, and the staff
who can be assigned."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import F, Prefetch, Q, QuerySet

from mailwarden.core.errors import NotFound
from mailwarden.core.roles import Role
from mailwarden.directory.models import Site
from mailwarden.incidents.models import (
    Incident,
    IncidentAssignee,
    IncidentLink,
    IncidentTask,
    LinkKind,
)


@dataclass(frozen=True)
class IncidentFilters:
    state: str | None = None
    site: str | None = None
    type: str | None = None
    exercise: bool | None = None


def incidents(filters: IncidentFilters | None = None) -> QuerySet[Incident]:
    """Incidents, the ones still running first, then the worst, then the newest."""
    filters = filters or IncidentFilters()
    found = Incident.objects.select_related("site")
    if filters.state:
        found = found.filter(state=filters.state)
    if filters.site:
        if not Site.objects.filter(code=filters.site).exists():
            raise NotFound(f"no site {filters.site!r}", "site")
        found = found.filter(site__code=filters.site)
    if filters.type:
        found = found.filter(type=filters.type)
    if filters.exercise is not None:
        found = found.filter(exercise=filters.exercise)
    return found.order_by(F("closed_at").asc(nulls_first=True), "severity", "-opened_at", "-id")


def case_file(incident_id: int) -> Incident:
    """One incident with everything its page and the API show, read in a few queries."""
    incident = (
        Incident.objects.select_related("site")
        .prefetch_related(
            "timeline",
            "steps",
            "links",
            "evidence",
            Prefetch("assignees", IncidentAssignee.objects.select_related("user")),
            Prefetch("tasks", IncidentTask.objects.select_related("assignee")),
        )
        .filter(pk=incident_id)
        .first()
    )
    if incident is None:
        raise NotFound(f"no incident {incident_id}", "incident_id")
    return incident


def assignable_staff(roles: tuple[Role, ...]) -> QuerySet[User]:
    """Active people with one of ``roles`` (or administrators), by username."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__name__in=[r.value for r in roles]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


def incidents_for_alarms(alarm_ids: Iterable[int]) -> dict[int, Incident]:
    """The incident each alarm is linked to (the newest, where several are), by alarm ID."""
    links = (
        IncidentLink.objects.filter(kind=LinkKind.ALARM, target__in=[str(i) for i in alarm_ids])
        .select_related("incident")
        .order_by("incident__opened_at", "incident_id")
    )
    return {int(link.target): link.incident for link in links}
