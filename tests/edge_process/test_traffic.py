"""The demo's badge traffic: plausible, deterministic for a seed, and decided as intended."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

from mailwarden.edge.clock import ManualClock
from mailwarden.edge.decisions import DecisionEngine, Reason
from mailwarden.edge.traffic import Intent, TrafficGenerator, TrafficPlayer
from mailwarden.edge.wiegand import WiegandError, WiegandErrorReason, decode

from ..edge.rulebook import KEYS, signed, snapshot

LONDON = ZoneInfo("Europe/London")
MONDAY = date(2026, 6, 1)
WEEK = [MONDAY + timedelta(days=n) for n in range(7)]


def generator(seed: int = 7, **options) -> TrafficGenerator:
    return TrafficGenerator.from_snapshot(snapshot(), seed=seed, **options)


def test_the_same_seed_gives_the_same_traffic_and_another_seed_does_not():
    assert generator(7).day(MONDAY) == generator(7).day(MONDAY)
    assert generator(7).day(MONDAY) != generator(8).day(MONDAY)


def test_a_day_does_not_depend_on_which_days_were_asked_for_before():
    gen = generator()
    tuesday = gen.day(WEEK[1])
    gen.day(WEEK[4])
    assert generator().day(WEEK[1]) == tuesday
    start = datetime.combine(MONDAY, datetime.min.time(), tzinfo=LONDON)
    span = list(gen.between(start, start + timedelta(days=2)))
    assert span == gen.day(WEEK[0]) + gen.day(WEEK[1])


def test_the_week_looks_like_a_working_week():
    gen = generator(attendance=1.0)
    days = {d: gen.day(d) for d in WEEK}
    assert all(len(days[d]) > len(days[WEEK[5]]) for d in WEEK[:5])
    monday = days[MONDAY]
    assert monday == sorted(monday, key=lambda p: (p.at, p.reader_id))
    entries = [p for p in monday if p.intent is Intent.ENTER]
    assert entries
    first_hours = Counter(p.at.astimezone(LONDON).hour for p in entries)
    assert sum(first_hours[h] for h in range(7, 11)) > len(entries) / 2  # mostly the morning
    # Only card credentials badge: the rulebook's PIN holder (erin) never appears.
    assert "erin" not in {p.holder_id for w in days.values() for p in w}
    # Leaving uses the out reader of a door that has one.
    assert {p.reader_id for p in monday if p.intent is Intent.LEAVE} <= {"mailroom-out"}


def test_the_intended_refusals_are_refused_by_the_rules():
    engine = DecisionEngine(KEYS)
    engine.load_snapshot(signed(snapshot()))
    gen = generator(seed=3, wrong_door_rate=0.5, misread_rate=0.1, unknown_cards_per_day=3)
    seen: Counter[Intent] = Counter()
    for day in WEEK[:5]:
        for p in gen.day(day):
            seen[p.intent] += 1
            if p.intent is Intent.MISREAD:
                try:
                    decode(p.bits.value, p.bits.length)
                except WiegandError as exc:
                    assert exc.reason is WiegandErrorReason.PARITY
                else:
                    raise AssertionError("a misread decoded cleanly")
                continue
            credential = decode(p.bits.value, p.bits.length)
            decision = engine.decide(p.reader_id, credential, p.at)
            engine.forgive_anti_passback()  # judge each presentation on its own
            if p.intent is Intent.UNKNOWN_CARD:
                assert decision.reason is Reason.UNKNOWN_CREDENTIAL
            elif p.intent is Intent.WRONG_DOOR:
                assert decision.reason in (Reason.NO_ACCESS, Reason.AWAITING_FIRST_PERSON)
            elif p.intent is Intent.AFTER_HOURS:
                assert p.at.astimezone(LONDON).hour >= 22
            else:
                assert decision.holder_id == p.holder_id
    assert {Intent.ENTER, Intent.UNKNOWN_CARD, Intent.WRONG_DOOR, Intent.MISREAD} <= set(seen)


def test_two_person_doors_get_a_second_holder_soon_after_the_first():
    gen = generator(attendance=1.0, misread_rate=0)
    vault = [p for p in gen.day(MONDAY) if p.reader_id == "vault-in" and p.intent is Intent.ENTER]
    assert vault
    pairs = [(a, b) for a, b in pairwise(vault) if b.at - a.at <= timedelta(seconds=30)]
    assert pairs
    assert all(a.holder_id != b.holder_id for a, b in pairs)


def test_the_player_presents_each_card_once_when_its_time_comes():
    gen = generator()
    start = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
    clock = ManualClock(start)
    shown = []
    player = TrafficPlayer(gen, lambda p: shown.append(p) or True, clock.now)
    assert player.step() == []
    clock.advance(3600 * 4)
    morning = player.step()
    assert morning == list(gen.between(start, start + timedelta(hours=4)))
    assert player.step() == []  # nothing new without time passing
    clock.advance(3600 * 20)
    player.step()
    assert shown == list(gen.between(start, start + timedelta(hours=24)))
    assert len(shown) == len({(p.at, p.reader_id, p.bits) for p in shown})


def test_the_player_drives_simulated_readers_by_id():
    class FakeReader:
        def __init__(self) -> None:
            self.cards = []

        def present_card(self, bits) -> bool:
            self.cards.append(bits)
            return True

    gen = generator()
    start = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
    clock = ManualClock(start)
    readers = {"mailroom-in": FakeReader()}
    player = TrafficPlayer(gen, readers, clock.now)
    clock.advance(86400)
    shown = player.step()
    expected = [p.bits for p in gen.between(start, clock.now()) if p.reader_id == "mailroom-in"]
    assert readers["mailroom-in"].cards == expected
    assert all(p.reader_id == "mailroom-in" for p in shown)
