"""Legal holds on items: a held item's content is never purged (docs/retention.md).

A hold is placed on the item itself here, or comes from a higher app through the
``legal_holds`` plug-in hook (an incident under a legal hold keeps the items linked to it); the
hook is asked afresh at every purge, so releasing the incident's hold frees its items at once.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from mailwarden.contracts import events as catalogue
from mailwarden.core import clock, ledger, outbox, plugins
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_SECURITY
from mailwarden.core.validation import check_text
from mailwarden.custody.models import MailItem

REASON_MAX = 300


def _locked(uid: str) -> MailItem:
    item = MailItem.objects.select_for_update().filter(uid=uid.strip().upper()).first()
    if item is None:
        raise NotFound(f"no item {uid}", "uid")
    return item


def place_legal_hold(actor: Actor, uid: str, reason: str) -> MailItem:
    """Keep the item's content from every purge until the hold is released."""
    require(actor, MANAGE_SECURITY, "placing a legal hold")
    why = check_text(reason, "reason", max_length=REASON_MAX, required=True)
    now = clock.now()
    with transaction.atomic():
        item = _locked(uid)
        if item.legally_held:
            raise Conflict(
                f"{item.uid} is held already ({item.legal_hold_reason}, by {item.legal_hold_by})",
                "uid",
            )
        item.legal_hold_reason, item.legal_hold_by, item.legal_hold_at = why, actor.label, now
        item.save(update_fields=["legal_hold_reason", "legal_hold_by", "legal_hold_at"])
        ledger.append(
            actor, "custody.legal_hold.placed", "mailitem", item.uid, {"reason": why}, at=now
        )
        outbox.emit(catalogue.ItemLegalHoldPlaced(uid=item.uid, reason=why, by=actor.label))
    return item


def release_legal_hold(actor: Actor, uid: str, reason: str) -> MailItem:
    """Lift the item's own hold; the retention rules apply to it again from the next run."""
    require(actor, MANAGE_SECURITY, "releasing a legal hold")
    why = check_text(reason, "reason", max_length=REASON_MAX, required=True)
    now = clock.now()
    with transaction.atomic():
        item = _locked(uid)
        if not item.legally_held:
            raise Conflict(f"{item.uid} is not under a legal hold", "uid")
        held = {"hold_reason": item.legal_hold_reason, "held_by": item.legal_hold_by}
        item.legal_hold_reason, item.legal_hold_by, item.legal_hold_at = "", "", None
        item.save(update_fields=["legal_hold_reason", "legal_hold_by", "legal_hold_at"])
        ledger.append(
            actor,
            "custody.legal_hold.released",
            "mailitem",
            item.uid,
            {"reason": why, **held},
            at=now,
        )
        outbox.emit(catalogue.ItemLegalHoldReleased(uid=item.uid, reason=why, by=actor.label))
    return item


@dataclass(frozen=True)
class LegalHold:
    """Why an item is held, for its page and its export."""

    reason: str
    by: str
    at: datetime | None
    # Where the hold comes from: "item" for its own, else the higher app's words
    # ("incident INC-2027-0004").
    source: str


def holds_on(items: Collection[MailItem]) -> dict[str, LegalHold]:
    """The holds standing on ``items``, by uid: their own first, then the higher apps'."""
    found = {
        item.uid: LegalHold(item.legal_hold_reason, item.legal_hold_by, item.legal_hold_at, "item")
        for item in items
        if item.legally_held
    }
    others = plugins.legal_holds([item.uid for item in items if item.uid not in found])
    for uid, why in others.items():
        found[uid] = LegalHold(why, "", None, why.split(":", 1)[0])
    return found


def held_uids(uids: Collection[str]) -> set[str]:
    """Those of ``uids`` a legal hold keeps from purging (their own or a higher app's)."""
    own = set(
        MailItem.objects.filter(uid__in=list(uids))
        .exclude(legal_hold_reason="")
        .values_list("uid", flat=True)
    )
    return own | set(plugins.legal_holds([u for u in uids if u not in own]))
