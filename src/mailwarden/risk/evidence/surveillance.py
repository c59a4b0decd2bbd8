"""Evidence from video analytics: people following someone through a door without a badge."""

from __future__ import annotations

from datetime import datetime

from mailwarden.directory.models import Site
from mailwarden.risk.evidence import Measurement, measure
from mailwarden.surveillance.models import VideoEvent

TAILGATING = "tailgating"
# An operator who marked the event a false positive saw nobody follow through.
NOT_COUNTED = ("false_positive",)


@measure("tailgating", "Tailgating", "count", {"max": 0}, ref_kind="access.door")
def tailgating(site: Site, start: datetime, end: datetime, ref: str) -> Measurement:
    """Tailgating events in the period, at the site or at the linked door, less those an
    operator marked false positives."""
    events = VideoEvent.objects.filter(
        site=site, type=TAILGATING, occurred_at__gte=start, occurred_at__lt=end
    ).exclude(state__in=NOT_COUNTED)
    where = f"site {site.code}"
    if ref:
        events = events.filter(door__code=ref)
        where = f"door {ref}"
    count = events.count()
    return Measurement(
        float(count), "count", f"{count} tailgating events at {where}", {"events": count}
    )
