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


def require_person(actor: Actor, what: str) -> int:
    """The person ``actor`` counts as in a two-person rule (``Actor.person_id``); refused for a
    device, a job or a token someone else issued. Two-person rules compare these identities,
    never labels, so one person's session and own tokens are always the same person."""
    person = actor.person_id
    if person is None:
        raise Forbidden(
            f"{what} needs a named person: sign in, or use an API token you issued for yourself"
        )
    return person
