"""Batch intake: many items checked one by one, the valid ones written together.

A carrier's hand-held or a dock system that uploads a shift's scans at once sends up to
:data:`MAX_BATCH` items. Each goes through the same checks as a single intake
(:func:`services.intake`): site, type, measures, the carrier's rule for its tracking number (or
the clerk's reason to log it unchecked), the duplicate re-scan question and an active recipient.
The valid ones are written in one transaction: their rows in a few multi-row INSERTs, the
ledger's two entries per item (the chain needs one entry each) under one lock of its head, and
their events in multi-row outbox INSERTs. A refused item changes nothing and does not stop the
others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction

from mailwarden.config import get_settings
from mailwarden.contracts import events
from mailwarden.core import clock, duties, ledger, outbox, plainsql
from mailwarden.core.actor import Actor
from mailwarden.core.duties import Duty
from mailwarden.core.errors import ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import INTAKE
from mailwarden.custody import manifests, services
from mailwarden.custody.models import ItemKind, MailItem
from mailwarden.custody.states import State
from mailwarden.directory.models import Location, Recipient, Site

MAX_BATCH = 1000
# Rows per INSERT: well under SQLite's and PostgreSQL's limits on bound parameters.
ROWS_PER_STATEMENT = 250
MEASURES = ("length_mm", "width_mm", "height_mm", "weight_g")


@dataclass(frozen=True)
class Refused:
    index: int
    field: str | None
    reason: str


@dataclass(frozen=True)
class Created:
    index: int
    uid: str
    tracking_number: str
    carrier: str


@dataclass
class BatchResult:
    created: list[Created] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    # What intake warned the clerk of (core.duties); it applies to every item of the batch.
    warnings: list[str] = field(default_factory=list)


@dataclass
class _Valid:
    index: int
    req: services.IntakeRequest
    site: Site
    recipient: Recipient
    location: Location
    number: str
    carrier: str
    tracking_type: str
    unverified: dict[str, str]


class _Lookups:
    """Sites, docks and recipients, each read once per batch instead of once per item."""

    def __init__(self, recipient_ids: set[int]) -> None:
        self.sites: dict[str, Site | None] = {}
        self.locations: dict[tuple[int, str | None], Location] = {}
        self.recipients = Recipient.objects.filter(id__in=recipient_ids, active=True).in_bulk()

    def site(self, code: str) -> Site:
        if code not in self.sites:
            self.sites[code] = plainsql.first_where(Site, "code = %s", [code])
        found = self.sites[code]
        if found is None:
            raise ServiceError(f"no site {code!r}", "site")
        return found

    def location(self, site: Site, code: str | None) -> Location:
        key = (site.pk, code)
        if key not in self.locations:
            self.locations[key] = services._dock(site, code)
        return self.locations[key]

    def recipient(self, recipient_id: int) -> Recipient:
        found = self.recipients.get(recipient_id)
        if found is None:
            raise ServiceError(f"no active recipient with id {recipient_id}", "recipient_id")
        return found


def _check(lookups: _Lookups, index: int, req: services.IntakeRequest) -> _Valid:
    """What :func:`services.intake` checks before it writes, in the same order and words."""
    site = lookups.site(req.site)
    if req.kind not in ItemKind.values:
        raise ServiceError(
            f"unknown item type {req.kind!r}; choose one of {', '.join(ItemKind.values)}", "kind"
        )
    for name in MEASURES:
        value = getattr(req, name)
        if value is not None and not 0 < value <= 10_000_000:
            raise ServiceError("must be a positive number", name)
    if req.photo is not None:
        raise ServiceError("a batch takes no photos; attach them to the items afterwards", "photo")
    number, carrier, tracking_type, unverified = services._checked_number(req)
    recipient = lookups.recipient(req.recipient_id)
    location = lookups.location(site, req.location_code)
    return _Valid(
        index, req, site, recipient, location, number, carrier, tracking_type, unverified
    )


def intake_batch(
    actor: Actor, requests: Sequence[tuple[int, services.IntakeRequest]]
) -> BatchResult:
    """Log every valid item of ``requests`` (each with its index in the caller's list)."""
    require(actor, INTAKE, "logging items")
    if len(requests) > MAX_BATCH:
        raise ServiceError(
            f"{len(requests):,} items in one batch; send at most {MAX_BATCH:,}", "items"
        )
    result = BatchResult()
    # A clerk without current mail-handling training is warned once; every entry records it.
    result.warnings = duties.check(actor, Duty.INTAKE)
    lookups = _Lookups({req.recipient_id for _, req in requests})
    checked: list[_Valid] = []
    for index, req in requests:
        try:
            checked.append(_check(lookups, index, req))
        except ServiceError as exc:
            result.refused.append(Refused(index, exc.field, exc.message))
    now = clock.now()
    with transaction.atomic():
        valid = _without_duplicates(checked, now, result)
        items = _write_items(valid, now)
        expected = manifests.mark_arrived([(i.tracking_number, i.pk) for i in items], now)
        _record(actor, valid, items, result.warnings, expected, now)
    result.created = [
        Created(v.index, item.uid, item.tracking_number, item.carrier)
        for v, item in zip(valid, items, strict=True)
    ]
    result.refused.sort(key=lambda r: r.index)
    return result


def _without_duplicates(checked: list[_Valid], now: datetime, result: BatchResult) -> list[_Valid]:
    """Refuse a re-scan (within the duplicate window, or earlier in this batch) not confirmed."""
    window = timedelta(minutes=get_settings().intake.duplicate_window_minutes)
    numbers = {v.number for v in checked if v.number and not v.req.confirm_duplicate}
    previous: dict[str, tuple[str, datetime]] = {}
    if numbers:
        rows = (
            MailItem.objects.filter(tracking_number__in=numbers, received_at__gte=now - window)
            .order_by("received_at")
            .values_list("tracking_number", "uid", "received_at")
        )
        # Ordered oldest first, so the newest scan of each number is the one kept.
        previous = {number: (uid, at) for number, uid, at in rows}
    seen: dict[str, int] = {}
    valid = []
    for v in checked:
        if v.number and not v.req.confirm_duplicate:
            if v.number in previous:
                uid, at = previous[v.number]
                result.refused.append(
                    Refused(
                        v.index,
                        "tracking_number",
                        f"{v.number} was already scanned as {uid} at {at:%Y-%m-%d %H:%M} UTC; "
                        "confirm if this is another item",
                    )
                )
                continue
            if v.number in seen:
                result.refused.append(
                    Refused(
                        v.index,
                        "tracking_number",
                        f"{v.number} is also item {seen[v.number]} of this batch; "
                        "confirm if this is another item",
                    )
                )
                continue
        if v.number:
            seen.setdefault(v.number, v.index)
        valid.append(v)
    return valid


def _write_items(valid: list[_Valid], now: datetime) -> list[MailItem]:
    items = [
        MailItem(
            site=v.site,
            tracking_number=v.number,
            carrier=v.carrier,
            tracking_type=v.tracking_type,
            kind=v.req.kind,
            sender=v.req.sender.strip()[:200],
            accountable=v.req.accountable,
            flagged=v.req.suspicious,
            review_reason=services._review_reason(v.unverified) if v.unverified else "",
            length_mm=v.req.length_mm,
            width_mm=v.req.width_mm,
            height_mm=v.req.height_mm,
            weight_g=v.req.weight_g,
            photo_sha256="",
            recipient=v.recipient,
            # Written in its queued state, as a single intake writes it (logged, then queued).
            state=State.AWAITING_SCREENING,
            location=v.location,
            received_at=now,
            state_changed_at=now,
            notes=v.req.notes,
            version=2,
        )
        for v in valid
    ]
    _allocate_uids(items)
    for start in range(0, len(items), ROWS_PER_STATEMENT):
        plainsql.insert_many(items[start : start + ROWS_PER_STATEMENT])
    # The multi-row INSERT does not read primary keys back; the manifest match needs them.
    if items:
        pks = dict(
            MailItem.objects.filter(uid__in=[i.uid for i in items]).values_list("uid", "pk")
        )
        for item in items:
            item.pk = pks[item.uid]
            item._state.adding = False
    return items


def _allocate_uids(items: list[MailItem]) -> None:
    """Fresh ids, unique in the batch and not yet taken (the single path retries on conflict)."""
    pending = items
    for _ in range(5):
        chosen: set[str] = set()
        for item in pending:
            uid = services.new_uid()
            while uid in chosen:
                uid = services.new_uid()
            item.uid = uid
            chosen.add(uid)
        taken = set(MailItem.objects.filter(uid__in=chosen).values_list("uid", flat=True))
        pending = [item for item in pending if item.uid in taken]
        if not pending:
            return
    raise RuntimeError("could not allocate unique item ids")


def _record(
    actor: Actor,
    valid: list[_Valid],
    items: list[MailItem],
    warnings: list[str],
    expected: dict[str, str],
    now: datetime,
) -> None:
    records: list[ledger.Record] = []
    emitted: list[events.DomainEvent] = []
    for v, item in zip(valid, items, strict=True):
        records.append(
            ledger.Record(
                "custody.item.received",
                "mailitem",
                item.uid,
                {
                    "tracking_number": v.number,
                    "carrier": v.carrier,
                    "kind": v.req.kind,
                    "recipient": v.recipient.employee_id,
                    "location": v.location.code,
                    "photo_sha256": "",
                    "duplicate_confirmed": v.req.confirm_duplicate,
                    **({"flagged": True} if v.req.suspicious else {}),
                    **({"unverified_tracking_number": v.unverified} if v.unverified else {}),
                    **({"warnings": warnings} if warnings else {}),
                    **({"manifest": expected[v.number]} if v.number in expected else {}),
                },
            )
        )
        records.append(services._transition_record(item, State.RECEIVED, v.location, "logged at intake"))
        emitted.append(events.ItemReceived(uid=item.uid, site=v.site.code, kind=v.req.kind))
        emitted.append(services._transition_event(item, State.RECEIVED))
    for start in range(0, len(emitted), ROWS_PER_STATEMENT):
        outbox.emit_many(emitted[start : start + ROWS_PER_STATEMENT])
    # Last, because the ledger's head stays locked until the commit. One lock, one chain.
    for start in range(0, len(records), ROWS_PER_STATEMENT):
        ledger.append_many(actor, records[start : start + ROWS_PER_STATEMENT], at=now)
