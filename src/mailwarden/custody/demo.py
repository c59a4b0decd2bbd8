"""A full sample mailroom for ``mailwarden demo``: one site, staff in every role, recipients and
items spread over every custody state, all made through the services so the ledger is real."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction

from mailwarden.core import clock
from mailwarden.core import services as core_services
from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.roles import Role
from mailwarden.custody import carriers, pickup, services
from mailwarden.custody.models import LocationKind, MailItem, Recipient, Site
from mailwarden.custody.states import State

FIRST = [
    "Amelia",
    "Oliver",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Mia",
    "Arthur",
    "Ivy",
    "Leo",
    "Grace",
    "Oscar",
    "Freya",
    "Harry",
    "Lily",
    "Jack",
    "Sofia",
    "Charlie",
    "Ella",
    "Jacob",
    "Aisha",
    "Mohammed",
    "Priya",
    "Arjun",
    "Mei",
    "Wei",
    "Sakura",
    "Hiro",
    "Fatima",
    "Omar",
    "Elena",
    "Mateo",
    "Chloe",
    "Lucas",
    "Zara",
    "Ethan",
    "Nora",
    "Samuel",
    "Ruby",
    "Daniel",
    "Maya",
    "Adam",
    "Hannah",
    "Tom",
    "Rosa",
    "Luis",
    "Anna",
    "Peter",
    "Clara",
    "Joseph",
]
LAST = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Patel",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Khan",
    "Singh",
    "Chen",
    "Nakamura",
    "Garcia",
    "Rossi",
    "Novak",
    "Kowalski",
    "Müller",
    "Dubois",
    "Okafor",
    "Mensah",
    "Haddad",
    "Ivanova",
    "Larsen",
    "Silva",
    "Murphy",
    "O'Brien",
    "Kelly",
]
DEPARTMENTS = (
    "Finance",
    "Legal",
    "Executive Office",
    "Research",
    "Human Resources",
    "Facilities",
    "IT",
    "Procurement",
)
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
DEMO_STAFF = {
    Role.ADMIN: "admin",
    Role.SECURITY_MANAGER: "manager",
    Role.SECURITY_OPERATOR: "operator",
    Role.SCREENER: "screener",
    Role.CLERK: "clerk",
    Role.AUDITOR: "auditor",
    Role.RECIPIENT: "recipient",
}

DEMO_STAFF_NAMES = {
    Role.ADMIN: ("Robin", "Hale"),
    Role.SECURITY_MANAGER: ("Morgan", "Reyes"),
    Role.SECURITY_OPERATOR: ("Sam", "Okoro"),
    Role.SCREENER: ("Priya", "Shah"),
    Role.CLERK: ("Jamie", "Clarke"),
    Role.AUDITOR: ("Dana", "Fischer"),
    Role.RECIPIENT: ("Lee", "Carter"),
}

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
PATHS: dict[State, tuple[State, ...]] = {
    State.AWAITING_SCREENING: (),
    State.CLEARED: (State.CLEARED,),
    State.QUARANTINED: (State.QUARANTINED,),
    State.RELEASED: (State.QUARANTINED, State.RELEASED),
    State.DESTROYED: (State.QUARANTINED, State.DESTROYED),
    State.HANDED_TO_AUTHORITIES: (State.QUARANTINED, State.HANDED_TO_AUTHORITIES),
    State.READY_FOR_PICKUP: (State.CLEARED, State.READY_FOR_PICKUP),
    State.OUT_FOR_DELIVERY: (State.CLEARED, State.OUT_FOR_DELIVERY),
    State.DELIVERED: (State.CLEARED, State.OUT_FOR_DELIVERY, State.DELIVERED),
    State.PICKED_UP: (State.CLEARED, State.READY_FOR_PICKUP, State.PICKED_UP),
    State.RETURNED: (State.CLEARED, State.READY_FOR_PICKUP, State.RETURNED),
}


@dataclass(frozen=True)
class SeedResult:
    created: bool
    recipients: int
    items: int
    scans: str = ""

    def summary(self) -> str:
        if not self.created:
            return f"Demo data already present: {self.recipients} recipients, {self.items} items."
        seeded = f"Seeded 1 site, {self.recipients} recipients and {self.items} items."
        return f"{seeded} {self.scans}".strip()


@dataclass(frozen=True)
class DemoLogins:
    username: str
    password: str
    role_users: dict[str, str]


def _password_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-password"


def demo_logins() -> DemoLogins:
    path = _password_file()
    password = path.read_text().strip() if path.exists() else ""
    return DemoLogins("admin", password, {u: r.value for r, u in DEMO_STAFF.items()})


def seed(
    *, items: int = 200, recipients: int = 50, seed: int = 7, with_scans: bool = True
) -> SeedResult:
    """Seed once, into an empty database; later calls change nothing."""
    if Site.objects.exists() or MailItem.objects.exists():
        return SeedResult(False, Recipient.objects.count(), MailItem.objects.count())
    rng = random.Random(seed)
    start = clock.now() - timedelta(days=21)
    fake_clock = FrozenClock(start)
    with use_clock(fake_clock):
        people = _seed_staff_and_directory(recipients, rng)
        _seed_items(items, people, rng, fake_clock)
    scans = ""
    if with_scans:
        from mailwarden.screening.demo import seed_scans

        scans = seed_scans(MailItem.objects.all(), seed=seed).summary()
    from mailwarden.access.demo import seed_access

    # Doors, cards and badge history for the same site and people; the summary line says so.
    access = seed_access(Site.objects.get(code="hq"), people, seed)
    scans = f"{scans} {access.summary()}".strip()
    return SeedResult(True, recipients, items, scans)


def _seed_staff_and_directory(count: int, rng: random.Random) -> list[Recipient]:
    system = Actor.job("demo-seed")
    password = secrets.token_urlsafe(9)
    _password_file().parent.mkdir(parents=True, exist_ok=True)
    _password_file().write_text(password)
    _password_file().chmod(0o600)
    for role, username in DEMO_STAFF.items():
        if not User.objects.filter(username=username).exists():
            core_services.create_user(
                system,
                username,
                password=password,
                roles=[role.value],
                email=f"{username}@example.org",
                first_name=DEMO_STAFF_NAMES[role][0],
                last_name=DEMO_STAFF_NAMES[role][1],
                check_password=False,
            )
    site = services.create_site(
        system, code="hq", name="Head office mailroom", timezone="Europe/London"
    )
    for code, name, kind in (
        ("dock", "Loading dock", LocationKind.DOCK),
        ("xray", "Screening room", LocationKind.SCREENING),
        ("quarantine", "Quarantine room", LocationKind.QUARANTINE),
        ("shelf-a", "Shelf A", LocationKind.SHELF),
        ("shelf-b", "Shelf B", LocationKind.SHELF),
        ("lockers", "Parcel lockers", LocationKind.LOCKER),
        ("trolley", "Delivery trolley", LocationKind.VEHICLE),
    ):
        services.create_location(system, site=site, code=code, name=name, kind=kind)
    people: list[Recipient] = []
    used: set[tuple[str, str]] = set()
    while len(people) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        if (first, last) in used:
            continue
        used.add((first, last))
        n = len(people) + 1
        manager = people[0].employee_id if people and n % 7 else None
        people.append(
            services.create_recipient(
                system,
                services.RecipientData(
                    employee_id=f"E{1000 + n}",
                    first_name=first,
                    last_name=last,
                    email=f"{first.lower()}.{last.lower().replace(chr(39), '')}@example.org",
                    phone=f"+44207946{n:04d}",
                    department=rng.choice(DEPARTMENTS),
                    mail_stop=f"{rng.randint(1, 6)}-{rng.randint(100, 480)}",
                    manager_employee_id=manager,
                ),
            )
        )
    recipient_user = User.objects.get(username=DEMO_STAFF[Role.RECIPIENT])
    Recipient.objects.filter(pk=people[1].pk).update(user=recipient_user)
    return people


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
    count: int, people: list[Recipient], rng: random.Random, fake_clock: FrozenClock
) -> None:
    clerk = Actor("user", "clerk", frozenset({Role.CLERK}))
    screener = Actor("user", "screener", frozenset({Role.SCREENER}))
    manager = Actor("user", "manager", frozenset({Role.SECURITY_MANAGER}))
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
        with transaction.atomic():
            item = services.intake(
                clerk,
                services.IntakeRequest(
                    site="hq",
                    recipient_id=rng.choice(people).pk,
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
                _advance(item.uid, state, clerk, screener, manager)
    # Keep the demo's "now" honest after seeding in the past.
    fake_clock.current = end


_EARLY = frozenset({State.AWAITING_SCREENING, State.CLEARED, State.QUARANTINED})


def _advance(uid: str, state: State, clerk: Actor, screener: Actor, manager: Actor) -> None:
    if state in (State.CLEARED, State.QUARANTINED):
        reason = (
            "demo: screened, nothing found"
            if state == State.CLEARED
            else ("demo: oily stain and excessive tape")
        )
        services.transition(screener, uid, state.value, reason=reason)
    elif state in (State.RELEASED, State.DESTROYED, State.HANDED_TO_AUTHORITIES):
        services.quarantine_outcome(manager, uid, state.value, reason="demo: decided after review")
    elif state == State.PICKED_UP:
        services.hand_over(clerk, uid, method="code", proof=pickup.pickup_code(uid))
    elif state == State.DELIVERED:
        services.hand_over(clerk, uid, method="qr", proof=pickup.qr_token(uid), delivered=True)
    else:
        services.transition(clerk, uid, state.value, reason="demo")
