"""Read-side queries: the quarantine register, the second-screener queue, an item's screening."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet

from mailwarden.core import clock, ledger
from mailwarden.core.models import LedgerEntry
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.directory.models import Site
from mailwarden.screening.models import (
    Decision,
    DecisionStatus,
    Outcome,
    QuarantineRequest,
    RequestStatus,
    Scan,
)


@dataclass(frozen=True)
class RegisterRow:
    item: MailItem
    entered_at: datetime
    dwell: timedelta
    reasons: list[str]
    decision: Decision | None
    request: QuarantineRequest | None  # the newest request, whatever its status
    request_status: RequestStatus | None


def _transition_reason(uid: str) -> str:
    """Why the item went into quarantine, for items put there without a screening decision."""
    entries = (
        LedgerEntry.objects.filter(
            subject_type="mailitem",
            subject_id=uid,
            action__in=ledger.stored_as("custody.item.transitioned"),
        )
        .order_by("-seq")
        .only("body")[:20]
    )
    for entry in entries:
        data = ledger.entry_data(entry)
        if data.get("to") == State.QUARANTINED:
            return str(data.get("reason", ""))
    return ""


def quarantine_register(
    site_code: str | None = None, now: datetime | None = None
) -> list[RegisterRow]:
    """Every item in quarantine, the longest-held first, with why it is there."""
    now = now or clock.now()
    items = MailItem.objects.filter(state=State.QUARANTINED).select_related(
        "location", "site", "recipient__department"
    )
    if site_code:
        items = items.filter(site__code=site_code)
    items_list = list(items.order_by("state_changed_at", "uid"))
    ids = [i.pk for i in items_list]
    decisions: dict[int, Decision] = {}
    for quarantined in Decision.objects.filter(
        item_id__in=ids, status=DecisionStatus.QUARANTINED
    ).order_by("decided_at", "id"):
        decisions[quarantined.item_id] = quarantined
    requests: dict[int, QuarantineRequest] = {}
    for proposal in (
        QuarantineRequest.objects.filter(item_id__in=ids)
        .select_related("item")
        .order_by("proposed_at", "id")
    ):
        requests[proposal.item_id] = proposal
    rows = []
    for item in items_list:
        decision = decisions.get(item.pk)
        if decision is not None:
            reasons = list(decision.reasons)
        else:
            reason = _transition_reason(item.uid)
            reasons = [reason] if reason else []
        request = requests.get(item.pk)
        rows.append(
            RegisterRow(
                item=item,
                entered_at=item.state_changed_at,
                dwell=now - item.state_changed_at,
                reasons=reasons,
                decision=decision,
                request=request,
                request_status=request.status_at(now) if request else None,
            )
        )
    return rows


def pending_decisions(site_code: str | None = None) -> QuerySet[Decision]:
    """Elevated-tier decisions waiting for a second screener, the oldest first."""
    query = Decision.objects.filter(status=DecisionStatus.PENDING).select_related(
        "item", "item__site"
    )
    if site_code:
        query = query.filter(item__site__code=site_code)
    return query.order_by("decided_at", "id")


def decisions_of(item: MailItem) -> QuerySet[Decision]:
    return Decision.objects.filter(item=item).select_related("item").order_by("decided_at", "id")


def scans_of(item: MailItem) -> QuerySet[Scan]:
    return Scan.objects.filter(item=item).select_related("item").order_by("created_at", "id")


def quarantine_requests(
    status: RequestStatus | None = None, now: datetime | None = None
) -> list[tuple[QuarantineRequest, RequestStatus]]:
    """Requests with their status as of ``now`` (a pending one past its time reads expired)."""
    now = now or clock.now()
    query = QuarantineRequest.objects.select_related("item").order_by("-proposed_at", "-id")
    if status in (RequestStatus.PENDING, RequestStatus.EXPIRED):
        query = query.filter(status__in=[RequestStatus.PENDING, RequestStatus.EXPIRED])
    elif status is not None:
        query = query.filter(status=status)
    rows = [(r, r.status_at(now)) for r in query[:500]]
    return [row for row in rows if status is None or row[1] == status]


# ----------------------------------------------------------------------------- for risk rules


@dataclass(frozen=True)
class Release:
    """An item released from quarantine: when it went in, and when the release was confirmed."""

    item: MailItem
    entered_at: datetime | None  # None when its custody record does not say
    released_at: datetime
    request: QuarantineRequest

    @property
    def dwell(self) -> timedelta | None:
        return self.released_at - self.entered_at if self.entered_at else None


def _entered_quarantine(uid: str, before: datetime) -> datetime | None:
    entries = (
        LedgerEntry.objects.filter(
            subject_type="mailitem",
            subject_id=uid,
            action__in=ledger.stored_as("custody.item.transitioned"),
            created_at__lte=before,
        )
        .order_by("-seq")
        .only("body", "created_at")[:20]
    )
    for entry in entries:
        if ledger.entry_data(entry).get("to") == State.QUARANTINED:
            return entry.created_at
    return None


def quarantine_releases(site: Site, since: datetime, until: datetime) -> list[Release]:
    """Items of the site whose release from quarantine was confirmed in the period."""
    requests = QuarantineRequest.objects.filter(
        item__site=site,
        outcome=Outcome.RELEASED,
        status=RequestStatus.CONFIRMED,
        confirmed_at__gte=since,
        confirmed_at__lt=until,
    ).select_related("item")
    found = []
    for request in requests.order_by("confirmed_at", "id"):
        if request.confirmed_at is None:  # the filter says otherwise; for the type checker
            continue
        found.append(
            Release(
                item=request.item,
                entered_at=_entered_quarantine(request.item.uid, request.confirmed_at),
                released_at=request.confirmed_at,
                request=request,
            )
        )
    return found


@dataclass(frozen=True)
class HandedOver:
    """Items of a site handed to their recipients in a period, and those of them that no
    screener's decision covers."""

    total: int
    unscreened: list[str]  # item uids

    @property
    def share_unscreened(self) -> float | None:
        return len(self.unscreened) / self.total if self.total else None


def handed_over(site: Site, since: datetime, until: datetime) -> HandedOver:
    """Delivered or picked-up items of the site (hand-over in the period), and which of them
    were handed over without a screening decision before it."""
    items = MailItem.objects.filter(
        site=site,
        state__in=[State.DELIVERED, State.PICKED_UP],
        state_changed_at__gte=since,
        state_changed_at__lt=until,
    )
    rows = list(items.values_list("pk", "uid", "state_changed_at").order_by("uid"))
    screened: dict[int, datetime] = {}
    decided = (
        Decision.objects.filter(item_id__in=[pk for pk, _, _ in rows])
        .exclude(status=DecisionStatus.SUPERSEDED)
        .values_list("item_id", "decided_at")
    )
    for item_id, decided_at in decided.order_by():
        first = screened.get(item_id)
        screened[item_id] = decided_at if first is None else min(first, decided_at)
    unscreened = [
        uid for pk, uid, handed_at in rows if pk not in screened or screened[pk] > handed_at
    ]
    return HandedOver(total=len(rows), unscreened=unscreened)


# ----------------------------------------------------------------------------- report aggregates


@dataclass(frozen=True)
class DecisionTime:
    decided_at: datetime
    tier: str
    seconds_on_item: int | None  # at the workstation; unknown from other clients
    since_arrival_s: float  # from the item's arrival at the dock to the decision


def decision_times(site: Site, since: datetime, until: datetime) -> list[DecisionTime]:
    """Every standing screening decision on the site's items made in ``[since, until)``: one
    superseded by a later decision no longer counts."""
    rows = (
        Decision.objects.filter(item__site=site, decided_at__gte=since, decided_at__lt=until)
        .exclude(status=DecisionStatus.SUPERSEDED)
        .values_list("decided_at", "tier", "seconds_on_item", "item__received_at")
    )
    return [
        DecisionTime(at, tier, seconds, (at - arrived).total_seconds())
        for at, tier, seconds, arrived in rows
    ]


def quarantine_outcomes(site: Site, since: datetime, until: datetime) -> list[tuple[datetime, str]]:
    """(when confirmed, outcome) of every two-person quarantine decision confirmed at the site
    in ``[since, until)``."""
    rows = QuarantineRequest.objects.filter(
        item__site=site,
        status=RequestStatus.CONFIRMED,
        confirmed_at__gte=since,
        confirmed_at__lt=until,
    ).values_list("confirmed_at", "outcome")
    return [(at, outcome) for at, outcome in rows if at is not None]


def quarantined_now(site: Site | None = None) -> int:
    """How many items are in quarantine now, awaiting a decision."""
    found = MailItem.objects.filter(state=State.QUARANTINED)
    return (found.filter(site=site) if site is not None else found).count()
