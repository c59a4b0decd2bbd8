"""Role checks shared by services, console views and the API."""

from __future__ import annotations

from collections.abc import Iterable

from mailwarden.core.actor import Actor
from mailwarden.core.errors import Forbidden
from mailwarden.core.roles import Role


def require(actor: Actor, allowed: Iterable[Role], what: str) -> None:
    allowed = tuple(allowed)
    if not actor.has(*allowed):
        names = ", ".join(r.title.lower() for r in allowed) or "administrator"
        raise Forbidden(f"{what} needs one of these roles: {names}")
