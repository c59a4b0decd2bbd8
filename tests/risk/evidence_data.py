"""Made data for the live-evidence tests: rows of the lower apps written as the running system
would leave them, each builder taking the moment it happened."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from itertools import count

from django.db import transaction

from mailwarden.access.models import AccessAlarm, AccessLevel, AlarmKind, Door, Schedule
from mailwarden.contracts.events import LedgerVerifyFailed
from mailwarden.core import checkpoints, clock, ledger, outbox
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.directory.models import Site
from mailwarden.incidents.models import Incident, IncidentStep, Playbook
from mailwarden.screening.models import Decision, QuarantineRequest
from mailwarden.surveillance.models import Camera, VideoEvent
from mailwarden.training.models import Course, TipTrial
from tests.factories import ADMIN, intake, make_recipient
from tests.training.helpers_b import screener_course

_n = count(1)


def item(site: Site) -> MailItem:
    made = intake(site, make_recipient())
    assert isinstance(made, MailItem)
    return made


def handed_over(site: Site, at: datetime, *, screened_at: datetime | None = None) -> MailItem:
    """An item delivered at ``at``, with a clearing decision at ``screened_at`` if given."""
    made = item(site)
    if screened_at is not None:
        decide(made, "cleared", screened_at)
    MailItem.objects.filter(pk=made.pk).update(state=State.DELIVERED, state_changed_at=at)
    return made


def decide(made: MailItem, status: str, at: datetime) -> Decision:
    return Decision.objects.create(
        item=made,
        tier="low" if status == "cleared" else "high",
        action="clear" if status == "cleared" else "quarantine",
        status=status,
        points=0,
        screener="user:screener",
        decided_at=at,
    )


def quarantined(site: Site, entered: datetime, left: datetime) -> MailItem:
    made = item(site)
    decide(made, "quarantined", entered)
    QuarantineRequest.objects.create(
        item=made,
        outcome="released",
        reason="nothing found",
        status="confirmed",
        proposed_by="user:manager",
        proposed_at=left - timedelta(minutes=5),
        expires_at=left + timedelta(hours=1),
        confirmed_by="user:other",
        confirmed_at=left,
    )
    MailItem.objects.filter(pk=made.pk).update(state=State.RELEASED, state_changed_at=left)
    return made


def door(site: Site, code: str = "quarantine-door") -> Door:
    return Door.objects.create(site=site, code=code, name=code.replace("-", " ").title())


def alarm(site: Site, kind: AlarmKind, at: datetime, where: Door | None = None) -> AccessAlarm:
    return AccessAlarm.objects.create(
        site=site, kind=kind, door=where, occurred_at=at, raised_at=at
    )


def level(site: Site, name: str = "Cage") -> AccessLevel:
    return AccessLevel.objects.create(site=site, name=name, schedule=schedule(site))


def schedule(site: Site) -> Schedule:
    return Schedule.objects.create(site=site, name=f"Always {next(_n)}", windows=[])


def course() -> Course:
    return screener_course()


def camera(site: Site, name: str = "cam-dock") -> Camera:
    return Camera.objects.create(
        site=site, name=name, url="rtsp://camera.invalid/stream", created_at=clock.now()
    )


def tailgate(cam: Camera, at: datetime, where: Door | None = None, state: str = "new") -> None:
    VideoEvent.objects.create(
        key=uuid.uuid4(),
        camera=cam,
        site=cam.site,
        worker="worker-1",
        type="tailgating",
        zone="door-line",
        door=where,
        occurred_at=at,
        received_at=at,
        state=state,
    )


def trials(
    user: object, site: Site, at: datetime, *, hits: int, misses: int, fas: int, crs: int
) -> None:
    outcomes = ["hit"] * hits + ["miss"] * misses + ["false_alarm"] * fas
    outcomes += ["correct_rejection"] * crs
    for outcome in outcomes:
        signal = outcome in ("hit", "miss")
        TipTrial.objects.create(
            user=user,
            mode="training",
            site=site,
            category="knife" if signal else "",
            background="simulated",
            image_sha256="0" * 64,
            width=10,
            height=10,
            presented_at=at,
            answered_at=at,
            response="threat" if outcome in ("hit", "false_alarm") else "clear",
            outcome=outcome,
            response_ms=1200,
        )


def drill(
    site: Site, at: datetime, steps: list[timedelta | None], kind: str = "suspicious_package"
) -> Incident:
    """An exercise opened at ``at`` whose steps were each done that long after their target
    (negative: early), or not done (None)."""
    made = Incident.objects.create(
        reference=f"EX-{next(_n):04d}",
        type=kind,
        severity=3,
        title="Drill",
        site=site,
        opened_at=at,
        opened_by="user:manager",
        exercise=True,
        exercise_type="drill",
    )
    for position, late in enumerate(steps, start=1):
        target = at + timedelta(minutes=10 * position)
        IncidentStep.objects.create(
            incident=made,
            position=position,
            title=f"Step {position}",
            role="security_manager",
            target_at=target,
            done_at=None if late is None else target + late,
        )
    return made


def playbook(kind: str = "suspicious_package") -> Playbook:
    """The type's playbook; the incidents app ships one for each type."""
    found, _ = Playbook.objects.get_or_create(
        incident_type=kind,
        defaults={"name": "Suspicious package", "updated_at": clock.now(), "updated_by": "x"},
    )
    return found


def checkpoint_entry(at: datetime) -> None:
    with transaction.atomic():
        ledger.append(ADMIN, checkpoints.ACTION, "ledger", str(next(_n)), {"size": 1}, at=at)


def failed_verification() -> None:
    with transaction.atomic():
        outbox.emit(
            LedgerVerifyFailed(
                source="cli",
                actor="job:tests",
                checked=1,
                head_seq=2,
                head_hash="0" * 64,
                problem_seq=2,
                problem_kind="changed",
                problem_detail="its content does not match its hash",
            )
        )
