"""Outbox handlers for custody events.

Importing this module (CustodyConfig.ready does) also registers the custody email renderers,
which live in :mod:`mailwarden.custody.notifications`.
"""

from __future__ import annotations

from mailwarden.core import outbox
from mailwarden.core.models import OutboxEvent
from mailwarden.custody import notifications
from mailwarden.custody.states import State


@outbox.handles(f"item.{State.READY_FOR_PICKUP.value}")
def invite_to_collect(event: OutboxEvent) -> None:
    # Ready for pickup, not received: nobody is asked to collect an item before it is screened.
    notifications.queue_arrival(event.payload["uid"])
