"""Certificates that gate duties (core.duties): enforced here, in the services, not only in the
console. (Helper B fills this in.)"""

from __future__ import annotations

from mailwarden.core.actor import Actor


def refuse_uncertified_screener(actor: Actor) -> None:
    """Raise Forbidden when ``actor`` must hold a current screening certificate and does not."""


def intake_warnings(actor: Actor) -> list[str]:
    """Warnings for a clerk without current mail-handling (intake) training."""
    return []
