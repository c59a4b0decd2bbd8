"""Read-side queries of exercises and reports: each step's time against its target."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailwarden.core import clock
from mailwarden.directory.models import Site
from mailwarden.incidents.models import Exercise, Incident, IncidentStep


@dataclass(frozen=True)
class StepTiming:
    position: int
    title: str
    role: str
    target_minutes: float
    # Minutes from the incident's opening to the step's check-off; None while not done.
    actual_minutes: float | None
    done_at: datetime | None
    # Done after its target, or not done and past its target now.
    late: bool
    action_status: str

    @property
    def state(self) -> str:
        if self.actual_minutes is None:
            return "overdue" if self.late else "pending"
        return "late" if self.late else "on time"


def _minutes(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 60, 1)


def step_timings(incident: Incident, now: datetime | None = None) -> list[StepTiming]:
    """Every step of the incident, its target and its actual minutes from the opening."""
    now = now or clock.now()
    timings = []
    for step in IncidentStep.objects.filter(incident=incident).order_by("position"):
        done = step.done_at
        late = done > step.target_at if done is not None else now > step.target_at
        timings.append(
            StepTiming(
                position=step.position,
                title=step.title,
                role=step.role,
                target_minutes=_minutes(incident.opened_at, step.target_at),
                actual_minutes=_minutes(incident.opened_at, done) if done is not None else None,
                done_at=done,
                late=late,
                action_status=step.action_status,
            )
        )
    return timings


def last_exercise(site: Site, before: datetime | None = None) -> Exercise | None:
    """The exercise (drill, tabletop, ...) most recently started at the site."""
    found = Exercise.objects.filter(site=site, started_at__isnull=False)
    if before is not None:
        found = found.filter(started_at__lte=before)
    return found.order_by("-started_at", "-id").first()
