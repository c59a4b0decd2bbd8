"""The directory's part of the console's global search: people by name, email or employee ID."""

from __future__ import annotations

from django.urls import reverse
from django.utils.http import urlencode

from mailwarden.core.actor import Actor
from mailwarden.core.plugins import SearchGroup, SearchHit
from mailwarden.core.roles import VIEW_ITEMS, Role
from mailwarden.directory.models import Recipient
from mailwarden.directory.queries import people_found


def _hit(person: Recipient) -> SearchHit:
    detail = [person.employee_id, person.email, person.department_name]
    if not person.active:
        detail.append("inactive")
    return SearchHit(
        title=person.display_name,
        url=reverse("directory:recipient", args=[person.pk]),
        detail=" · ".join(d for d in detail if d),
    )


def search(actor: Actor, q: str, limit: int) -> list[SearchGroup]:
    """Staff find anyone; a recipient finds only themselves."""
    people = people_found(q)
    if not actor.has(*VIEW_ITEMS):
        if Role.RECIPIENT not in actor.roles or actor.user_id is None:
            return []
        people = people.filter(user_id=actor.user_id)
    rows = list(people[: limit + 1])
    more = ""
    if len(rows) > limit and actor.has(*VIEW_ITEMS):
        more = reverse("directory:recipients") + "?" + urlencode({"q": q})
    return [
        SearchGroup(
            label="People", hits=tuple(_hit(p) for p in rows[:limit]), more_url=more, order=20
        )
    ]
