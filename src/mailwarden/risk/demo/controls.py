"""The demo's controls: what the first site relies on, each linked to the part of mailwarden
that implements it where the demo has one, and measured over the last 30 days of the demo's
own history, so some agree with their evidence and some are flagged.

Call :func:`seed` from the risk demo seeder, after the other apps have seeded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User

from mailwarden.access.models import Door
from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.demo import DEMO_STAFF
from mailwarden.core.errors import ServiceError
from mailwarden.core.plugins import DemoOptions
from mailwarden.core.roles import Role
from mailwarden.directory.models import Site
from mailwarden.risk.models import Control
from mailwarden.risk.services import controls
from mailwarden.training.models import Course, CourseDuty

PERIOD = timedelta(days=30)


@dataclass(frozen=True)
class Planned:
    title: str
    measure: str
    link_kind: str = ""
    link_ref: str = ""
    description: str = ""


def _plans(site: Site) -> list[Planned]:
    door = (
        Door.objects.filter(site=site, code__icontains="quarantine").first()
        or Door.objects.filter(site=site).order_by("pk").first()
    )
    course = Course.objects.filter(duty=CourseDuty.SCREENING, active=True).first()
    return [
        Planned(
            "Every item is screened before it is handed over",
            "screened_before_delivery",
            "screening.policy",
            description="No item leaves the mailroom without a screening decision.",
        ),
        Planned(
            "The quarantine room's door stays shut",
            "door_alarms",
            "access.door" if door else "",
            door.code if door else "",
        ),
        Planned("Nobody follows a colleague through a badge door", "tailgating"),
        Planned(
            "Screeners hold a current certificate",
            "training_compliance",
            "training.course" if course else "",
            course.slug if course else "",
        ),
        Planned("Screeners spot threats in test images", "screener_dprime"),
        Planned("Quarantined items are dealt with within three days", "quarantine_dwell"),
        Planned(
            "Suspicious-package drills are held and run to time",
            "drill_results",
            "incidents.exercises",
        ),
        Planned("The ledger is verified and checkpointed", "ledger_status"),
    ]


def seed(options: DemoOptions) -> str:
    manager = User.objects.filter(username=DEMO_STAFF[Role.SECURITY_MANAGER]).first()
    site = Site.objects.order_by("pk").first()
    if manager is None or site is None or Control.objects.filter(site=site).exists():
        return ""
    actor = Actor.for_user(manager)
    for plan in _plans(site):
        try:
            controls.record_control(
                actor,
                site=site.code,
                title=plan.title,
                description=plan.description,
                link_kind=plan.link_kind,
                link_ref=plan.link_ref,
                measure=plan.measure,
            )
        except ServiceError:
            # A demo without that object records the control unlinked rather than not at all.
            controls.record_control(actor, site=site.code, title=plan.title, measure=plan.measure)
    now = clock.now()
    measured = controls.evaluate_site(actor, site.code, now - PERIOD, now)
    flagged = sum(1 for c in measured if c.contradicted)
    return f"{len(measured)} controls at {site.name}, {flagged} contradicted by their evidence"
