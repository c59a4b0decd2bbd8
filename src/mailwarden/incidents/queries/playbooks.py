"""Reading playbooks and incidents' steps: which steps are late, what each incident shows."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet

from mailwarden.core import clock
from mailwarden.incidents.models import (
    Incident,
    IncidentState,
    IncidentStep,
    Playbook,
)

# A step is late only while the response goes on; a resolved or closed incident's undone steps
# are part of its record (the after-action report compares timings), not an alert.
ACTIVE_STATES = (IncidentState.OPEN, IncidentState.CONTAINED)


def late_steps(now: datetime | None = None) -> QuerySet[IncidentStep]:
    """Steps past their target time and not done, on incidents still being responded to."""
    return (
        IncidentStep.objects.filter(
            done_at__isnull=True,
            target_at__lt=now or clock.now(),
            incident__state__in=ACTIVE_STATES,
        )
        .select_related("incident", "incident__site")
        .order_by("target_at", "incident_id", "position")
    )


def is_late(step: IncidentStep, incident: Incident, now: datetime) -> bool:
    return step.done_at is None and step.target_at < now and incident.state in ACTIVE_STATES


def playbooks() -> QuerySet[Playbook]:
    return Playbook.objects.prefetch_related("steps").order_by("incident_type")


def incident_steps(incident: Incident) -> list[IncidentStep]:
    return list(IncidentStep.objects.filter(incident=incident).order_by("position"))
