"""Screening's part of ``mailwarden demo`` (:class:`ScreeningDemo`, declared on ScreeningConfig):
quarantine decisions, and X-ray scans from the built-in dual-energy simulator.

The older quarantined items are decided first, each by two people, as the screening workflow
requires. Each scanned item then gets a simulated parcel, written as a 16-bit TIFF pair and
imported through the same service as a real scanner's files: stored, put on the ledger, analysed
and rendered.
Items held in quarantine, destroyed or handed to the authorities hold a threat; a released
item was a false alarm, and a few items awaiting screening hold one.
"""

from __future__ import annotations

import random
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np
from django.contrib.auth.models import User

from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.demo import DEMO_STAFF
from mailwarden.core.plugins import DemoOptions, DemoSeeder
from mailwarden.core.roles import Role
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.screening import decode, services
from mailwarden.screening.models import Outcome, Scan, ScanSource
from mailwarden.xray.objects import THREAT_CLASSES
from mailwarden.xray.projection import ScanConfig
from mailwarden.xray.simulator import simulate_parcel

# Small images keep seeding quick; the analysis works the same at any size.
DEMO_SCANNER = ScanConfig(shape=(384, 512))
QUARANTINE_FAMILY = frozenset(
    {State.QUARANTINED, State.RELEASED, State.DESTROYED, State.HANDED_TO_AUTHORITIES}
)
THREAT_SHARE_AWAITING = 0.15
# The older share of quarantined items have been decided, in these proportions.
DECIDED_SHARE = 0.55
OUTCOMES = (Outcome.RELEASED, Outcome.DESTROYED, Outcome.HANDED_TO_AUTHORITIES)
OUTCOME_WEIGHTS = (4.0, 3.0, 3.0)
DEFAULT_SAMPLE = 8  # of the items screened long ago, scanned for the record
# How many different parcels the demo simulates: harmless ones, and of each threat.
HARMLESS_PARCELS = 4
THREAT_PARCELS = 1


@dataclass(frozen=True)
class SeedScansResult:
    scans: int
    threats: int
    seconds: float

    def summary(self) -> str:
        return (
            f"Simulated {self.scans} X-ray scans ({self.threats} with threats) "
            f"in {self.seconds:.1f} s."
        )


class ParcelPool:
    """The demo's simulated parcels: a few of each kind, each simulated once and shared by the
    items it is drawn for. Simulating a parcel per item made the demo's start take minutes."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.made: dict[tuple[str | None, int], tuple[bytes, bytes]] = {}

    def images(self, threat: str | None, draw: int) -> tuple[bytes, bytes]:
        """The 16-bit TIFF pair (high, low) of a parcel holding ``threat`` (None: harmless);
        ``draw`` picks one of the pool's parcels of that kind."""
        key = (threat, draw % (HARMLESS_PARCELS if threat is None else THREAT_PARCELS))
        if key not in self.made:
            kind = 0 if threat is None else 1 + THREAT_CLASSES.index(threat)
            parcel = simulate_parcel(
                np.random.default_rng([self.seed, kind, key[1]]),
                DEMO_SCANNER,
                threat=threat,
                clutter=(2, 6),
            )
            self.made[key] = (decode.tiff16(parcel.high), decode.tiff16(parcel.low))
        return self.made[key]


def _chosen(items: list[MailItem], rng: random.Random, sample: int | None) -> list[MailItem]:
    """Every item awaiting screening or ever quarantined, and a sample of the rest."""
    eligible = [i for i in items if i.state != State.RECEIVED]
    if sample is None:
        return eligible
    must = [
        i for i in eligible if i.state == State.AWAITING_SCREENING or i.state in QUARANTINE_FAMILY
    ]
    rest = [i for i in eligible if i not in must]
    return must + rng.sample(rest, min(sample, len(rest)))


def seed_scans(
    items: Iterable[MailItem], seed: int = 7, *, sample: int | None = DEFAULT_SAMPLE
) -> SeedScansResult:
    """Scan the demo's items with the simulator; items that have a scan already are skipped.

    ``sample`` limits how many of the items screened long ago are scanned (None: all of them).
    """
    started = time.monotonic()
    rng = random.Random(seed)
    scanned = set(Scan.objects.values_list("item_id", flat=True))
    todo = [i for i in _chosen(list(items), rng, sample) if i.pk not in scanned]
    scanner = Actor.device("demo-scanner", Role.SCREENER)
    history = Actor.job("demo-scanner")
    threats = 0
    pool = ParcelPool(seed)
    for item in todo:
        if item.state in QUARANTINE_FAMILY - {State.RELEASED}:
            threat: str | None = rng.choice(THREAT_CLASSES)
        elif item.state == State.AWAITING_SCREENING and rng.random() < THREAT_SHARE_AWAITING:
            threat = rng.choice(THREAT_CLASSES)
        else:
            threat = None
        threats += threat is not None
        high, low = pool.images(threat, zlib.crc32(item.uid.encode()))
        upload = services.ScanUpload(high=high, low=low, filename=f"{item.uid}_high.tif")
        # The scan is dated a few minutes after the item arrived, when it was screened.
        taken = FrozenClock(item.received_at + timedelta(minutes=rng.randint(2, 20)))
        with use_clock(taken):
            if item.state in services.SCANNABLE:
                services.import_scan(scanner, item.uid, upload, source=ScanSource.DEMO)
            else:
                services.backfill_scan(history, item.uid, upload, source=ScanSource.DEMO)
    return SeedScansResult(len(todo), threats, time.monotonic() - started)


def decide_quarantine(seed: int = 7) -> int:
    """Decide the older part of what custody's demo left in quarantine, as staff would: a
    security manager proposes each outcome and the administrator confirms it. Returns how many
    items left quarantine."""
    manager = User.objects.filter(username=DEMO_STAFF[Role.SECURITY_MANAGER]).first()
    admin = User.objects.filter(username=DEMO_STAFF[Role.ADMIN]).first()
    if manager is None or admin is None:
        return 0
    proposer, confirmer = Actor.for_user(manager), Actor.for_user(admin)
    rng = random.Random(seed)
    held = list(MailItem.objects.filter(state=State.QUARANTINED).order_by("state_changed_at"))
    decided = held[: round(len(held) * DECIDED_SHARE)]
    for item in decided:
        outcome = rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0]
        proposed_at = item.state_changed_at + timedelta(hours=rng.randint(2, 20))
        with use_clock(FrozenClock(proposed_at)):
            request = services.propose_quarantine_outcome(
                proposer, item.uid, outcome.value, "demo: decided after review"
            )
        with use_clock(FrozenClock(proposed_at + timedelta(minutes=rng.randint(3, 25)))):
            services.confirm_quarantine_outcome(confirmer, request.pk)
    return len(decided)


class ScreeningDemo(DemoSeeder):
    """Quarantine decisions and scans for the items custody's part of the demo left behind."""

    def seed(self, options: DemoOptions) -> str:
        decided = decide_quarantine(options.seed)
        scans = seed_scans(MailItem.objects.all(), seed=options.seed).summary()
        return f"Decided {decided} quarantined items (two people each). {scans}"
