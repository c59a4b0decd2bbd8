"""An item's chain of custody, exported from the ledger as JSON or as a PDF document.

Both carry each entry's hashed body and links, so a reader can recompute every hash without
trusting mailwarden, and both say whether mailwarden's own check of those entries passed.
"""

from __future__ import annotations

import base64
import json
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.template.loader import render_to_string

from mailwarden.core import checkpoints, clock, ledger, media
from mailwarden.core.chain import Problem
from mailwarden.core.models import LedgerEntry
from mailwarden.core.names import names
from mailwarden.custody import wording
from mailwarden.custody.legal_holds import holds_on
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State

SUBJECT_TYPE = "mailitem"
VERIFICATION_METHOD = (
    "each entry's SHA-256 is recomputed from its prev_hash and body, its columns are compared "
    "with the body, and its prev_hash is compared with the hash of the entry before it in the "
    "ledger; `mailwarden ledger verify` checks the whole chain"
)


@dataclass(frozen=True)
class _Record:
    entries: list[LedgerEntry]
    problems: list[Problem]
    head_seq: int
    head_hash: str
    exported_at: datetime


def _record(item: MailItem) -> _Record:
    entries = ledger.entries_for(SUBJECT_TYPE, item.uid)
    head_seq, head_hash = ledger.head()
    return _Record(entries, ledger.check_entries(entries), head_seq, head_hash, clock.now())


# The ledger actions of the retention jobs that purge an item's content (docs/retention.md).
PURGE_ACTIONS = {"custody.content.purged", "screening.xray_images.purged"}


def purge_notes(entries: list[LedgerEntry], tz: zoneinfo.ZoneInfo) -> list[dict[str, Any]]:
    """What content of the item was purged, when and under which rule, one note per kind of
    content, in plain words; read from the item's own ledger entries, which keep the hashes."""
    notes = []
    for entry in entries:
        if ledger.current_action(entry.action) not in PURGE_ACTIONS:
            continue
        data = ledger.entry_data(entry)
        day = entry.created_at.astimezone(tz).strftime("%Y-%m-%d")
        rule = str(data.get("rule", ""))
        kinds: list[tuple[str, list[str]]] = []
        if data.get("photo"):
            kinds.append(("Photo", [str(data["photo"])]))
        if data.get("signatures"):
            kinds.append(("Hand-over signature", [str(h) for h in data["signatures"]]))
        scans = data.get("scans") or []
        if scans:
            kinds.append(("X-ray images", [str(h) for s in scans for h in s.get("images", [])]))
        for content, hashes in kinds:
            notes.append(
                {
                    "content": content,
                    "purged_at": entry.created_at.isoformat(),
                    "rule": rule,
                    "sha256": hashes,
                    "seq": entry.seq,
                    "text": f"{content} purged on {day} under the rule '{rule}'",
                }
            )
    return notes


def _legal_hold(item: MailItem) -> dict[str, Any] | None:
    hold = holds_on([item]).get(item.uid)
    if hold is None:
        return None
    return {
        "reason": hold.reason,
        "by": hold.by,
        "at": hold.at.isoformat() if hold.at else None,
        "source": hold.source,
    }


def _verification(record: _Record) -> dict[str, Any]:
    return {
        "ok": not record.problems,
        "entries_checked": len(record.entries),
        "problems": [{"seq": p.seq, "kind": p.kind, "detail": p.detail} for p in record.problems],
        "method": VERIFICATION_METHOD,
    }


def custody_json(item: MailItem) -> dict[str, Any]:
    """The item and every ledger entry about it, oldest first, with a verification block."""
    record = _record(item)
    recipient = item.recipient
    entries = [_entry_json(entry) for entry in record.entries]
    # An inclusion proof per entry against the newest signed checkpoint (docs/ledger.md).
    receipt, receipt_note = checkpoints.receipt(entries)
    return {
        "item": {
            "uid": item.uid,
            "site": item.site.code,
            "site_name": item.site.name,
            "site_timezone": item.site.timezone,
            "recipient": {
                "employee_id": recipient.employee_id,
                "name": recipient.display_name,
                "department": recipient.department_name,
                "mail_stop": recipient.mail_stop,
            },
            "kind": item.kind,
            "tracking_number": item.tracking_number,
            "carrier": item.carrier,
            "tracking_type": item.tracking_type,
            "sender": item.sender,
            "accountable": item.accountable,
            "length_mm": item.length_mm,
            "width_mm": item.width_mm,
            "height_mm": item.height_mm,
            "weight_g": item.weight_g,
            "photo_sha256": item.photo_sha256,
            "state": item.state,
            "location": item.location.code,
            "received_at": item.received_at.isoformat(),
            "state_changed_at": item.state_changed_at.isoformat(),
            "version": item.version,
        },
        "entries": entries,
        "purged": purge_notes(record.entries, zoneinfo.ZoneInfo(item.site.timezone)),
        "legal_hold": _legal_hold(item),
        "verification": _verification(record),
        "receipt": receipt,
        "receipt_note": receipt_note,
        "ledger_head": {"seq": record.head_seq, "hash": record.head_hash},
        "exported_at": record.exported_at.isoformat(),
    }


def _entry_json(entry: LedgerEntry) -> dict[str, Any]:
    # Time and data as hashed, so an outside reader can rebuild the body from these fields.
    hashed = json.loads(entry.body)
    return {
        "seq": entry.seq,
        "at": hashed["at"],
        "actor": entry.actor,
        "action": entry.action,
        "data": hashed["data"],
        "body": entry.body,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _state_label(value: object) -> str:
    return State(value).label if isinstance(value, str) and value in State.values else str(value)


def _describe(entry: LedgerEntry, data: dict[str, Any]) -> str:
    action = ledger.current_action(entry.action)
    if action == "custody.item.transitioned":
        return f"{_state_label(data.get('from'))} → {_state_label(data.get('to'))}"
    return wording.plain(action)


def _reason(entry: LedgerEntry, data: dict[str, Any]) -> str:
    if ledger.current_action(entry.action) == "custody.item.received":
        number = data.get("tracking_number")
        return f"{data.get('kind', '')}, tracking {number}" if number else data.get("kind", "")
    reason = str(data.get("reason", "") or data.get("rule", ""))
    if data.get("collected_by"):
        reason += f" (collected by {data['collected_by']})"
    return reason


def _signature_url(data: dict[str, Any]) -> str:
    """The drawn signature as a data URL, so the document carries it without any fetch."""
    digest = data.get("signature_sha256")
    if not isinstance(digest, str) or not digest:
        return ""
    try:
        png = media.get(digest)
    except OSError:
        return ""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _steps(entries: list[LedgerEntry], tz: zoneinfo.ZoneInfo) -> list[dict[str, Any]]:
    steps = []
    people = names(entry.actor for entry in entries)
    for entry in entries:
        data = ledger.entry_data(entry)
        steps.append(
            {
                "seq": entry.seq,
                "time": entry.created_at.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z"),
                "actor": people.get(entry.actor, entry.actor),
                "action": _describe(entry, data),
                "location": data.get("location", ""),
                "reason": _reason(entry, data),
                "short_hash": entry.hash[:12],
                "signature": _signature_url(data),
            }
        )
    return steps


def custody_html(item: MailItem) -> str:
    record = _record(item)
    tz = zoneinfo.ZoneInfo(item.site.timezone)
    receipt, receipt_note = checkpoints.receipt([_entry_json(e) for e in record.entries])
    return render_to_string(
        "custody/export/custody.html",
        {
            "item": item,
            "steps": _steps(record.entries, tz),
            "purged": purge_notes(record.entries, tz),
            "legal_hold": _legal_hold(item),
            "verification": _verification(record),
            "receipt": receipt,
            "receipt_note": receipt_note,
            "head_seq": record.head_seq,
            "head_hash": record.head_hash,
            "exported_at": record.exported_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
            "received_at": item.received_at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z"),
        },
    )


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    # The document embeds everything it shows (signatures as data URLs); any other fetch could
    # only come from injected markup.
    if url.startswith("data:"):
        import weasyprint

        result: dict[str, Any] = weasyprint.default_url_fetcher(url)
        return result
    raise ValueError(f"the custody document may not load {url}")


def custody_pdf(item: MailItem) -> bytes:
    """An A4 chain-of-custody document for the item."""
    import weasyprint  # heavy (Pango); loaded only when a PDF is asked for

    fetcher_class = getattr(weasyprint, "URLFetcher", None)
    fetcher = fetcher_class(allowed_protocols=("data",)) if fetcher_class else _refuse_fetch
    pdf = weasyprint.HTML(string=custody_html(item), url_fetcher=fetcher).write_pdf()
    if not isinstance(pdf, bytes):
        raise RuntimeError("WeasyPrint returned no PDF bytes for a custody document")
    return pdf
