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

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

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
    return _Valid(index, req, site, recipient, location, number, carrier, tracking_type, unverified)


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
        expected = manifests.mark_arrived([(i.tracking_number, i.uid) for i in items], now)
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


@dataclass(frozen=True)
class _Written:
    uid: str
    tracking_number: str
    carrier: str


def _write_items(valid: list[_Valid], now: datetime) -> list[_Written]:
    """INSERT the items as plain rows: a thousand model instances cost more than the rows."""
    connection = connections[DEFAULT_DB_ALIAS]
    at = connection.ops.adapt_datetimefield_value(now)
    uids = _allocate_uids(len(valid))
    rows: list[dict[str, Any]] = []
    for v, uid in zip(valid, uids, strict=True):
        req = v.req
        rows.append(
            {
                "uid": uid,
                "site_id": v.site.pk,
                "tracking_number": v.number,
                "carrier": v.carrier,
                "tracking_type": v.tracking_type,
                "kind": req.kind,
                "sender": req.sender.strip()[:200],
                "accountable": req.accountable,
                "flagged": req.suspicious,
                "review_reason": services._review_reason(v.unverified) if v.unverified else "",
                "length_mm": req.length_mm,
                "width_mm": req.width_mm,
                "height_mm": req.height_mm,
                "weight_g": req.weight_g,
                "photo_sha256": "",
                "recipient_id": v.recipient.pk,
                # Written in its queued state, as a single intake writes it (logged, queued).
                "state": State.AWAITING_SCREENING.value,
                "location_id": v.location.pk,
                "received_at": at,
                "state_changed_at": at,
                "pickup_failures": 0,
                "reminders_sent": 0,
                "escalated_at": None,
                "version": 2,
                "notes": req.notes,
            }
        )
    columns, statement = _insert_shape()
    defaults = _column_defaults()
    with plainsql.cursor() as cursor:
        for first in range(0, len(rows), ROWS_PER_STATEMENT):
            chunk = rows[first : first + ROWS_PER_STATEMENT]
            sql = statement + ", ".join([f"({', '.join(['%s'] * len(columns))})"] * len(chunk))
            cursor.execute(
                sql, [row.get(name, defaults[name]) for row in chunk for name in columns]
            )
    return [_Written(uid, v.number, v.carrier) for v, uid in zip(valid, uids, strict=True)]


def _insert_shape() -> tuple[list[str], str]:
    meta = MailItem._meta
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    names = ", ".join(quote(f.column) for f in fields)
    return [f.attname for f in fields], f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES "


def _column_defaults() -> dict[str, Any]:
    """What a new item holds in the columns intake does not set (legal hold, purge, ...), as the
    database takes it: the fields' own defaults, so a column added later is written too."""
    connection = connections[DEFAULT_DB_ALIAS]
    meta = MailItem._meta
    defaults: dict[str, Any] = {}
    for column in meta.concrete_fields:
        if column is meta.pk:
            continue
        value = column.get_default() if column.has_default() or column.null else None
        defaults[column.attname] = column.get_db_prep_save(value, connection)
    return defaults


def _new_uid() -> str:
    # 40 random bits, 5 to a character: the same ids as services.new_uid, drawn in one call.
    bits = int.from_bytes(secrets.token_bytes(5), "big")
    return "MW-" + "".join(services.UID_ALPHABET[(bits >> shift) & 31] for shift in _SHIFTS)


_SHIFTS = tuple(range(35, -1, -5))


def _allocate_uids(count: int) -> list[str]:
    """Fresh ids, unique in the batch and not yet taken (the single path retries on conflict)."""
    uids: list[str] = []
    chosen: set[str] = set()
    for _ in range(5):
        while len(uids) < count:
            uid = _new_uid()
            if uid not in chosen:
                chosen.add(uid)
                uids.append(uid)
        taken = set(MailItem.objects.filter(uid__in=uids).values_list("uid", flat=True))
        if not taken:
            return uids
        uids = [uid for uid in uids if uid not in taken]
    raise RuntimeError("could not allocate unique item ids")


def _record(
    actor: Actor,
    valid: list[_Valid],
    items: list[_Written],
    warnings: list[str],
    expected: dict[str, str],
    now: datetime,
) -> None:
    records: list[ledger.Record] = []
    emitted: list[events.DomainEvent] = []
    queued = events.TRANSITIONS[State.AWAITING_SCREENING.value]
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
        # What services._transition_record and _transition_event say of the same move.
        records.append(
            ledger.Record(
                "custody.item.transitioned",
                "mailitem",
                item.uid,
                {
                    "from": State.RECEIVED.value,
                    "to": State.AWAITING_SCREENING.value,
                    "location": v.location.code,
                    "reason": "logged at intake",
                },
            )
        )
        emitted.append(events.ItemReceived(uid=item.uid, site=v.site.code, kind=v.req.kind))
        emitted.append(
            queued(uid=item.uid, previous=State.RECEIVED.value, location=v.location.code, version=2)
        )
    for start in range(0, len(emitted), ROWS_PER_STATEMENT):
        outbox.emit_many(emitted[start : start + ROWS_PER_STATEMENT])
    # Last, because the ledger's head stays locked until the commit. One lock, one chain.
    for start in range(0, len(records), ROWS_PER_STATEMENT):
        ledger.append_many(actor, records[start : start + ROWS_PER_STATEMENT], at=now)
