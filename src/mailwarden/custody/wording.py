"""Ledger actions in the words a person reads on the item page and in the custody document."""

from __future__ import annotations

from mailwarden.core import ledger

ACTION_TITLES = {
    "custody.item.received": "Logged at intake",
    "custody.item.moved": "Moved",
    "custody.item.photo_attached": "Photo attached",
    "custody.pickup_code.rejected": "Wrong pickup code",
    "custody.reminder.sent": "Pickup reminder sent",
    "custody.item.escalated": "Escalated to the recipient's manager",
    "custody.item.review_cleared": "Review flag cleared by a manager",
    "custody.label.printed": "Label printed",
    "screening.scan.stored": "X-ray image stored",
    "custody.content.purged": "Photo and signatures purged (retention)",
    "screening.xray_images.purged": "X-ray images purged (retention)",
    "custody.legal_hold.placed": "Legal hold placed",
    "custody.legal_hold.released": "Legal hold released",
    "screening.decision.recorded": "Screening decision",
    "screening.decision.confirmed": "Decision confirmed by a second screener",
    "screening.quarantine_outcome.proposed": "Quarantine outcome proposed",
    "screening.quarantine_outcome.confirmed": "Quarantine outcome confirmed",
}


def action_title(action: str) -> str | None:
    """The title of a stored action (legacy names included); None for an unlisted one."""
    return ACTION_TITLES.get(ledger.current_action(action))


def plain(action: str) -> str:
    """An action's title, or for one not listed its noun and verb: "Label printed"."""
    title = action_title(action)
    if title:
        return title
    parts = ledger.current_action(action).split(".")
    words = " ".join(parts[1:] if len(parts) > 1 else parts).replace("_", " ")
    return words[:1].upper() + words[1:]
