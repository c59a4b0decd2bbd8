"""The custody state machine: which state may follow which."""

from __future__ import annotations

from django.db import models


class State(models.TextChoices):
    RECEIVED = "received", "Received"
    AWAITING_SCREENING = "awaiting_screening", "Awaiting screening"
    CLEARED = "cleared", "Cleared"
    QUARANTINED = "quarantined", "Quarantined"
    RELEASED = "released", "Released from quarantine"
    DESTROYED = "destroyed", "Destroyed"
    HANDED_TO_AUTHORITIES = "handed_to_authorities", "Handed to authorities"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    OUT_FOR_DELIVERY = "out_for_delivery", "Out for delivery"
    DELIVERED = "delivered", "Delivered"
    PICKED_UP = "picked_up", "Picked up"
    RETURNED = "returned", "Returned to sender"


S = State
TRANSITIONS: dict[State, frozenset[State]] = {
    S.RECEIVED: frozenset({S.AWAITING_SCREENING}),
    S.AWAITING_SCREENING: frozenset({S.CLEARED, S.QUARANTINED}),
    S.CLEARED: frozenset({S.READY_FOR_PICKUP, S.OUT_FOR_DELIVERY}),
    S.QUARANTINED: frozenset({S.RELEASED, S.DESTROYED, S.HANDED_TO_AUTHORITIES}),
    S.RELEASED: frozenset({S.READY_FOR_PICKUP, S.OUT_FOR_DELIVERY}),
    S.READY_FOR_PICKUP: frozenset({S.PICKED_UP, S.OUT_FOR_DELIVERY, S.RETURNED}),
    S.OUT_FOR_DELIVERY: frozenset({S.DELIVERED, S.READY_FOR_PICKUP, S.RETURNED}),
    S.DESTROYED: frozenset(),
    S.HANDED_TO_AUTHORITIES: frozenset(),
    S.DELIVERED: frozenset(),
    S.PICKED_UP: frozenset(),
    S.RETURNED: frozenset(),
}

TERMINAL = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
# Leaving these states is the recipient's hand-over, which needs proof (see services.hand_over).
HANDOVER_STATES = frozenset({S.PICKED_UP, S.DELIVERED})
# Quarantine exits are for the screening workflow; the custody API refuses them directly.
QUARANTINE_EXITS = frozenset({S.RELEASED, S.DESTROYED, S.HANDED_TO_AUTHORITIES})
OPEN_STATES = frozenset(State) - TERMINAL
# Where an item is once it has left the mailroom: its last shelf is no longer where it is.
GONE_FROM_MAILROOM: dict[State, str] = {
    S.PICKED_UP: "Picked up by the recipient",
    S.DELIVERED: "Delivered to the recipient",
    S.RETURNED: "Returned to sender",
    S.DESTROYED: "Destroyed",
    S.HANDED_TO_AUTHORITIES: "Handed to the authorities",
}


def allowed_after(state: State) -> list[State]:
    return sorted(TRANSITIONS[state], key=list(State).index)
