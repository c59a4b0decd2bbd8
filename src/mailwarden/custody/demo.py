"""Custody's part of ``mailwarden demo`` (:class:`CustodyDemo`, declared on CustodyConfig): one
site, recipients and items spread over every custody state, all made through the services so the
ledger is real."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from django.db import transaction

from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.demo import DEMO_STAFF
from mailwarden.core.plugins import DemoOptions, DemoSeeder
from mailwarden.core.roles import Role
from mailwarden.custody import carriers, pickup, services
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.directory.models import Recipient

SENDERS = (
    "Acme Supplies Ltd",
    "City Council",
    "HM Revenue & Customs",
    "Northwind Traders",
    "Globex Corporation",
    "Law Offices of Hale & Co",
    "",
    "Initech Hardware",
    "University Press",
    "Blue Harbour Bank",
)
# Where the 200 demo items end up; every state appears.
STATE_MIX: tuple[tuple[State, float], ...] = (
    (State.AWAITING_SCREENING, 0.12),
    (State.CLEARED, 0.06),
    (State.QUARANTINED, 0.04),
    (State.RELEASED, 0.02),
    (State.DESTROYED, 0.015),
    (State.HANDED_TO_AUTHORITIES, 0.015),
    (State.READY_FOR_PICKUP, 0.2),
    (State.OUT_FOR_DELIVERY, 0.05),
    (State.DELIVERED, 0.15),
    (State.PICKED_UP, 0.3),
    (State.RETURNED, 0.03),
)
MINE = (State.AWAITING_SCREENING, State.READY_FOR_PICKUP, State.DELIVERED, State.PICKED_UP)
PATHS: dict[State, tuple[State, ...]] = {
    State.AWAITING_SCREENING: (),
    State.CLEARED: (State.CLEARED,),
    # Custody only holds items in quarantine: leaving it takes two people's decision, which
    # screening's part of the demo makes.
    State.QUARANTINED: (State.QUARANTINED,),
    State.RELEASED: (State.QUARANTINED,),
    State.DESTROYED: (State.QUARANTINED,),
    State.HANDED_TO_AUTHORITIES: (State.QUARANTINED,),
    State.READY_FOR_PICKUP: (State.CLEARED, State.READY_FOR_PICKUP),
    State.OUT_FOR_DELIVERY: (State.CLEARED, State.OUT_FOR_DELIVERY),
    State.DELIVERED: (State.CLEARED, State.OUT_FOR_DELIVERY, State.DELIVERED),
    State.PICKED_UP: (State.CLEARED, State.READY_FOR_PICKUP, State.PICKED_UP),
    State.RETURNED: (State.CLEARED, State.READY_FOR_PICKUP, State.RETURNED),
}


class CustodyDemo(DemoSeeder):
    """Items in every state, for the people the directory's demo seeded."""

    def present(self) -> str | None:
        if not MailItem.objects.exists():
            return None
        return f"{MailItem.objects.count()} items"

    def seed(self, options: DemoOptions) -> str:
        rng = random.Random(options.seed)
        people = list(Recipient.objects.filter(active=True).order_by("pk"))
        if not people:
            return ""
        fake_clock = FrozenClock(options.history_from)
        # The person the demo's recipient sign-in is (the directory's demo links them).
        mine = Recipient.objects.filter(
            active=True, user__username=DEMO_STAFF[Role.RECIPIENT]
        ).first()
        with use_clock(fake_clock):
            _seed_items(options.items, people, rng, fake_clock, mine)
        return f"Seeded {options.items} items."


def tracking_number(rng: random.Random, carrier: str) -> str:
    """A number in ``carrier``'s format whose check digit is right."""
    alnum = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
    while True:
        if carrier == "ups":
            body = "1Z" + "".join(rng.choice(alnum) for _ in range(6)) + "03"
            body += "".join(rng.choice("0123456789") for _ in range(7))
        elif carrier == "s10":
            body = rng.choice(("RR", "CP", "EE", "LX")) + "".join(
                rng.choice("0123456789") for _ in range(8)
            )
        else:
            body = "".join(rng.choice("0123456789") for _ in range(11))
        for digit in "0123456789":
            candidate = body + digit + ("GB" if carrier == "s10" else "")
            found = carriers.detect(candidate)
            if found is not None and (carrier == "any" or found.carrier == carrier):
                return candidate


def _seed_items(
    count: int,
    people: list[Recipient],
    rng: random.Random,
    fake_clock: FrozenClock,
    mine: Recipient | None = None,
) -> None:
    # The signed-in recipient's "My mail" shows an item of each of these states.
    owed = set(MINE) if mine is not None else set()
    clerk = Actor("user", "clerk", frozenset({Role.CLERK}))
    screener = Actor("user", "screener", frozenset({Role.SCREENER}))
    states = [s for s, _ in STATE_MIX]
    weights = [w for _, w in STATE_MIX]
    targets = list(states) + rng.choices(states, weights, k=max(0, count - len(states)))
    end = datetime.now(UTC)
    step = (end - fake_clock.current) / max(1, count)
    for n, final in enumerate(targets[:count]):
        # Recent items are still in early states, as in a real mailroom.
        fake_clock.current = end - step * (count - n) * (3 if final in _EARLY else 1)
        kind = rng.choices(("letter", "flat", "parcel", "pallet"), (5, 2, 4, 0.3))[0]
        number = (
            ""
            if kind == "letter" and rng.random() < 0.7
            else tracking_number(rng, rng.choice(("ups", "s10", "ups")))
        )
        recipient = rng.choice(people)
        if mine is not None and final in owed:
            owed.discard(final)
            recipient = mine
        with transaction.atomic():
            item = services.intake(
                clerk,
                services.IntakeRequest(
                    site="hq",
                    recipient_id=recipient.pk,
                    kind=kind,
                    tracking_number=number,
                    sender=rng.choice(SENDERS),
                    accountable=rng.random() < 0.1,
                    weight_g=rng.randint(20, 400)
                    if kind in ("letter", "flat")
                    else rng.randint(300, 20000),
                    confirm_duplicate=True,
                ),
            )
            for state in PATHS[final]:
                fake_clock.advance(minutes=rng.randint(5, 90))
                _advance(item.uid, state, clerk, screener)
    # Keep the demo's "now" honest after seeding in the past.
    fake_clock.current = end


_EARLY = frozenset({State.AWAITING_SCREENING, State.CLEARED, State.QUARANTINED})


def _advance(uid: str, state: State, clerk: Actor, screener: Actor) -> None:
    if state in (State.CLEARED, State.QUARANTINED):
        reason = (
            "demo: screened, nothing found"
            if state == State.CLEARED
            else ("demo: oily stain and excessive tape")
        )
        services.transition(screener, uid, state.value, reason=reason)
    elif state == State.PICKED_UP:
        services.hand_over(clerk, uid, method="code", proof=pickup.pickup_code(uid))
    elif state == State.DELIVERED:
        services.hand_over(clerk, uid, method="qr", proof=pickup.qr_token(uid), delivered=True)
    else:
        services.transition(clerk, uid, state.value, reason="demo")
