"""Read-side queries of the directory, for its pages, its API and the apps above it."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from mailwarden.core.errors import NotFound
from mailwarden.directory.models import Recipient, Site


def people_matching(
    q: str, *, active_only: bool = False, site: Site | None = None
) -> QuerySet[Recipient]:
    """People whose name, email or department contains ``q``, or whose employee ID is ``q``,
    in name order; only those at ``site`` when given."""
    people = Recipient.objects.select_related("department", "site")
    if active_only:
        people = people.filter(active=True)
    if site is not None:
        people = people.filter(site=site)
    q = q.strip()
    if q:
        people = people.filter(
            Q(last_name__icontains=q)
            | Q(first_name__icontains=q)
            | Q(preferred_name__icontains=q)
            | Q(email__icontains=q)
            | Q(employee_id__iexact=q)
            | Q(department__name__icontains=q)
        )
    return people.order_by("last_name", "first_name", "id")


def site_by_code(code: str, *, field: str = "site") -> Site:
    site = Site.objects.filter(code=code).first()
    if site is None:
        raise NotFound(f"no site {code!r}", field)
    return site
