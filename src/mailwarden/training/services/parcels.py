"""Planted test parcels. (Helper D fills this in.)"""

from __future__ import annotations

from mailwarden.core.actor import Actor


def stop_hand_over(actor: Actor, item_uid: str) -> None:
    """Refuse (Conflict) handing over an item that is a planted test parcel."""
