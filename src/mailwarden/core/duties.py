"""Checks an app higher up makes before someone does a duty that a lower app owns.

Layers only import downwards (docs/architecture.md), yet the training app decides whether a
screener's certificate lets them record a decision, and whether an item may be handed over at
all (a planted test parcel never is). So the service that owns the duty calls :func:`check`, and
every installed app that declares a ``duty_gate`` is asked. A gate refuses by raising a
``ServiceError`` (the service then changes nothing) or returns warnings for the person.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum

from django.utils.module_loading import import_string

from mailwarden.core.actor import Actor
from mailwarden.core.plugins import mailwarden_apps


class Duty(StrEnum):
    # Recording a screening decision on ``item_uid``.
    SCREEN = "screen"
    # Logging an item at intake (no item yet).
    INTAKE = "intake"
    # Handing ``item_uid`` to its recipient: pickup or delivery.
    HAND_OVER = "hand_over"


# (actor, duty, item uid or None) -> warnings; raises a ServiceError to refuse.
DutyGate = Callable[[Actor, Duty, str | None], list[str]]


def gates() -> list[DutyGate]:
    return [import_string(a.duty_gate) for a in mailwarden_apps() if a.duty_gate]


def check(actor: Actor, duty: Duty, *, item_uid: str | None = None) -> list[str]:
    """Ask every app's gate; the warnings they give, in app order. Raises when one refuses."""
    warnings: list[str] = []
    for gate in gates():
        warnings += gate(actor, duty, item_uid)
    return warnings
