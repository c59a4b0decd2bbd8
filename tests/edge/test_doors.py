"""The door state machine on simulated I/O, with time moved by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailwarden.edge.clock import ManualClock
from mailwarden.edge.doors import (
    DoorConfig,
    DoorEventKind,
    DoorStateMachine,
    FailureMode,
    SimulatedIO,
)

K = DoorEventKind


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC))


def make(clock: ManualClock, **config) -> tuple[DoorStateMachine, SimulatedIO]:
    io = SimulatedIO()
    cfg = DoorConfig("mailroom", strike_s=5, rex_s=10, held_open_s=30, **config)
    return DoorStateMachine(cfg, io, clock.monotonic), io


def kinds(events) -> list[DoorEventKind]:
    return [e.kind for e in events]


def test_starts_locked(clock):
    door, io = make(clock)
    assert io.locked is True and door.locked
    assert door.tick() == []


def test_grant_unlocks_for_the_strike_time(clock):
    door, io = make(clock)
    assert kinds(door.grant()) == [K.UNLOCKED]
    assert io.locked is False
    clock.advance(4.9)
    assert door.tick() == []
    clock.advance(0.1)
    assert kinds(door.tick()) == [K.LOCKED]
    assert io.locked is True


def test_relocks_as_soon_as_the_door_closes_after_the_passage(clock):
    door, io = make(clock)
    door.grant()
    clock.advance(1)
    io.closed = False
    assert kinds(door.tick()) == [K.OPENED]
    clock.advance(1)
    io.closed = True
    assert kinds(door.tick()) == [K.CLOSED, K.LOCKED]
    assert io.locked is True


def test_opening_while_locked_is_forced(clock):
    door, io = make(clock)
    io.closed = False
    assert kinds(door.tick()) == [K.FORCED_OPEN]
    assert door.forced
    clock.advance(60)
    assert door.tick() == []  # a forced door is not also reported as held open
    io.closed = True
    assert kinds(door.tick()) == [K.CLOSED]
    assert not door.forced


def test_opening_just_after_the_strike_ended_is_forced(clock):
    door, io = make(clock)
    door.grant()
    clock.advance(5)
    door.tick()
    io.closed = False
    assert kinds(door.tick()) == [K.FORCED_OPEN]


def test_request_to_exit_unlocks_and_shunts(clock):
    door, io = make(clock)
    io.rex = True
    assert kinds(door.tick()) == [K.REX, K.UNLOCKED]
    io.rex = False
    clock.advance(2)
    io.closed = False
    assert kinds(door.tick()) == [K.OPENED]
    io.closed = True
    clock.advance(1)
    assert kinds(door.tick()) == [K.CLOSED]
    clock.advance(7)
    assert kinds(door.tick()) == [K.LOCKED]


def test_held_open_after_an_authorised_opening(clock):
    door, io = make(clock)
    door.grant()
    io.closed = False
    door.tick()
    clock.advance(29)
    assert kinds(door.tick()) == [K.LOCKED]  # the strike time ended long ago; still open
    clock.advance(1)
    assert kinds(door.tick()) == [K.HELD_OPEN]
    assert door.held_open
    clock.advance(30)
    assert door.tick() == []  # reported once
    io.closed = True
    assert kinds(door.tick()) == [K.CLOSED]
    assert not door.held_open


def test_free_access_is_not_held_open_and_its_timer_starts_when_it_ends(clock):
    door, io = make(clock)
    assert kinds(door.hold_unlocked(True)) == [K.UNLOCKED]
    io.closed = False
    assert kinds(door.tick()) == [K.OPENED]
    clock.advance(600)
    assert door.tick() == []
    assert kinds(door.hold_unlocked(False)) == [K.LOCKED]
    clock.advance(29)
    assert door.tick() == []
    clock.advance(1)
    assert kinds(door.tick()) == [K.HELD_OPEN]


def test_lockdown_cancels_free_access_and_a_running_grant_but_not_exit(clock):
    door, io = make(clock)
    door.hold_unlocked(True)
    assert kinds(door.lockdown(True)) == [K.LOCKED]
    door.lockdown(False)
    door.hold_unlocked(False)
    door.grant()
    assert kinds(door.lockdown(True)) == [K.LOCKED]
    io.rex = True
    assert kinds(door.tick()) == [K.REX, K.UNLOCKED]
    assert io.locked is False


class TestFailSecure:
    def test_power_loss_keeps_the_lock_and_ignores_grants(self, clock):
        door, io = make(clock, failure_mode=FailureMode.FAIL_SECURE)
        io.power = False
        assert kinds(door.tick()) == [K.POWER_LOST]
        assert kinds(door.grant()) == [K.GRANT_IGNORED]
        assert io.locked is True
        io.rex = True
        door.tick()
        assert io.locked is True  # no power to release a fail-secure strike
        io.closed = False  # leaving by the mechanical handle
        assert kinds(door.tick()) == [K.OPENED]

    def test_losing_the_rules_locks_but_exit_still_works(self, clock):
        door, io = make(clock, failure_mode=FailureMode.FAIL_SECURE)
        door.hold_unlocked(True)
        assert kinds(door.rules_available(False)) == [K.RULES_LOST, K.LOCKED]
        io.rex = True
        assert kinds(door.tick()) == [K.REX, K.UNLOCKED]


class TestFailSafe:
    def test_power_loss_releases_and_opening_is_not_forced(self, clock):
        door, io = make(clock, failure_mode=FailureMode.FAIL_SAFE)
        io.power = False
        assert kinds(door.tick()) == [K.POWER_LOST, K.UNLOCKED]
        io.closed = False
        assert kinds(door.tick()) == [K.OPENED]
        io.closed = True
        door.tick()
        io.power = True
        assert kinds(door.tick()) == [K.POWER_RESTORED, K.LOCKED]

    def test_losing_the_rules_releases_until_they_return(self, clock):
        door, io = make(clock, failure_mode=FailureMode.FAIL_SAFE)
        assert kinds(door.rules_available(False)) == [K.RULES_LOST, K.UNLOCKED]
        assert io.locked is False
        assert kinds(door.rules_available(True)) == [K.RULES_RESTORED, K.LOCKED]
        assert io.locked is True


def test_bad_configuration():
    with pytest.raises(ValueError, match="positive"):
        DoorConfig("x", strike_s=0)


def test_a_grant_during_lockdown_survives_the_next_update(clock):
    """The rules let responders through a locked-down door; the controller's next tick must not
    take the lock back from under them."""
    door, io = make(clock)
    door.update(rules_available=True, lockdown=True, free_access=False)
    door.grant()
    assert io.locked is False
    clock.advance(1)
    assert door.update(rules_available=True, lockdown=True, free_access=False) == []
    assert io.locked is False
    clock.advance(4)
    assert kinds(door.update(rules_available=True, lockdown=True, free_access=False)) == [K.LOCKED]
