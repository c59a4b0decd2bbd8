"""Plausible badge traffic for the demo and for soak tests: who badges where, and when.

From a rule snapshot (or a hand-made list of cardholders and readers) ``TrafficGenerator`` makes a
day of card presentations in the site's time zone: most holders arrive on working days around
08:30, some go out for lunch and come back, and leave around 17:15, using the readers of the doors
their levels open (an ``in`` reader to enter, an ``out`` reader to leave where the door has one).
Doors that need two people get a second holder a few seconds after the first. A few presentations
are meant to be refused: a card nobody issued, a holder trying a door outside their levels, a
misread with a flipped bit, someone badging late at night.

Everything comes from ``random.Random`` seeded with the seed and the date, so a given seed gives
the same day every time, whichever days are asked for and in whatever order. ``TrafficPlayer``
presents the due cards on simulated readers as an injected clock moves.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from .clock import WallClock, require_aware
from .rules import RuleSnapshot
from .wiegand import LAYOUTS, Bits, WiegandFormat, encode


class Intent(StrEnum):
    """What the presentation is meant to show; the rules in force decide the outcome."""

    ENTER = "enter"
    LEAVE = "leave"
    UNKNOWN_CARD = "unknown_card"  # a card nobody issued: refused
    WRONG_DOOR = "wrong_door"  # a door outside the holder's levels: refused
    MISREAD = "misread"  # a bit flipped on the way: refused for parity
    AFTER_HOURS = "after_hours"  # late at night: refused unless a level covers it


EXPECTED_DENIALS = frozenset({Intent.UNKNOWN_CARD, Intent.WRONG_DOOR, Intent.MISREAD})


@dataclass(frozen=True, slots=True)
class Cardholder:
    holder_id: str
    format: WiegandFormat
    facility: int
    card: int
    doors: tuple[str, ...]  # doors this holder's levels open

    @property
    def bits(self) -> Bits:
        return encode(self.format, self.facility, self.card)


@dataclass(frozen=True, slots=True)
class ReaderSpot:
    reader_id: str
    door_id: str
    direction: str  # "in", "out" or "both"


@dataclass(frozen=True, slots=True)
class Presentation:
    at: datetime
    reader_id: str
    bits: Bits
    holder_id: str | None
    intent: Intent


def _direction(area_from: str | None, area_to: str | None) -> str:
    # A reader with no areas is the only reader of its door: people badge in and press the exit
    # button to leave. One between two areas is passed both ways.
    if area_from is not None and area_to is not None:
        return "both"
    return "out" if area_from is not None else "in"


class TrafficGenerator:
    def __init__(
        self,
        cardholders: Sequence[Cardholder],
        readers: Sequence[ReaderSpot],
        *,
        timezone: str,
        seed: int,
        two_person_doors: frozenset[str] = frozenset(),
        attendance: float = 0.85,
        lunch_out: float = 0.4,
        unknown_cards_per_day: int = 2,
        wrong_door_rate: float = 0.04,
        misread_rate: float = 0.02,
        after_hours_per_day: int = 1,
    ) -> None:
        if not readers:
            raise ValueError("traffic needs at least one reader")
        self.cardholders = sorted(cardholders, key=lambda h: h.holder_id)
        self.readers = sorted(readers, key=lambda r: r.reader_id)
        self.zone = ZoneInfo(timezone)
        self.seed = seed
        self.two_person_doors = two_person_doors
        self.attendance = attendance
        self.lunch_out = lunch_out
        self.unknown_cards_per_day = unknown_cards_per_day
        self.wrong_door_rate = wrong_door_rate
        self.misread_rate = misread_rate
        self.after_hours_per_day = after_hours_per_day
        self._issued = {(h.format, h.facility, h.card) for h in self.cardholders}
        self._by_door: dict[str, list[ReaderSpot]] = {}
        for spot in self.readers:
            self._by_door.setdefault(spot.door_id, []).append(spot)

    @classmethod
    def from_snapshot(
        cls, snapshot: RuleSnapshot, *, seed: int, **options: object
    ) -> TrafficGenerator:
        level_doors = {lv.id: lv.doors for lv in snapshot.levels}
        holders = []
        for entry in snapshot.credentials:
            if (
                not entry.enabled
                or entry.format is None
                or entry.card is None
                or entry.facility is None
                or entry.format is WiegandFormat.RAW
            ):
                continue  # PINs, and raw cards whose frame length the rules do not record
            doors = sorted({d for lv in entry.levels for d in level_doors.get(lv, ())})
            holders.append(
                Cardholder(entry.holder_id, entry.format, entry.facility, entry.card, tuple(doors))
            )
        readers = [
            ReaderSpot(r.id, r.door_id, _direction(r.area_from, r.area_to))
            for r in snapshot.readers
        ]
        two_person = frozenset(d.id for d in snapshot.doors if d.two_person is not None)
        return cls(
            holders,
            readers,
            timezone=snapshot.timezone,
            seed=seed,
            two_person_doors=two_person,
            **options,  # type: ignore[arg-type]
        )

    # -- generation ---------------------------------------------------------------------------

    def day(self, day: date) -> list[Presentation]:
        """Every presentation of one local day, in time order."""
        # Seeding with a string is stable across runs and interpreters (it hashes with SHA-512).
        rng = random.Random(f"{self.seed}:{day.isoformat()}")
        out: list[Presentation] = []
        working = day.weekday() < 5
        for holder in self.cardholders:
            if rng.random() >= (self.attendance if working else 0.05):
                continue
            out += self._holder_day(rng, day, holder)
        for _ in range(self.unknown_cards_per_day if working else 0):
            spot = rng.choice(self.readers)
            at = self._local(day, rng.uniform(8 * 60, 18 * 60))
            out.append(
                Presentation(at, spot.reader_id, self._unknown_card(rng), None, Intent.UNKNOWN_CARD)
            )
        for _ in range(self.after_hours_per_day):
            if not self.cardholders:
                break
            holder = rng.choice(self.cardholders)
            spots = self._spots(holder.doors, "in") or self.readers
            spot = rng.choice(spots)
            at = self._local(day, rng.uniform(22 * 60, 23 * 60 + 59))
            out.append(
                Presentation(at, spot.reader_id, holder.bits, holder.holder_id, Intent.AFTER_HOURS)
            )
        out.sort(key=lambda p: (p.at, p.reader_id))
        return out

    def between(self, start: datetime, end: datetime) -> Iterator[Presentation]:
        """Presentations with ``start <= at < end``, in time order."""
        require_aware(start, "start")
        require_aware(end, "end")
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for presentation in self.day(day):
                if start <= presentation.at < end:
                    yield presentation
            day += timedelta(days=1)

    def _holder_day(self, rng: random.Random, day: date, holder: Cardholder) -> list[Presentation]:
        out: list[Presentation] = []
        if holder.doors:
            door = rng.choice(holder.doors)
            arrive = rng.gauss(8 * 60 + 30, 20)
            leave = rng.gauss(17 * 60 + 15, 30)
            visits = [(arrive, leave)]
            if rng.random() < self.lunch_out:
                out_at = rng.gauss(12 * 60 + 30, 25)
                back_at = out_at + rng.uniform(25, 55)
                if arrive + 30 < out_at and back_at + 30 < leave:
                    visits = [(arrive, out_at), (back_at, leave)]
            for enter_at, leave_at in visits:
                out += self._visit(rng, day, holder, door, enter_at, leave_at)
        wrong = sorted(set(self._by_door) - set(holder.doors))
        if wrong and rng.random() < self.wrong_door_rate:
            spots = self._spots([rng.choice(wrong)], "in")
            if spots:
                at = self._local(day, rng.uniform(9 * 60, 17 * 60))
                spot = rng.choice(spots)
                out.append(
                    Presentation(
                        at, spot.reader_id, holder.bits, holder.holder_id, Intent.WRONG_DOOR
                    )
                )
        return out

    def _visit(
        self,
        rng: random.Random,
        day: date,
        holder: Cardholder,
        door: str,
        enter_at: float,
        leave_at: float,
    ) -> list[Presentation]:
        out: list[Presentation] = []
        ins, outs = self._spots([door], "in"), self._spots([door], "out")
        if not ins:
            return out
        spot = rng.choice(ins)
        at = self._local(day, enter_at)
        out.append(self._present(rng, at, spot, holder, Intent.ENTER))
        if door in self.two_person_doors:
            partners = [h for h in self.cardholders if door in h.doors and h is not holder]
            if partners:
                partner = rng.choice(partners)
                later = at + timedelta(seconds=rng.uniform(4, 20))
                out.append(self._present(rng, later, spot, partner, Intent.ENTER))
        # Leaving through an out reader; where the door has none, people push the exit button.
        if outs and leave_at > enter_at:
            out.append(
                self._present(
                    rng, self._local(day, leave_at), rng.choice(outs), holder, Intent.LEAVE
                )
            )
        return out

    def _present(
        self, rng: random.Random, at: datetime, spot: ReaderSpot, holder: Cardholder, intent: Intent
    ) -> Presentation:
        bits = holder.bits
        if rng.random() < self.misread_rate:
            bits = bits.flipped(rng.randint(1, bits.length))
            intent = Intent.MISREAD
        return Presentation(at, spot.reader_id, bits, holder.holder_id, intent)

    def _spots(self, doors: Sequence[str], direction: str) -> list[ReaderSpot]:
        return [
            s for d in doors for s in self._by_door.get(d, ()) if s.direction in (direction, "both")
        ]

    def _unknown_card(self, rng: random.Random) -> Bits:
        layout = LAYOUTS[WiegandFormat.H10301]
        while True:
            facility = rng.randint(0, layout.facility.maximum)
            card = rng.randint(0, layout.card.maximum)
            if (WiegandFormat.H10301, facility, card) not in self._issued:
                return encode(WiegandFormat.H10301, facility, card)

    def _local(self, day: date, minutes: float) -> datetime:
        minutes = min(max(minutes, 0.0), 24 * 60 - 1 / 60)
        whole = int(minutes * 60)
        clock = time(whole // 3600, whole % 3600 // 60, whole % 60)
        return datetime.combine(day, clock, tzinfo=self.zone).astimezone(UTC)


Presenter = Callable[[Presentation], bool]


class _ReaderPresenter:
    def __init__(self, readers: Mapping[str, object]) -> None:
        self._readers = readers

    def __call__(self, presentation: Presentation) -> bool:
        reader = self._readers.get(presentation.reader_id)
        present = getattr(reader, "present_card", None)
        return bool(present(presentation.bits)) if present is not None else False


class TrafficPlayer:
    """Presents each card when the injected clock reaches its time.

    ``readers`` maps reader ids to simulated readers (anything with ``present_card(bits)``), or
    is a function that presents one ``Presentation``. Presentations for readers it lacks are
    skipped. Call ``step`` as often as the demo loop likes.
    """

    def __init__(
        self,
        generator: TrafficGenerator,
        readers: Mapping[str, object] | Presenter,
        clock: WallClock,
        *,
        start: datetime | None = None,
    ) -> None:
        self._generator = generator
        self._present: Presenter = readers if callable(readers) else _ReaderPresenter(readers)
        self._clock = clock
        self._cursor = require_aware(start or clock(), "start")
        self.presented: list[Presentation] = []

    def step(self) -> list[Presentation]:
        now = require_aware(self._clock(), "clock()")
        if now <= self._cursor:
            return []
        due = list(self._generator.between(self._cursor, now))
        self._cursor = now
        shown = [p for p in due if self._present(p)]
        self.presented += shown
        return shown
