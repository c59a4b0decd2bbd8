"""Helpers for the exercise and report tests: a playbook of our own, an exercise plan, and an
incident whose steps are laid out as the playbook engine lays them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailwarden.core import clock
from mailwarden.directory.models import Site
from mailwarden.incidents.models import (
    Incident,
    IncidentSeverity,
    IncidentState,
    IncidentStep,
    IncidentType,
    Playbook,
    PlaybookStep,
)
from mailwarden.incidents.services import exercises, playbooks

PLANNED = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
# The playbooks engineer's body replaces the placeholder; until then no step is copied.
PLAYBOOK_PLACEHOLDER = "INTERFACE PLACEHOLDER" in (playbooks.__doc__ or "")

STEPS = (
    ("Do not open, shake or smell it", "security_operator", 1),
    ("Isolate it and leave the room", "security_operator", 3),
    ("Evacuate to the set distance", "security_manager", 10),
)


def make_playbook(incident_type: str = IncidentType.SUSPICIOUS_PACKAGE) -> Playbook:
    """The type's playbook with our three steps (replacing any shipped default's steps)."""
    playbook, _ = Playbook.objects.update_or_create(
        incident_type=incident_type,
        defaults={"name": "Suspicious package", "updated_at": clock.now(), "updated_by": "tests"},
    )
    playbook.steps.all().delete()
    for position, (title, role, minutes) in enumerate(STEPS, start=1):
        PlaybookStep.objects.create(
            playbook=playbook, position=position, title=title, role=role, target_minutes=minutes
        )
    return playbook


def request(**kw: object) -> exercises.ExerciseRequest:
    values: dict[str, object] = {
        "name": "Spring package drill",
        "type": "drill",
        "scenario": "A parcel with wires shows on the X-ray at the dock.",
        "site": "hq",
        "incident_type": IncidentType.SUSPICIOUS_PACKAGE,
        "planned_start": PLANNED,
        "objectives": ["Evacuate the mailroom within 10 minutes", "Call the police within 5"],
        "participants": "Mailroom team, security desk",
    }
    values.update(kw)
    return exercises.ExerciseRequest(**values)  # type: ignore[arg-type]


def incident_with_steps(
    site: Site, *, exercise: bool = False, done_after: tuple[float | None, ...] = (0.5, 5, None)
) -> Incident:
    """An incident opened now with the three steps (targets 1, 3, 10 min), done after the given
    minutes (None: not done)."""
    now = clock.now()
    incident = Incident.objects.create(
        reference=f"INC-T{Incident.objects.count() + 1:04d}",
        type=IncidentType.SUSPICIOUS_PACKAGE,
        severity=IncidentSeverity.SEV2,
        title="Parcel with wires at the dock",
        summary="Found on the X-ray.",
        site=site,
        opened_at=now,
        opened_by="user:otto",
        exercise=exercise,
        exercise_type="drill" if exercise else "",
    )
    for position, ((title, role, minutes), done) in enumerate(
        zip(STEPS, done_after, strict=True), start=1
    ):
        IncidentStep.objects.create(
            incident=incident,
            position=position,
            title=title,
            role=role,
            target_at=now + timedelta(minutes=minutes),
            done_at=now + timedelta(minutes=done) if done is not None else None,
            done_by="user:otto" if done is not None else "",
        )
    return incident


def close(incident: Incident, after_minutes: float = 40) -> None:
    """Close it as the incidents service would have by then (that service is another topic's)."""
    end = incident.opened_at + timedelta(minutes=after_minutes)
    Incident.objects.filter(pk=incident.pk).update(
        state=IncidentState.CLOSED, resolved_at=end, closed_at=end
    )
    incident.refresh_from_db()
