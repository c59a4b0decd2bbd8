"""Read-side queries on treatments: the plan of one risk, and the plan across sites with the
overdue ones picked out."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import QuerySet

from mailwarden.core.errors import NotFound
from mailwarden.directory.models import Site
from mailwarden.risk.models import Risk, Treatment
from mailwarden.risk.services.treatments import UNFINISHED, is_overdue


def _base() -> QuerySet[Treatment]:
    return Treatment.objects.select_related(
        "risk__assessment__site", "owner", "proposed_by", "approved_by", "control"
    )


def treatments(
    now: datetime,
    *,
    site: str | None = None,
    status: str | None = None,
    owner: str | None = None,
    overdue: bool | None = None,
    assessment_id: int | None = None,
) -> list[Treatment]:
    """Treatments by due date; ``overdue`` keeps only (or drops) those past due unfinished at
    their site. A named site or owner that does not exist is refused by name."""
    found = _base()
    if site:
        if not Site.objects.filter(code=site).exists():
            raise NotFound(f"no site {site!r}", "site")
        found = found.filter(risk__assessment__site__code=site)
    if assessment_id is not None:
        found = found.filter(risk__assessment_id=assessment_id)
    if status:
        found = found.filter(status=status)
    if owner:
        found = found.filter(owner__username=owner)
    if overdue:
        # Sites' calendars are within a day of UTC's; the exact test is per site below.
        found = found.filter(status__in=UNFINISHED, due__lt=(now + timedelta(days=1)).date())
    rows = list(found.order_by("due", "id"))
    if overdue is None:
        return rows
    return [t for t in rows if is_overdue(t, now) == overdue]


def of_risk(risk_id: int) -> list[Treatment]:
    if not Risk.objects.filter(pk=risk_id).exists():
        raise NotFound(f"no risk {risk_id}", "risk")
    return list(_base().filter(risk_id=risk_id).order_by("due", "id"))


def treatment(treatment_id: int) -> Treatment:
    found = _base().filter(pk=treatment_id).first()
    if found is None:
        raise NotFound(f"no treatment {treatment_id}", "treatment")
    return found
