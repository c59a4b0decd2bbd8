"""Evidence from incident exercises: drills held at the site and how their playbook steps went."""

from __future__ import annotations

from datetime import datetime

from mailwarden.directory.models import Site
from mailwarden.incidents.models import Incident, IncidentStep
from mailwarden.risk.evidence import Measurement, measure, percent


@measure(
    "drill_results",
    "Drill results",
    "share",
    {"min": 0.8},
    ref_kind="incidents.playbook",
)
def drill_results(site: Site, start: datetime, end: datetime, ref: str) -> Measurement:
    """Of the playbook steps of the exercises opened at the site in the period (of the linked
    playbook's incident type, if any), the share done by their target time. No exercise at all
    measures 0: a drill programme that holds no drill is not working."""
    drills = Incident.objects.filter(
        site=site, exercise=True, opened_at__gte=start, opened_at__lt=end
    )
    if ref:
        drills = drills.filter(type=ref)
    held = drills.count()
    if not held:
        return Measurement(0.0, "share", "no drill was held in the period", {"drills": 0})
    steps = list(
        IncidentStep.objects.filter(incident__in=drills).values_list("done_at", "target_at")
    )
    done = sum(1 for done_at, _ in steps if done_at is not None)
    on_time = sum(1 for done_at, target in steps if done_at is not None and done_at <= target)
    detail = {"drills": held, "steps": len(steps), "done": done, "on_time": on_time}
    if not steps:
        return Measurement(None, "share", f"{held} drills held, with no playbook steps", detail)
    share = on_time / len(steps)
    return Measurement(
        share,
        "share",
        f"{held} drills held; {percent(share)} of {len(steps)} steps done on time "
        f"({done} done in all)",
        detail,
    )
