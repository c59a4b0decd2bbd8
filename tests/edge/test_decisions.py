"""Decisions: validity, schedules in the site time zone, modes, anti-passback, two-person rule,
first person in, PINs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailwarden.edge.decisions import DecisionEngine, Pin, Reason
from mailwarden.edge.rules import AntiPassbackArea, AntiPassbackMode, Door, DoorMode, FirstPersonIn
from mailwarden.edge.wiegand import WiegandFormat, decode, encode

from .rulebook import BANK_HOLIDAY, KEYS, MONDAY_NOON, STANDARD_CREDENTIALS, card, signed, snapshot


def badge(number: int, facility: int = 10):
    frame = encode(WiegandFormat.H10301, facility, number)
    return decode(frame.value, frame.length)


ALICE, BOB, CAROL, DAVE, SAM, RITA = (badge(n) for n in range(1001, 1007))


@pytest.fixture
def engine() -> DecisionEngine:
    engine = DecisionEngine(KEYS)
    engine.load_snapshot(signed(snapshot()))
    return engine


def local(hour: int, minute: int, day: int = 1) -> datetime:
    """A June 2026 London wall-clock time (BST, UTC+1) as an aware UTC datetime."""
    return datetime(2026, 6, day, hour - 1, minute, tzinfo=UTC)


def test_known_card_in_hours_is_granted(engine):
    decision = engine.decide("mailroom-in", ALICE, MONDAY_NOON)
    assert decision.granted
    assert decision.reason is Reason.GRANTED
    assert (decision.holder_id, decision.credential_id, decision.door_id) == (
        "alice",
        "c-alice",
        "mailroom",
    )
    assert decision.snapshot_version == 1


def test_unknown_card_is_refused(engine):
    decision = engine.decide("mailroom-in", badge(9999), MONDAY_NOON)
    assert not decision.granted
    assert decision.reason is Reason.UNKNOWN_CREDENTIAL
    assert decision.holder_id is None


def test_same_number_in_another_facility_is_another_card(engine):
    assert engine.decide("mailroom-in", badge(1001, facility=11), MONDAY_NOON).reason is (
        Reason.UNKNOWN_CREDENTIAL
    )


def test_no_rules_and_unknown_reader():
    empty = DecisionEngine(KEYS)
    assert empty.decide("mailroom-in", ALICE, MONDAY_NOON).reason is Reason.NO_RULES
    empty.load_snapshot(signed(snapshot()))
    assert empty.decide("side-door", ALICE, MONDAY_NOON).reason is Reason.UNKNOWN_READER


def test_naive_time_is_refused(engine):
    with pytest.raises(ValueError, match="timezone-aware"):
        engine.decide("mailroom-in", ALICE, datetime(2026, 6, 1, 12, 0))


@pytest.mark.parametrize(
    ("hour", "minute", "granted"),
    [(7, 59, False), (8, 0, True), (8, 1, True), (17, 59, True), (18, 0, False), (18, 1, False)],
)
def test_schedule_edges_are_in_site_local_time(engine, hour, minute, granted):
    decision = engine.decide("mailroom-in", ALICE, local(hour, minute))
    assert decision.granted is granted
    if not granted:
        assert decision.reason is Reason.OUTSIDE_SCHEDULE
    engine.forgive_anti_passback()


def test_weekend_and_holiday(engine):
    saturday = local(12, 0, day=6)
    assert engine.decide("mailroom-in", ALICE, saturday).reason is Reason.OUTSIDE_SCHEDULE
    holiday = datetime.combine(BANK_HOLIDAY, datetime.min.time(), UTC) + timedelta(hours=11)
    assert engine.decide("mailroom-in", ALICE, holiday).reason is Reason.OUTSIDE_SCHEDULE
    # The vault level's schedule has holiday windows, so it still applies.
    engine.decide("vault-in", CAROL, holiday)
    assert engine.decide("vault-in", DAVE, holiday).reason is Reason.GRANTED_TWO_PERSON


def test_level_without_the_door(engine):
    assert engine.decide("mailroom-in", CAROL, MONDAY_NOON).reason is Reason.NO_ACCESS


def test_validity_window_and_disabled():
    credentials = (
        card("c-new", "nina", 2001, "office-hours", valid_from=MONDAY_NOON),
        card("c-old", "otto", 2002, "office-hours", valid_until=MONDAY_NOON),
        card("c-off", "olga", 2003, "office-hours", enabled=False),
    )
    engine = DecisionEngine(KEYS)
    engine.load_snapshot(signed(snapshot(credentials=credentials)))
    just_before = MONDAY_NOON - timedelta(seconds=1)
    assert engine.decide("mailroom-in", badge(2001), just_before).reason is Reason.NOT_YET_VALID
    assert engine.decide("mailroom-in", badge(2001), MONDAY_NOON).granted
    assert engine.decide("mailroom-in", badge(2002), just_before).granted
    assert engine.decide("mailroom-out", badge(2002), MONDAY_NOON).reason is Reason.EXPIRED
    assert engine.decide("mailroom-in", badge(2003), MONDAY_NOON).reason is (
        Reason.CREDENTIAL_DISABLED
    )


class TestLockdown:
    def test_lockdown_mode_refuses_all_but_lockdown_levels(self):
        doors = (
            Door(id="mailroom", mode=DoorMode.LOCKDOWN, lockdown_levels=("responder",)),
            *[d for d in snapshot().doors if d.id != "mailroom"],
        )
        engine = DecisionEngine(KEYS)
        engine.load_snapshot(signed(snapshot(doors=doors)))
        assert engine.decide("mailroom-in", ALICE, MONDAY_NOON).reason is Reason.LOCKDOWN
        rita = engine.decide("mailroom-in", RITA, MONDAY_NOON)
        assert rita.granted and rita.reason is Reason.GRANTED_LOCKDOWN_OVERRIDE
        assert engine.door_locked_down("mailroom")

    def test_lockdown_by_command_and_release(self, engine):
        engine.set_lockdown("mailroom", True)
        assert engine.decide("mailroom-in", ALICE, MONDAY_NOON).reason is Reason.LOCKDOWN
        engine.set_lockdown("mailroom", False)
        assert engine.decide("mailroom-in", ALICE, MONDAY_NOON).granted


class TestAntiPassback:
    def engine_with(self, mode: AntiPassbackMode, reentry_s: int = 0) -> DecisionEngine:
        engine = DecisionEngine(KEYS)
        area = AntiPassbackArea(id="mailroom", mode=mode, reentry_s=reentry_s)
        engine.load_snapshot(signed(snapshot(areas=(area,))))
        return engine

    def test_hard_refuses_a_second_entry_until_an_exit(self):
        engine = self.engine_with(AntiPassbackMode.HARD)
        t = MONDAY_NOON
        assert engine.decide("mailroom-in", ALICE, t).granted
        second = engine.decide("mailroom-in", ALICE, t + timedelta(minutes=5))
        assert not second.granted and second.reason is Reason.ANTI_PASSBACK
        assert engine.decide("mailroom-out", ALICE, t + timedelta(minutes=6)).granted
        assert engine.decide("mailroom-in", ALICE, t + timedelta(minutes=7)).granted
        # Another holder is unaffected.
        assert engine.decide("mailroom-in", BOB, t + timedelta(minutes=7)).granted

    def test_hard_refuses_leaving_an_area_the_holder_is_known_to_be_out_of(self):
        engine = self.engine_with(AntiPassbackMode.HARD)
        assert engine.decide("mailroom-in", ALICE, MONDAY_NOON).granted
        assert engine.decide("mailroom-out", ALICE, MONDAY_NOON + timedelta(minutes=1)).granted
        # Alice is known to be outside; badging out again means she got in unrecorded.
        out_again = engine.decide("mailroom-out", ALICE, MONDAY_NOON + timedelta(minutes=2))
        assert out_again.reason is Reason.ANTI_PASSBACK

    def test_refusal_does_not_move_the_holder(self):
        engine = self.engine_with(AntiPassbackMode.HARD)
        engine.decide("mailroom-in", ALICE, MONDAY_NOON)
        engine.decide("mailroom-in", ALICE, MONDAY_NOON + timedelta(minutes=1))  # refused
        assert engine.decide("mailroom-out", ALICE, MONDAY_NOON + timedelta(minutes=2)).granted

    def test_soft_grants_but_flags(self):
        engine = self.engine_with(AntiPassbackMode.SOFT)
        engine.decide("mailroom-in", ALICE, MONDAY_NOON)
        second = engine.decide("mailroom-in", ALICE, MONDAY_NOON + timedelta(minutes=1))
        assert second.granted and second.reason is Reason.GRANTED_SOFT_ANTI_PASSBACK

    def test_timed_refuses_reentry_within_the_window_even_after_an_exit(self):
        engine = self.engine_with(AntiPassbackMode.TIMED, reentry_s=300)
        t = MONDAY_NOON
        assert engine.decide("mailroom-in", ALICE, t).granted
        assert engine.decide("mailroom-out", ALICE, t + timedelta(seconds=10)).granted
        early = engine.decide("mailroom-in", ALICE, t + timedelta(seconds=299))
        assert early.reason is Reason.ANTI_PASSBACK
        assert engine.decide("mailroom-in", ALICE, t + timedelta(seconds=300)).granted

    def test_forgive_resets_one_holder(self):
        engine = self.engine_with(AntiPassbackMode.HARD)
        engine.decide("mailroom-in", ALICE, MONDAY_NOON)
        engine.forgive_anti_passback("alice")
        assert engine.decide("mailroom-in", ALICE, MONDAY_NOON + timedelta(minutes=1)).granted

    def test_location_survives_a_rule_update(self):
        engine = self.engine_with(AntiPassbackMode.HARD)
        engine.decide("mailroom-in", ALICE, MONDAY_NOON)
        engine.load_snapshot(signed(snapshot(version=2)))
        assert engine.decide("mailroom-in", ALICE, MONDAY_NOON + timedelta(minutes=1)).reason is (
            Reason.ANTI_PASSBACK
        )


class TestTwoPerson:
    def test_first_alone_waits_and_a_second_holder_opens(self, engine):
        first = engine.decide("vault-in", CAROL, MONDAY_NOON)
        assert not first.granted and first.pending
        assert first.reason is Reason.TWO_PERSON_WAITING
        assert first.wait_s == 30  # the door's window, for the reader's amber light
        second = engine.decide("vault-in", DAVE, MONDAY_NOON + timedelta(seconds=30))
        assert second.granted and second.reason is Reason.GRANTED_TWO_PERSON
        assert second.companion_id == "carol"

    def test_the_same_card_twice_does_not_open(self, engine):
        engine.decide("vault-in", CAROL, MONDAY_NOON)
        again = engine.decide("vault-in", CAROL, MONDAY_NOON + timedelta(seconds=5))
        assert not again.granted and again.reason is Reason.TWO_PERSON_SAME_HOLDER
        # Carol's presentation is still the one waiting: Dave now completes the pair.
        assert engine.decide("vault-in", DAVE, MONDAY_NOON + timedelta(seconds=10)).granted

    def test_a_second_holder_after_the_window_starts_a_new_wait(self, engine):
        engine.decide("vault-in", CAROL, MONDAY_NOON)
        late = engine.decide("vault-in", DAVE, MONDAY_NOON + timedelta(seconds=31))
        assert late.reason is Reason.TWO_PERSON_WAITING
        assert engine.decide("vault-in", CAROL, MONDAY_NOON + timedelta(seconds=40)).granted

    def test_an_invalid_second_card_does_not_complete_the_pair(self, engine):
        engine.decide("vault-in", CAROL, MONDAY_NOON)
        assert engine.decide("vault-in", ALICE, MONDAY_NOON + timedelta(seconds=1)).reason is (
            Reason.NO_ACCESS
        )
        assert engine.decide("vault-in", DAVE, MONDAY_NOON + timedelta(seconds=2)).granted


class TestFirstPersonIn:
    def test_scheduled_unlock_waits_for_a_supervisor(self, engine):
        nine_thirty = local(9, 30)
        assert not engine.door_unlocked("dock", nine_thirty)
        assert engine.decide("dock-in", ALICE, nine_thirty).granted  # card access still works
        assert not engine.door_unlocked("dock", nine_thirty)
        assert engine.decide("dock-in", SAM, nine_thirty + timedelta(minutes=1)).granted
        assert engine.door_unlocked("dock", nine_thirty + timedelta(minutes=2))
        assert not engine.door_unlocked("dock", local(17, 0))  # the unlock window ended
        assert not engine.door_unlocked("dock", local(9, 30, day=2))  # a new day starts locked

    def test_supervisor_before_the_window_does_not_start_the_day(self, engine):
        assert engine.decide("dock-in", SAM, local(8, 30)).granted
        assert not engine.door_unlocked("dock", local(9, 30))

    def test_others_wait_when_configured(self):
        dock = Door(
            id="dock",
            mode=DoorMode.SCHEDULED_UNLOCK,
            unlock_schedule_id="dock-hours",
            first_person_in=FirstPersonIn(levels=("supervisor",), others_wait=True),
        )
        doors = (*[d for d in snapshot().doors if d.id != "dock"], dock)
        engine = DecisionEngine(KEYS)
        engine.load_snapshot(signed(snapshot(doors=doors)))
        assert engine.decide("dock-in", ALICE, local(9, 30)).reason is Reason.AWAITING_FIRST_PERSON
        assert engine.decide("dock-in", SAM, local(9, 31)).granted
        assert engine.decide("dock-in", ALICE, local(9, 32)).granted


class TestPins:
    def test_pin_is_granted_and_a_wrong_pin_is_unknown(self, engine):
        assert engine.decide("mailroom-in", Pin("4321"), MONDAY_NOON).holder_id == "erin"
        assert engine.decide("mailroom-out", Pin("1234"), MONDAY_NOON).reason is (
            Reason.UNKNOWN_CREDENTIAL
        )
        assert engine.decide("mailroom-out", Pin("12a4"), MONDAY_NOON).reason is (
            Reason.UNKNOWN_CREDENTIAL
        )


def test_every_standard_credential_is_indexed(engine):
    rules = engine.rules
    assert rules is not None
    assert len(rules.cards) + len(rules.pins) == len(STANDARD_CREDENTIALS)
