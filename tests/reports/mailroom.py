"""A small mailroom with a known history for the reports' tests, built through the services
with the clock moved: items in, screened, on the shelf, handed over or quarantined, and door
alarms, on days whose figures the tests know by heart."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from django.db import transaction

from mailwarden.access.models import AlarmKind
from mailwarden.access.services import alarms as access_alarms
from mailwarden.access.services.doors import DoorData, create_door
from mailwarden.core.actor import Actor
from mailwarden.core.clock import FrozenClock
from mailwarden.core.roles import Role
from mailwarden.custody import pickup
from mailwarden.custody import services as custody
from mailwarden.directory.models import Site
from mailwarden.screening import services as screening
from tests.factories import ADMIN, CLERK, MANAGER, make_recipient, make_site

SCREENER = Actor("user", "sam", frozenset({Role.SCREENER}), user_id=9001)
BOSS_A = Actor("user", "mona", frozenset({Role.SECURITY_MANAGER}), user_id=9101)
BOSS_B = Actor("user", "max", frozenset({Role.SECURITY_MANAGER}), user_id=9102)
# Monday 2 March 2026, 09:00 UTC (also 09:00 in London, the factory sites' zone).
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Mailroom:
    clock: FrozenClock
    site: Site
    uids: dict[str, str] = field(default_factory=dict)

    def at(self, when: datetime) -> None:
        self.clock.current = when

    def receive(self, name: str, when: datetime, **kw: object) -> str:
        self.at(when)
        item = custody.intake(
            CLERK,
            custody.IntakeRequest(
                site=self.site.code,
                recipient_id=make_recipient().pk,
                kind=str(kw.pop("kind", "parcel")),
                **kw,  # type: ignore[arg-type]
            ),
        )
        self.uids[name] = item.uid
        return item.uid

    def screen(self, name: str, when: datetime, seconds: int | None = 40) -> None:
        self.at(when)
        screening.screen_item(
            SCREENER, self.uids[name], screening.Checklist(seconds_on_item=seconds)
        )

    def shelve(self, name: str, when: datetime) -> None:
        self.at(when)
        custody.transition(CLERK, self.uids[name], "ready_for_pickup")

    def hand_over(self, name: str, when: datetime) -> None:
        self.at(when)
        uid = self.uids[name]
        custody.hand_over(CLERK, uid, method="code", proof=pickup.pickup_code(uid))

    def quarantine(self, name: str, when: datetime, outcome: str) -> None:
        self.at(when)
        uid = self.uids[name]
        custody.transition(SCREENER, uid, "quarantined", reason="oily stain")
        request = screening.propose_quarantine_outcome(BOSS_A, uid, outcome, "checked by police")
        self.at(when + timedelta(minutes=10))
        screening.confirm_quarantine_outcome(BOSS_B, request.pk)


def build(clock: FrozenClock, code: str = "hq") -> Mailroom:
    """Week of Monday 2 March 2026 at ``code``:

    - Mon: a UPS parcel (screened in 40 s, shelved, picked up Tue 09:00: 24 h) and a letter
      with no carrier (screened in 100 s, shelved, never collected: overdue from Thu 09:00);
    - Tue: a parcel quarantined and destroyed, and one quarantined and released;
    - Wed: a UPS parcel screened with no workstation time, picked up the same day after 2 h;
    - door alarms: the dock door held open twice and forced once, the cage door forced once.
    """
    clock.current = MONDAY
    site = make_site(code)
    room = Mailroom(clock, site)
    monday = MONDAY
    room.receive(
        "ups", monday, tracking_number="1Z5R89390357567127", kind="parcel", confirm_duplicate=True
    )
    room.screen("ups", monday + timedelta(minutes=5), 40)
    room.shelve("ups", monday + timedelta(minutes=10))
    room.receive("letter", monday + timedelta(hours=1), kind="letter")
    room.screen("letter", monday + timedelta(hours=1, minutes=5), 100)
    room.shelve("letter", monday + timedelta(hours=1, minutes=10))
    room.hand_over("ups", monday + timedelta(days=1))
    tuesday = monday + timedelta(days=1, hours=2)
    room.receive("bad", tuesday)
    room.quarantine("bad", tuesday + timedelta(minutes=5), "destroyed")
    room.receive("ok", tuesday + timedelta(minutes=30))
    room.quarantine("ok", tuesday + timedelta(minutes=35), "released")
    wednesday = monday + timedelta(days=2)
    room.receive("quick", wednesday, tracking_number="1Z5R89390357567127", confirm_duplicate=True)
    room.screen("quick", wednesday + timedelta(minutes=1), None)
    room.shelve("quick", wednesday + timedelta(minutes=2))
    room.hand_over("quick", wednesday + timedelta(hours=2))
    dock = create_door(MANAGER, DoorData(site=code, code="dock-door", name="Dock door"))
    cage = create_door(MANAGER, DoorData(site=code, code="cage", name=""))
    for kind, when, door in (
        (AlarmKind.HELD_OPEN, monday + timedelta(hours=3), dock),
        (AlarmKind.HELD_OPEN, wednesday + timedelta(hours=3), dock),
        (AlarmKind.FORCED_OPEN, wednesday + timedelta(hours=4), dock),
        (AlarmKind.FORCED_OPEN, wednesday + timedelta(hours=5), cage),
        # Outside the week: not counted.
        (AlarmKind.FORCED_OPEN, monday + timedelta(days=9), cage),
    ):
        with transaction.atomic():  # as the ingest that raises them runs
            access_alarms.raise_alarm(ADMIN, site, kind, when, when, detail="test", door=door)
    clock.current = monday + timedelta(days=7)
    return room


WEEK = (date(2026, 3, 2), date(2026, 3, 8))
