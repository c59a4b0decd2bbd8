"""Evidence from custody and screening: items screened before they were handed over, and how
long items stayed in quarantine."""

from __future__ import annotations

import statistics
from datetime import datetime

from mailwarden.custody.models import MailItem
from mailwarden.custody.states import HANDOVER_STATES
from mailwarden.directory.models import Site
from mailwarden.risk.evidence import Measurement, measure, percent
from mailwarden.screening.models import Decision, DecisionStatus, QuarantineRequest, RequestStatus

# Enough references for a person to follow up, few enough to store on every evaluation.
SAMPLE = 20


@measure(
    "screened_before_delivery",
    "Items screened before delivery",
    "share",
    {"min": 0.99},
)
def screened_before_delivery(site: Site, start: datetime, end: datetime, ref: str) -> Measurement:
    """Of the items handed over in the period, the share with a screening decision made before
    the hand-over; a pending decision awaiting its second screener does not count."""
    handed = dict(
        MailItem.objects.filter(
            site=site,
            state__in=list(HANDOVER_STATES),
            state_changed_at__gte=start,
            state_changed_at__lt=end,
        ).values_list("pk", "state_changed_at")
    )
    if not handed:
        return Measurement(None, "share", "no item was handed over in the period")
    screened: set[int] = set()
    for item_id, decided_at in (
        Decision.objects.filter(item_id__in=list(handed))
        .exclude(status=DecisionStatus.PENDING)
        .values_list("item_id", "decided_at")
    ):
        if decided_at <= handed[item_id]:
            screened.add(item_id)
    missed = sorted(set(handed) - screened)
    uids = list(
        MailItem.objects.filter(pk__in=missed[:SAMPLE])
        .order_by("uid")
        .values_list("uid", flat=True)
    )
    share = len(screened) / len(handed)
    return Measurement(
        share,
        "share",
        f"{percent(share)} of {len(handed)} items screened before delivery",
        {"handed_over": len(handed), "screened": len(screened), "unscreened": uids},
    )


def _hours(start: datetime, end: datetime) -> float:
    return round((end - start).total_seconds() / 3600, 2)


@measure("quarantine_dwell", "Time in quarantine", "hours", {"max": 72.0})
def quarantine_dwell(site: Site, start: datetime, end: datetime, ref: str) -> Measurement:
    """How long the items that left quarantine in the period had been held there, from the
    screening decision that sent them in to the confirmed release, destruction or hand-over to
    the authorities; the median is the value, the shortest and longest are in the detail."""
    exits: dict[int, datetime] = {}
    for item_id, confirmed_at in QuarantineRequest.objects.filter(
        item__site=site,
        status=RequestStatus.CONFIRMED,
        confirmed_at__gte=start,
        confirmed_at__lt=end,
    ).values_list("item_id", "confirmed_at"):
        if confirmed_at is not None:
            exits[item_id] = confirmed_at
    if not exits:
        return Measurement(None, "hours", "no item left quarantine in the period")
    entries: dict[int, datetime] = {}
    for item_id, decided_at in (
        Decision.objects.filter(item_id__in=list(exits), status=DecisionStatus.QUARANTINED)
        .order_by("decided_at")
        .values_list("item_id", "decided_at")
    ):
        entries.setdefault(item_id, decided_at)
    dwells = sorted(_hours(entries[i], exits[i]) for i in exits if i in entries)
    if not dwells:
        return Measurement(
            None,
            "hours",
            f"{len(exits)} items left quarantine, none with a screening decision that sent it in",
            {"items": len(exits), "measured": 0},
        )
    median = round(statistics.median(dwells), 2)
    return Measurement(
        median,
        "hours",
        f"{len(dwells)} items held a median of {median} h in quarantine (longest {dwells[-1]} h)",
        {
            "items": len(exits),
            "measured": len(dwells),
            "median_hours": median,
            "min_hours": dwells[0],
            "max_hours": dwells[-1],
        },
    )
