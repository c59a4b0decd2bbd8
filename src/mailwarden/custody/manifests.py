"""Carriers' advance manifests: parcels announced before they reach the dock.

A manifest is a CSV with a header row naming ``tracking_number``, ``carrier``, ``recipient``
(an email address or an employee ID) and ``expected_date`` (``YYYY-MM-DD``, may be empty). Each
valid row becomes an :class:`ExpectedParcel`; each refused row is reported with its row number
and field, and the others are still imported. When intake logs an item with an expected
tracking number, the expectation is linked to the item (:func:`mark_arrived`), so what is left
open is what was announced but has not arrived.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from django.db import transaction
from django.db.models import QuerySet, Subquery

from mailwarden.contracts import events
from mailwarden.core import clock, ledger, outbox, plainsql
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import INTAKE, VIEW_ITEMS
from mailwarden.custody import carriers
from mailwarden.custody.models import ExpectedParcel, MailItem
from mailwarden.directory.models import Recipient, Site

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 10_000
COLUMNS = ("tracking_number", "carrier", "recipient", "expected_date")
REQUIRED = ("tracking_number", "recipient")
NAME_MAX = 150


@dataclass(frozen=True)
class RowError:
    row: int  # the line's number in the file, the header being line 1
    field: str
    reason: str


@dataclass
class ImportResult:
    manifest: str
    expected: int = 0
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class _Row:
    row: int
    number: str
    carrier: str
    recipient: Recipient
    expected_on: date | None


def _decode(data: bytes) -> list[dict[str, str]]:
    if len(data) > MAX_BYTES:
        raise ServiceError(
            f"the file is {len(data):,} bytes; a manifest may be at most {MAX_BYTES:,}", "file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ServiceError("the file is not UTF-8 text (save it as CSV, UTF-8)", "file") from None
    if "\x00" in text:
        raise ServiceError("the file is not a CSV text file", "file")
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            raise ServiceError("the file is empty", "file")
        names = [h.strip().lower().replace(" ", "_") for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise ServiceError(
                f"the header row lacks {', '.join(missing)}; it needs {', '.join(COLUMNS)}",
                "file",
            )
        rows: list[dict[str, str]] = []
        for cells in reader:
            if not any(c.strip() for c in cells):
                rows.append({})
                continue
            rows.append(
                {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(names)}
            )
            if len(rows) > MAX_ROWS:
                raise ServiceError(f"more than {MAX_ROWS:,} rows; split the manifest", "file")
    except csv.Error as exc:
        raise ServiceError(f"the file is not valid CSV ({exc})", "file") from None
    return rows


class _Recipients:
    """Active recipients by email (any case) and by employee ID, read once per manifest."""

    def __init__(self, keys: set[str]) -> None:
        emails = {k.lower() for k in keys if "@" in k}
        ids = {k for k in keys if "@" not in k}
        self.by_email: dict[str, Recipient] = {}
        self.by_id: dict[str, Recipient] = {}
        people = Recipient.objects.filter(active=True)
        for person in people.filter(employee_id__in=ids) if ids else []:
            self.by_id[person.employee_id] = person
        if emails:
            for person in people.exclude(email=""):
                if person.email.lower() in emails:
                    self.by_email[person.email.lower()] = person

    def find(self, key: str) -> Recipient | None:
        return self.by_email.get(key.lower()) if "@" in key else self.by_id.get(key)


def _check_row(row: int, cells: dict[str, str], people: _Recipients) -> _Row:
    raw_number = cells.get("tracking_number", "").strip()
    if not raw_number:
        raise _RowRefused(row, "tracking_number", "is empty")
    try:
        found = carriers.validate(carriers.normalise(raw_number))
    except carriers.InvalidTrackingNumber as exc:
        raise _RowRefused(row, "tracking_number", f"does not check out: {exc.reason}") from None
    carrier = cells.get("carrier", "").strip().lower()
    if carrier and carrier not in (found.carrier, found.carrier_name.lower()):
        raise _RowRefused(
            row,
            "carrier",
            f"{carrier!r} does not match the number, which is {found.carrier_name}'s",
        )
    key = cells.get("recipient", "").strip()
    if not key:
        raise _RowRefused(row, "recipient", "is empty")
    recipient = people.find(key)
    if recipient is None:
        raise _RowRefused(row, "recipient", f"no active person with email or employee ID {key!r}")
    when = cells.get("expected_date", "").strip()
    expected_on = None
    if when:
        try:
            expected_on = date.fromisoformat(when)
        except ValueError:
            raise _RowRefused(
                row, "expected_date", f"{when!r} is not a date (YYYY-MM-DD)"
            ) from None
    return _Row(row, found.number, found.carrier, recipient, expected_on)


class _RowRefused(Exception):
    def __init__(self, row: int, field: str, reason: str) -> None:
        super().__init__(reason)
        self.error = RowError(row, field, reason)


def import_manifest(actor: Actor, site_code: str, name: str, data: bytes) -> ImportResult:
    """Add the manifest's valid rows to the site's expected parcels; report the others."""
    require(actor, INTAKE, "importing a manifest")
    site = plainsql.first_where(Site, "code = %s", [site_code])
    if site is None:
        raise ServiceError(f"no site {site_code!r}", "site")
    rows = _decode(data)
    digest = hashlib.sha256(data).hexdigest()
    label = f"{(name or 'manifest.csv').strip()[: NAME_MAX - 10]} ({digest[:8]})"
    result = ImportResult(manifest=label)
    people = _Recipients({cells.get("recipient", "").strip() for cells in rows if cells})
    checked: list[_Row] = []
    for offset, cells in enumerate(rows):
        if not cells:
            continue
        try:
            checked.append(_check_row(offset + 2, cells, people))
        except _RowRefused as refused:
            result.errors.append(refused.error)
    now = clock.now()
    with transaction.atomic():
        open_numbers = set(
            ExpectedParcel.objects.filter(
                tracking_number__in=[r.number for r in checked], arrived_at__isnull=True
            ).values_list("tracking_number", flat=True)
        )
        fresh: list[_Row] = []
        for r in checked:
            if r.number in open_numbers:
                result.errors.append(RowError(r.row, "tracking_number", "is already expected"))
                continue
            open_numbers.add(r.number)
            fresh.append(r)
        ExpectedParcel.objects.bulk_create(
            [
                ExpectedParcel(
                    site=site,
                    tracking_number=r.number,
                    carrier=r.carrier,
                    recipient=r.recipient,
                    expected_on=r.expected_on,
                    manifest=label,
                    imported_at=now,
                    imported_by=actor.label[:150],
                )
                for r in fresh
            ],
            batch_size=500,
        )
        result.expected = len(fresh)
        outbox.emit(
            events.ManifestImported(
                site=site.code, manifest=label, sha256=digest, expected=len(fresh)
            )
        )
        ledger.append(
            actor,
            "custody.manifest.imported",
            "manifest",
            digest[:16],
            {
                "site": site.code,
                "manifest": label,
                "sha256": digest,
                "expected": [r.number for r in fresh],
                "refused_rows": len(result.errors),
            },
            at=now,
        )
    result.errors.sort(key=lambda e: e.row)
    return result


def mark_arrived(arrivals: Sequence[tuple[str, str]], at: datetime) -> dict[str, str]:
    """Link the open expectations of these (tracking number, item uid) pairs to their items.

    Runs in the intake's transaction. Returns, for each number that was expected, the manifest
    it came from, for the intake's ledger entry.
    """
    numbers = {number: uid for number, uid in arrivals if number}
    if not numbers:
        return {}
    matched: dict[str, str] = {}
    expected = ExpectedParcel.objects.filter(
        tracking_number__in=list(numbers), arrived_at__isnull=True
    ).values_list("id", "tracking_number", "manifest")
    for pk, number, manifest in expected:
        item = MailItem.objects.filter(uid=numbers[number]).values("pk")[:1]
        ExpectedParcel.objects.filter(pk=pk).update(item_id=Subquery(item), arrived_at=at)
        matched[number] = manifest
    return matched


# ----------------------------------------------------------------------------- reads


def expected_for(actor: Actor, number: str) -> ExpectedParcel | None:
    """The open expectation of a tracking number, for intake to pre-fill its recipient."""
    require(actor, VIEW_ITEMS, "looking up expected parcels")
    normalised = carriers.normalise(number)
    if not normalised:
        return None
    return (
        ExpectedParcel.objects.filter(tracking_number=normalised, arrived_at__isnull=True)
        .select_related("recipient", "recipient__department", "site")
        .first()
    )


def not_arrived(actor: Actor, site_code: str | None = None) -> QuerySet[ExpectedParcel]:
    """What was announced but has not arrived, the longest expected first."""
    require(actor, VIEW_ITEMS, "viewing expected parcels")
    parcels = ExpectedParcel.objects.filter(arrived_at__isnull=True).select_related(
        "recipient", "site"
    )
    if site_code:
        parcels = parcels.filter(site__code=site_code)
    return parcels.order_by("expected_on", "id")
