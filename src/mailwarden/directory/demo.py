"""The directory's part of the demo: the head-office site, its locations and its people."""

from __future__ import annotations

import random

from django.contrib.auth.models import User

from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.demo import DEMO_STAFF
from mailwarden.core.plugins import DemoOptions, DemoSeeder
from mailwarden.core.roles import Role
from mailwarden.directory import services as directory
from mailwarden.directory.models import LocationKind, Recipient, Site

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
# Which person (counting from 1) the demo's recipient sign-in is.
RECIPIENT_PERSON = 2
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


class DirectoryDemo(DemoSeeder):
    """One site with every kind of location, and a directory of recipients."""

    def present(self) -> str | None:
        if not Site.objects.exists():
            return None
        return f"{Recipient.objects.count()} recipients"

    def seed(self, options: DemoOptions) -> str:
        with use_clock(FrozenClock(options.history_from)):
            _seed_directory(options.recipients, random.Random(options.seed))
        return f"Seeded 1 site and {options.recipients} recipients."


def _seed_directory(count: int, rng: random.Random) -> list[Recipient]:
    system = Actor.job("demo-seed")
    site = directory.create_site(
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
        directory.create_location(system, site_code=site.code, code=code, name=name, kind=kind)
    # The demo's recipient sign-in (core's demo staff) is the second person in the directory,
    # under the sign-in's own name, so "My mail" shows the mail of the person one signed in as.
    recipient_user = User.objects.filter(username=DEMO_STAFF[Role.RECIPIENT]).first()
    people: list[Recipient] = []
    used: set[tuple[str, str]] = set()
    while len(people) < count:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        if (first, last) in used:
            continue
        used.add((first, last))
        n = len(people) + 1
        email = f"{first.lower()}.{last.lower().replace(chr(39), '')}@example.org"
        if n == RECIPIENT_PERSON and recipient_user is not None:
            first, last = recipient_user.first_name, recipient_user.last_name
            email = recipient_user.email or email
        manager = people[0].employee_id if people and n % 7 else None
        people.append(
            directory.create_recipient(
                system,
                directory.RecipientData(
                    employee_id=f"E{1000 + n}",
                    first_name=first,
                    last_name=last,
                    email=email,
                    phone=f"+44207946{n:04d}",
                    department=rng.choice(DEPARTMENTS),
                    mail_stop=f"{rng.randint(1, 6)}-{rng.randint(100, 480)}",
                    manager_employee_id=manager,
                    # Everyone works at head office, so a site message reaches the whole demo.
                    site=site.code,
                ),
            )
        )
    if recipient_user is not None and len(people) >= RECIPIENT_PERSON:
        Recipient.objects.filter(pk=people[RECIPIENT_PERSON - 1].pk).update(user=recipient_user)
    return people
