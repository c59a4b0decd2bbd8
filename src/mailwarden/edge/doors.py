"""One door's hardware logic: lock relay, door contact, request-to-exit, and their alarms.

The state machine reads its inputs through an ``IOBackend`` (``SimulatedIO`` here; a GPIO or
I/O-module backend implements the same four methods) and is advanced by ``tick``, which the edge
process calls every few tens of milliseconds. Timers use an injected monotonic clock.

Behaviour:

* a grant releases the lock for ``strike_s``; it relocks early once the door has opened and
  closed again, so the door never stands unlocked after the person went through;
* request-to-exit (REX) releases the lock for ``rex_s`` and shunts the contact for that time, so
  leaving is never reported as forced. REX works in every state, lockdown included: software must
  never stand between a person and the way out;
* the door opening while the lock is engaged and no REX shunt is running is ``FORCED_OPEN``;
* an authorised opening that lasts ``held_open_s`` is ``HELD_OPEN`` (not while the door stands in
  free access, whose timer starts when free access ends);
* losing lock power or losing the rules puts the lock in its failure state: ``fail_secure`` keeps
  it locked and ignores grants (a powerless strike cannot open), ``fail_safe`` releases it (a
  powerless maglock holds nothing). Forced-open is not reported while fail-safe has released it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from .clock import MonotonicClock


class IOBackend(Protocol):
    def door_closed(self) -> bool: ...

    def rex_active(self) -> bool: ...

    def power_ok(self) -> bool: ...

    def set_lock(self, locked: bool) -> None: ...


@dataclass
class SimulatedIO:
    """Inputs set by hand and the lock output recorded: for tests and the demo."""

    closed: bool = True
    rex: bool = False
    power: bool = True
    locked: bool | None = None
    lock_history: list[bool] = field(default_factory=list)

    def door_closed(self) -> bool:
        return self.closed

    def rex_active(self) -> bool:
        return self.rex

    def power_ok(self) -> bool:
        return self.power

    def set_lock(self, locked: bool) -> None:
        self.locked = locked
        self.lock_history.append(locked)


class FailureMode(StrEnum):
    FAIL_SECURE = "fail_secure"
    FAIL_SAFE = "fail_safe"


@dataclass(frozen=True, slots=True)
class DoorConfig:
    door_id: str
    strike_s: float = 5.0
    rex_s: float = 10.0
    held_open_s: float = 30.0
    failure_mode: FailureMode = FailureMode.FAIL_SECURE

    def __post_init__(self) -> None:
        if min(self.strike_s, self.rex_s, self.held_open_s) <= 0:
            raise ValueError(f"door {self.door_id}: times must be positive")


class DoorEventKind(StrEnum):
    UNLOCKED = "unlocked"
    LOCKED = "locked"
    OPENED = "opened"
    CLOSED = "closed"
    FORCED_OPEN = "forced_open"
    HELD_OPEN = "held_open"
    REX = "request_to_exit"
    GRANT_IGNORED = "grant_ignored"
    POWER_LOST = "power_lost"
    POWER_RESTORED = "power_restored"
    RULES_LOST = "rules_lost"
    RULES_RESTORED = "rules_restored"


@dataclass(frozen=True, slots=True)
class DoorEvent:
    door_id: str
    kind: DoorEventKind
    at: float  # monotonic seconds, from the door's clock


class DoorStateMachine:
    def __init__(self, config: DoorConfig, io: IOBackend, clock: MonotonicClock) -> None:
        self.config = config
        self._io = io
        self._clock = clock
        self._unlock_until = float("-inf")
        self._opened_in_unlock = False
        self._rex_until = float("-inf")
        self._rex_was_active = False
        self._free_access = False
        self._lockdown = False
        self._rules_ok = True
        self._power_ok = io.power_ok()
        self._closed = io.door_closed()
        self._held_from: float | None = None if self._closed else clock()
        self._held_alarmed = False
        self._forced = False
        self._locked: bool | None = None
        self._events: list[DoorEvent] = []
        self._apply_output(clock())
        self._events.clear()

    # -- state --------------------------------------------------------------------------------

    @property
    def locked(self) -> bool:
        assert self._locked is not None
        return self._locked

    @property
    def is_open(self) -> bool:
        return not self._closed

    @property
    def forced(self) -> bool:
        return self._forced

    @property
    def held_open(self) -> bool:
        return self._held_alarmed

    @property
    def in_failure(self) -> bool:
        return not (self._power_ok and self._rules_ok)

    # -- commands -----------------------------------------------------------------------------

    def grant(self) -> list[DoorEvent]:
        """Release the lock for one passage."""
        now = self._clock()
        if self.in_failure and self.config.failure_mode is FailureMode.FAIL_SECURE:
            self._emit(DoorEventKind.GRANT_IGNORED, now)
        else:
            self._unlock_until = max(self._unlock_until, now + self.config.strike_s)
            self._opened_in_unlock = False
        return self.tick()

    def hold_unlocked(self, on: bool) -> list[DoorEvent]:
        """Free access (a scheduled unlock) on or off."""
        self._set_free_access(on)
        return self.tick()

    def lockdown(self, on: bool) -> list[DoorEvent]:
        """Cancel free access and any running grant; REX still lets people out.

        Grants given during a lockdown (the rules' override levels) still release the lock.
        """
        self._set_lockdown(on)
        return self.tick()

    def rules_available(self, ok: bool) -> list[DoorEvent]:
        self._set_rules(ok)
        return self.tick()

    def update(
        self, *, rules_available: bool, lockdown: bool, free_access: bool
    ) -> list[DoorEvent]:
        """Set all three modes from the rules and advance once (the controller's tick)."""
        self._set_rules(rules_available)
        self._set_lockdown(lockdown)
        self._set_free_access(free_access)
        return self.tick()

    def _set_free_access(self, on: bool) -> None:
        self._free_access = on

    def _set_lockdown(self, on: bool) -> None:
        if on and not self._lockdown:
            self._unlock_until = float("-inf")
        self._lockdown = on

    def _set_rules(self, ok: bool) -> None:
        if ok != self._rules_ok:
            self._rules_ok = ok
            kind = DoorEventKind.RULES_RESTORED if ok else DoorEventKind.RULES_LOST
            self._emit(kind, self._clock())

    # -- the machine --------------------------------------------------------------------------

    def tick(self) -> list[DoorEvent]:
        now = self._clock()
        self._read_power(now)
        self._read_rex(now)
        self._read_contact(now)
        if now >= self._unlock_until:
            self._unlock_until = float("-inf")
        self._apply_output(now)
        self._check_held(now)
        events, self._events = self._events, []
        return events

    def _emit(self, kind: DoorEventKind, at: float) -> None:
        self._events.append(DoorEvent(self.config.door_id, kind, at))

    def _read_power(self, now: float) -> None:
        power = self._io.power_ok()
        if power != self._power_ok:
            self._power_ok = power
            self._emit(DoorEventKind.POWER_RESTORED if power else DoorEventKind.POWER_LOST, now)

    def _read_rex(self, now: float) -> None:
        rex = self._io.rex_active()
        if rex and not self._rex_was_active:
            self._emit(DoorEventKind.REX, now)
        if rex:
            # Held REX (a button kept pressed, a motion sensor seeing someone) keeps extending.
            self._rex_until = now + self.config.rex_s
        self._rex_was_active = rex

    def _released(self, now: float) -> bool:
        """Whether the lock output should be released now."""
        if self.in_failure and self.config.failure_mode is FailureMode.FAIL_SAFE:
            return True
        if now < self._rex_until and self._power_ok:
            return True
        if self.in_failure:
            return False
        if now < self._unlock_until:
            return True
        return self._free_access and not self._lockdown

    def _read_contact(self, now: float) -> None:
        closed = self._io.door_closed()
        if closed == self._closed:
            return
        self._closed = closed
        if not closed:
            # Judge the opening against the lock as it was, before this tick changes it.
            authorised = not self._locked or now < self._rex_until
            if authorised:
                self._emit(DoorEventKind.OPENED, now)
                if now < self._unlock_until:
                    self._opened_in_unlock = True
            else:
                self._forced = True
                self._emit(DoorEventKind.FORCED_OPEN, now)
            self._held_from = now
            self._held_alarmed = False
        else:
            self._emit(DoorEventKind.CLOSED, now)
            self._forced = False
            self._held_from = None
            self._held_alarmed = False
            if self._opened_in_unlock:
                # The person went through: relock now rather than when the strike time ends.
                self._unlock_until = float("-inf")
                self._opened_in_unlock = False

    def _check_held(self, now: float) -> None:
        if self._closed or self._held_from is None or self._held_alarmed or self._forced:
            return
        if self._free_access and not self._lockdown and not self.in_failure:
            # Standing open is what free access is for; count from when it ends.
            self._held_from = now
            return
        if now - self._held_from >= self.config.held_open_s:
            self._held_alarmed = True
            self._emit(DoorEventKind.HELD_OPEN, now)

    def _apply_output(self, now: float) -> None:
        locked = not self._released(now)
        if locked != self._locked:
            first = self._locked is None
            self._locked = locked
            self._io.set_lock(locked)
            if not first:
                self._emit(DoorEventKind.LOCKED if locked else DoorEventKind.UNLOCKED, now)
