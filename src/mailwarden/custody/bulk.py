"""Bulk actions on a selection of items: move, ready for pickup, labels, reminders.

Each action goes through the one-item service for every item (docs/architecture.md rule 1), so
each item gets the same checks and its own ledger entry. The whole selection is one transaction,
and each item runs in a savepoint inside it: an item that cannot take the action is left as it
was and reported by its ID with the reason, and the others still go. Nothing is all-or-nothing,
because one item picked up in the meantime must not stop a shelf of others being moved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

from django.db import transaction

from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import HANDOVER, SCREEN, VIEW_ITEMS
from mailwarden.custody import labels, queries, services
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State

# A selection is what a person ticks on a page or a client sends at once; past this a job fits
# better than one request and one transaction.
MAX_SELECTION = 500


class BulkAction(StrEnum):
    MOVE = "move"
    READY = "ready_for_pickup"
    REMIND = "remind"


ACTION_LABELS = {
    BulkAction.MOVE: "Move to a location",
    BulkAction.READY: "Mark ready for pickup",
    BulkAction.REMIND: "Send pickup reminders",
}


# Who may run each action: the roles its one-item service checks.
ACTION_ROLES = {
    BulkAction.MOVE: (*HANDOVER, *SCREEN),
    BulkAction.READY: HANDOVER,
    BulkAction.REMIND: HANDOVER,
}


def actions_for(actor: Actor) -> list[BulkAction]:
    """The actions this person may run, so a page offers only those."""
    return [action for action, roles in ACTION_ROLES.items() if actor.has(*roles)]


@dataclass(frozen=True)
class Skipped:
    uid: str
    reason: str


@dataclass
class BulkResult:
    action: BulkAction
    done: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def selection(uids: Sequence[str]) -> list[str]:
    """The item IDs as given, upper-cased, without repeats; refused when empty or too many."""
    seen: dict[str, None] = {}
    for uid in uids:
        clean = uid.strip().upper()
        if clean:
            seen.setdefault(clean, None)
    if not seen:
        raise ServiceError("select at least one item", "uids")
    if len(seen) > MAX_SELECTION:
        raise ServiceError(
            f"{len(seen)} items are selected; act on at most {MAX_SELECTION} at once", "uids"
        )
    return list(seen)


def _run(
    actor: Actor, action: BulkAction, uids: Sequence[str], one: Callable[[str], object]
) -> BulkResult:
    chosen = selection(uids)
    visible = set(queries.visible_items(actor).filter(uid__in=chosen).values_list("uid", flat=True))
    result = BulkResult(action)
    with transaction.atomic():
        for uid in chosen:
            if uid not in visible:
                result.skipped.append(Skipped(uid, "no such item"))
                continue
            try:
                with transaction.atomic():
                    one(uid)
            except ServiceError as exc:
                result.skipped.append(Skipped(uid, exc.message))
            else:
                result.done.append(uid)
    return result


def move(actor: Actor, uids: Sequence[str], location_code: str, reason: str = "") -> BulkResult:
    """Move each item to the location with ``location_code`` at that item's own site."""
    require(actor, ACTION_ROLES[BulkAction.MOVE], "moving items")
    if not location_code.strip():
        raise ServiceError("choose the location to move the items to", "location_code")
    reason = reason.strip() or "moved with other items"
    return _run(
        actor,
        BulkAction.MOVE,
        uids,
        lambda uid: services.move(actor, uid, location_code.strip(), reason),
    )


def mark_ready(actor: Actor, uids: Sequence[str], reason: str = "") -> BulkResult:
    """Put each item on its site's pickup shelf, ready for its recipient."""
    require(actor, ACTION_ROLES[BulkAction.READY], "marking items ready for pickup")
    reason = reason.strip() or "marked ready with other items"
    return _run(
        actor,
        BulkAction.READY,
        uids,
        lambda uid: services.transition(actor, uid, State.READY_FOR_PICKUP.value, reason=reason),
    )


def send_reminders(actor: Actor, uids: Sequence[str]) -> BulkResult:
    """Remind the recipient of each item that waits for pickup."""
    require(actor, ACTION_ROLES[BulkAction.REMIND], "sending pickup reminders")
    return _run(actor, BulkAction.REMIND, uids, lambda uid: services.send_reminder(actor, uid))


def run(
    actor: Actor,
    action: BulkAction | str,
    uids: Sequence[str],
    *,
    location_code: str = "",
    reason: str = "",
) -> BulkResult:
    """One entry for the console and the API, which both name the action as a value."""
    try:
        chosen = BulkAction(action)
    except ValueError:
        names = ", ".join(a.value for a in BulkAction)
        raise ServiceError(f"unknown action {action!r}; actions are {names}", "action") from None
    if chosen is BulkAction.MOVE:
        return move(actor, uids, location_code, reason)
    if chosen is BulkAction.READY:
        return mark_ready(actor, uids, reason)
    return send_reminders(actor, uids)


# ----------------------------------------------------------------------------- labels


def label_data(item: MailItem) -> labels.LabelData:
    """What an item's label prints, its arrival in the site's own time."""
    return labels.LabelData(
        uid=item.uid,
        recipient_name=item.recipient.display_name,
        mail_stop=item.recipient.mail_stop,
        department=item.recipient.department_name,
        carrier=item.carrier.upper() if item.carrier else "",
        tracking_number=item.tracking_number,
        kind=item.get_kind_display(),
        received_at=item.received_at.astimezone(ZoneInfo(item.site.timezone)),
        site_name=item.site.name,
    )


@dataclass(frozen=True)
class LabelSheet:
    pdf: bytes
    printed: list[str]
    skipped: list[Skipped]


def print_labels(actor: Actor, uids: Sequence[str]) -> LabelSheet:
    """One PDF with a 4x6-inch label page per item, in the order given.

    A reprinted label is a second label in circulation for the same item, so each print is on
    the item's record; the entries are written in one transaction once the PDF is made.
    """
    require(actor, VIEW_ITEMS, "printing labels")
    chosen = selection(uids)
    found = {
        item.uid: item for item in queries.visible_items(actor).filter(uid__in=chosen).iterator()
    }
    skipped = [Skipped(uid, "no such item") for uid in chosen if uid not in found]
    printed = [uid for uid in chosen if uid in found]
    if not printed:
        raise ServiceError("none of the selected items could be found", "uids")
    pdf = labels_pdf([label_data(found[uid]) for uid in printed])
    with transaction.atomic():
        ledger.append_many(
            actor,
            [
                ledger.Record(
                    "custody.label.printed",
                    "mailitem",
                    uid,
                    {"with": len(printed), "format": "pdf"},
                )
                for uid in printed
            ],
        )
    return LabelSheet(pdf, printed, skipped)


def labels_pdf(items: Sequence[labels.LabelData]) -> bytes:
    """The labels' pages joined into one document, as WeasyPrint joins rendered documents."""
    # WeasyPrint pulls in Pango and friends; only label printing needs it.
    import weasyprint

    fetcher = labels._refusing_fetcher()
    documents = [
        weasyprint.HTML(string=labels.label_html(item), url_fetcher=fetcher).render()
        for item in items
    ]
    pages = [page for document in documents for page in document.pages]
    pdf = documents[0].copy(pages).write_pdf()
    if not isinstance(pdf, bytes):
        raise RuntimeError("WeasyPrint returned no PDF bytes for the labels")
    return pdf
