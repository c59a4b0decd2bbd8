"""Fixtures for custody service tests: a site with every kind of location, and a recipient."""

from __future__ import annotations

import io
from collections import deque
from dataclasses import dataclass

import pytest
from PIL import Image, ImageDraw

from mailwarden.config import get_settings
from mailwarden.core.models import LedgerEntry, LedgerHead
from mailwarden.custody import pickup, services
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import QUARANTINE_EXITS, TRANSITIONS, State
from mailwarden.directory.models import Recipient, Site
from tests.factories import CLERK, MANAGER, SCREENER, make_recipient, make_site


@pytest.fixture
def site(db) -> Site:
    return make_site()


@pytest.fixture
def recipient(db) -> Recipient:
    return make_recipient()


@pytest.fixture
def small_pixel_limit():
    """A pixel limit small enough to exceed with a tiny PNG; restored afterwards."""
    uploads = get_settings().uploads
    previous = uploads.max_pixels
    uploads.max_pixels = 64 * 64
    yield uploads.max_pixels
    uploads.max_pixels = previous


@dataclass(frozen=True)
class Snapshot:
    items: int
    head: tuple[int, str]
    entries: int


def snapshot() -> Snapshot:
    head = LedgerHead.objects.filter(id=1).values_list("seq", "hash").first()
    return Snapshot(MailItem.objects.count(), head or (0, ""), LedgerEntry.objects.count())


def png(width: int, height: int, *, stroke: bool = True) -> bytes:
    image = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    if stroke:
        ImageDraw.Draw(image).line((5, height - 5, width - 5, 5), fill=(0, 0, 0, 255), width=3)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def path_to(target: State) -> list[State]:
    """The shortest run of states from a fresh item (awaiting screening) to ``target``."""
    queue: deque[list[State]] = deque([[State.AWAITING_SCREENING]])
    while queue:
        path = queue.popleft()
        if path[-1] == target:
            return path[1:]
        queue.extend([*path, nxt] for nxt in TRANSITIONS[path[-1]] if nxt not in path)
    raise AssertionError(f"{target} cannot be reached")


def advance(uid: str, target: State, reason: str = "test step") -> MailItem:
    """Take one legal step with the service and the role that step needs."""
    if target in (State.CLEARED, State.QUARANTINED):
        return services.transition(SCREENER, uid, target.value, reason=reason)
    if target in QUARANTINE_EXITS:
        # Custody's half of the two-person decision; screening checks who the two people are.
        return services.two_person_quarantine_outcome(
            MANAGER, uid, target.value, reason=reason, proposed_by="user:first-manager"
        )
    if target == State.PICKED_UP:
        return services.hand_over(CLERK, uid, method="code", proof=pickup.pickup_code(uid))
    if target == State.DELIVERED:
        return services.hand_over(
            CLERK, uid, method="qr", proof=pickup.qr_token(uid), delivered=True
        )
    return services.transition(CLERK, uid, target.value, reason=reason)


def item_in(site: Site, recipient: Recipient, state: State) -> MailItem:
    item = services.intake(
        CLERK, services.IntakeRequest(site=site.code, recipient_id=recipient.pk, kind="parcel")
    )
    for step in path_to(state):
        item = advance(item.uid, step)
    return MailItem.objects.get(pk=item.pk)
