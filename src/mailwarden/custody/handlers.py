"""Outbox handlers for custody events.

Importing this module (CustodyConfig.ready does) also registers the custody email renderers,
which live in :mod:`mailwarden.custody.notifications`.
"""

from __future__ import annotations

from mailwarden.contracts.events import ItemReadyForPickup
from mailwarden.core import outbox
from mailwarden.custody import notifications


@outbox.handles(ItemReadyForPickup)
def invite_to_collect(event: ItemReadyForPickup) -> None:
    # Ready for pickup, not received: nobody is asked to collect an item before it is screened.
    notifications.queue_arrival(event.uid)
