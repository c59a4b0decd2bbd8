"""Read-side queries on planted test parcels: the managers' list and score sheet, and the
results per site that the compliance dashboard shows."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from mailwarden.core import ledger
from mailwarden.core.errors import NotFound
from mailwarden.core.models import LedgerEntry
from mailwarden.training.models import PlantedParcel, PlantedStatus


def parcels(site_code: str | None = None, status: str | None = None) -> QuerySet[PlantedParcel]:
    found = PlantedParcel.objects.select_related("site")
    if site_code:
        found = found.filter(site__code=site_code)
    if status:
        found = found.filter(status=status)
    return found


def parcel(parcel_id: int) -> PlantedParcel:
    found = PlantedParcel.objects.select_related("site").filter(pk=parcel_id).first()
    if found is None:
        raise NotFound(f"no test parcel {parcel_id}", "parcel")
    return found


def history(parcel_id: int) -> list[LedgerEntry]:
    """The parcel's ledger entries, oldest first: registered, received, scored, stopped."""
    return ledger.entries_for("test_parcel", str(parcel_id))


@dataclass(frozen=True)
class SiteResults:
    site_code: str
    site_name: str
    scored: int
    passed: int
    flagged: int

    @property
    def passed_share(self) -> float | None:
        """None, not a division by zero, for a site with nothing scored yet."""
        return self.passed / self.scored if self.scored else None


# Scored, and perhaps stopped at hand-over afterwards: either way it has a score.
_HAS_SCORE = Q(scored_at__isnull=False)


def results_by_site() -> list[SiteResults]:
    rows = (
        PlantedParcel.objects.filter(_HAS_SCORE)
        .values("site__code", "site__name")
        .annotate(
            scored=Count("id"),
            passed=Count("id", filter=Q(passed=True)),
            flagged=Count("id", filter=Q(flagged_at_intake=True)),
        )
        .order_by("site__name", "site__code")
    )
    return [
        SiteResults(r["site__code"], r["site__name"], r["scored"], r["passed"], r["flagged"])
        for r in rows
    ]


def open_count() -> int:
    """Parcels registered and not yet arrived."""
    return PlantedParcel.objects.filter(status=PlantedStatus.REGISTERED).count()
