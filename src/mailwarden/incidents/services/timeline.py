"""The incident timeline: append-only, written by the services of every topic of the app."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction

from mailwarden.core import clock
from mailwarden.incidents.models import TimelineEntry


def append(
    incident_id: int,
    kind: str,
    text: str,
    *,
    by: str,
    at: datetime | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Add one line to an incident's timeline, inside the caller's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("timeline.append must run inside the change's transaction")
    return TimelineEntry.objects.create(
        incident_id=incident_id,
        at=at or clock.now(),
        kind=kind[:20],
        text=text[:1000],
        by=by[:150],
        data=data or {},
    )
