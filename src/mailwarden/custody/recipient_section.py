"""Custody's part of a recipient's page and of the console's global search.

The directory sits below custody and cannot name its items, so custody contributes through the
``core.plugins`` hooks its AppConfig declares (``person_section``, ``search_provider``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import urlencode

from mailwarden.core.actor import Actor
from mailwarden.core.plugins import HistoryLine, PersonSection, SearchGroup, SearchHit
from mailwarden.core.roles import VIEW_ITEMS
from mailwarden.custody import carriers
from mailwarden.custody.models import MailItem
from mailwarden.custody.queries import visible_items
from mailwarden.custody.states import OPEN_STATES, TERMINAL

# A person's page lists this many of their items, newest first; the items list has the rest.
SHOWN = 50
ORDER = ("-received_at", "-id")


def items_section(actor: Actor, recipient_id: int) -> PersonSection | None:
    """The person's current and past items, as ``actor`` may see them (a recipient: only their
    own, so another person's page shows them nothing of custody)."""
    items = visible_items(actor).filter(recipient_id=recipient_id)
    if not actor.has(*VIEW_ITEMS) and not items.exists():
        return None
    rows = list(items.order_by(*ORDER)[: SHOWN + 1])
    more = len(rows) > SHOWN
    rows = rows[:SHOWN]
    current = [i for i in rows if i.state in OPEN_STATES]
    past = [i for i in rows if i.state in TERMINAL]
    html = render_to_string(
        "custody/_recipient_items.html",
        {
            "current": current,
            "past": past,
            "more": more,
            "shown": SHOWN,
            "items_url": reverse("items"),
        },
    )
    return PersonSection(title="Items", html=html, order=10, history=tuple(_history(rows)))


def _history(items: list[MailItem]) -> Iterable[HistoryLine]:
    for item in items:
        url = reverse("item_detail", args=[item.uid])
        yield HistoryLine(at=item.received_at, what=f"Item {item.uid} received", url=url)
        if item.state in TERMINAL:
            yield HistoryLine(
                at=item.state_changed_at, what=f"Item {item.uid}: {item.whereabouts}", url=url
            )


def search(actor: Actor, q: str, limit: int) -> list[SearchGroup]:
    """Items whose ID or tracking number is ``q`` (spaces and case aside), among those ``actor``
    may see.

    Equalities on indexed columns only, one query each, as ``queries.search_items`` does: the
    box is used from every page and must stay fast on millions of items (docs/performance.md).
    """
    token = carriers.normalise(q)
    if len(token) < 3:
        return []
    uids = {token} if token.startswith("MW-") else {token, f"MW-{token}"}
    items = visible_items(actor)
    ids = [
        *items.filter(uid__in=uids).values_list("id", flat=True)[: limit + 1],
        *items.filter(tracking_number=token)
        .order_by(*ORDER)
        .values_list("id", flat=True)[: limit + 1],
    ]
    rows = list(items.filter(id__in=ids).order_by(*ORDER)[: limit + 1])
    hits = tuple(
        SearchHit(
            title=item.uid,
            url=reverse("item_detail", args=[item.uid]),
            detail=" · ".join(
                part
                for part in (
                    item.tracking_number,
                    item.recipient.display_name,
                    item.state_label,
                    item.site.name,
                )
                if part
            ),
        )
        for item in rows[:limit]
    )
    more = reverse("items") + "?" + urlencode({"q": token}) if len(rows) > limit else ""
    return [SearchGroup(label="Items and tracking numbers", hits=hits, more_url=more, order=10)]
