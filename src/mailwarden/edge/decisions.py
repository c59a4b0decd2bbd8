"""Local access decisions from a signed rule snapshot, kept working while the server is away.

The engine holds the last good rule set. A new snapshot or delta replaces it only after its
signature, its schema and its references check out, so a corrupt or forged document leaves the
engine deciding from the previous version. A snapshot older than the one held is refused too:
replaying an old signed snapshot would bring back revoked cards.

``decide`` is a few dict lookups: cards are indexed by (format, facility, card) and PINs by hash.
A card that also needs its PIN is answered PIN_REQUIRED until ``decide`` is called again with the
digits typed after it (the controller collects them); a wrong PIN is refused.
It also keeps the state that some rules need (where each holder is for anti-passback, the first
holder waiting at a two-person door, whether a door's first person has arrived today). That state
is updated only when access is granted, and it survives rule updates.
"""

from __future__ import annotations

import hmac
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from .clock import require_aware
from .rules import (
    AccessLevel,
    AntiPassbackArea,
    AntiPassbackMode,
    Collection,
    CredentialEntry,
    Door,
    DoorMode,
    Reader,
    RuleDelta,
    RuleEntries,
    RuleError,
    RuleSnapshot,
    Schedule,
    check_references,
    pin_hash,
)
from .signing import DocumentKind, SignatureError, open_document
from .wiegand import Credential, WiegandFormat


class Reason(StrEnum):
    GRANTED = "granted"
    GRANTED_SOFT_ANTI_PASSBACK = "granted_soft_anti_passback"
    GRANTED_TWO_PERSON = "granted_two_person"
    GRANTED_LOCKDOWN_OVERRIDE = "granted_lockdown_override"
    NO_RULES = "no_rules"
    UNKNOWN_READER = "unknown_reader"
    UNKNOWN_CREDENTIAL = "unknown_credential"
    CREDENTIAL_DISABLED = "credential_disabled"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    NO_ACCESS = "no_access"
    OUTSIDE_SCHEDULE = "outside_schedule"
    LOCKDOWN = "lockdown"
    ANTI_PASSBACK = "anti_passback"
    TWO_PERSON_WAITING = "two_person_waiting"
    TWO_PERSON_SAME_HOLDER = "two_person_same_holder"
    AWAITING_FIRST_PERSON = "awaiting_first_person"
    # Card + PIN: the card is good so far and its PIN is awaited; not a final answer.
    PIN_REQUIRED = "pin_required"
    WRONG_PIN = "wrong_pin"
    PIN_TIMEOUT = "pin_timeout"  # the PIN was not entered in time after the card
    # A card or PIN that reached the controller as its reader came (back) online: it may have
    # waited in the reader while the controller could not hear it, so it never opens a door.
    STALE_READ = "stale_read"


@dataclass(frozen=True, slots=True)
class Pin:
    """Digits entered on a reader's keypad."""

    digits: str


@dataclass(frozen=True, slots=True)
class Decision:
    granted: bool
    reason: Reason
    reader_id: str
    at: datetime
    door_id: str | None = None
    holder_id: str | None = None
    credential_id: str | None = None
    snapshot_version: int | None = None
    # For a two-person grant, the holder who presented first.
    companion_id: str | None = None
    # For a holder waiting for a second person, how long the door waits for them.
    wait_s: float | None = None

    @property
    def pending(self) -> bool:
        """Valid so far, but waiting: for someone else (two-person rule) or for the card's PIN."""
        return self.reason in (Reason.TWO_PERSON_WAITING, Reason.PIN_REQUIRED)

    @property
    def awaiting_pin(self) -> bool:
        """A card + PIN credential whose card checked out; its PIN is to be typed next."""
        return self.reason is Reason.PIN_REQUIRED


class RejectReason(StrEnum):
    SIGNATURE = "signature"
    INVALID = "invalid"
    STALE = "stale"
    BASE_MISMATCH = "base_mismatch"
    CONFLICT = "conflict"


class SnapshotRejected(ValueError):
    def __init__(self, reason: RejectReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


CardKey = tuple[WiegandFormat, int | None, int]


@dataclass(frozen=True)
class CompiledRules:
    """A rule snapshot with the indexes ``decide`` needs."""

    snapshot: RuleSnapshot
    zone: ZoneInfo
    holidays: frozenset[date]
    salt: str
    cards: dict[CardKey, CredentialEntry]
    pins: dict[str, CredentialEntry]
    readers: dict[str, Reader]
    doors: dict[str, Door]
    levels: dict[str, AccessLevel]
    level_doors: dict[str, frozenset[str]]
    schedules: dict[str, Schedule]
    areas: dict[str, AntiPassbackArea]

    @classmethod
    def build(cls, snapshot: RuleSnapshot) -> CompiledRules:
        cards: dict[CardKey, CredentialEntry] = {}
        pins: dict[str, CredentialEntry] = {}
        for entry in snapshot.credentials:
            key = entry.card_key
            if key is not None:
                cards[key] = entry
            elif entry.pin_hash is not None:
                pins[entry.pin_hash] = entry
        return cls(
            snapshot=snapshot,
            zone=ZoneInfo(snapshot.timezone),
            holidays=frozenset(snapshot.holidays),
            salt=snapshot.pin_salt,
            cards=cards,
            pins=pins,
            readers={r.id: r for r in snapshot.readers},
            doors={d.id: d for d in snapshot.doors},
            levels={lv.id: lv for lv in snapshot.levels},
            level_doors={lv.id: frozenset(lv.doors) for lv in snapshot.levels},
            schedules={s.id: s for s in snapshot.schedules},
            areas={a.id: a for a in snapshot.areas},
        )

    def schedule_active(self, schedule_id: str, local: datetime) -> bool:
        schedule = self.schedules[schedule_id]
        second = local.hour * 3600 + local.minute * 60 + local.second
        if local.date() in self.holidays:
            return any(w.contains(second) for w in schedule.holiday_windows)
        day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[local.weekday()]
        return any(day in w.days and w.contains(second) for w in schedule.windows)


@dataclass
class _Waiting:
    holder_id: str
    credential_id: str
    reader_id: str
    at: datetime


@dataclass
class _RuntimeState:
    # holder -> area id they are in ("" = outside every tracked area); absent = unknown
    location: dict[str, str] = field(default_factory=dict)
    last_entry: dict[tuple[str, str], datetime] = field(default_factory=dict)
    waiting: dict[str, _Waiting] = field(default_factory=dict)  # door -> first of two
    first_in: dict[str, date] = field(default_factory=dict)  # door -> local date
    lockdown: set[str] = field(default_factory=set)  # doors locked down by command


_MISSING = object()


class DecisionEngine:
    """Decides card and PIN presentations from the last good signed rule set."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise ValueError("the decision engine needs at least one device secret")
        self._keys = dict(keys)
        self._rules: CompiledRules | None = None
        self._chain: list[bytes] = []
        self._state = _RuntimeState()
        self._lock = threading.RLock()

    # -- rules --------------------------------------------------------------------------------

    @property
    def version(self) -> int | None:
        rules = self._rules
        return rules.snapshot.version if rules else None

    @property
    def rules(self) -> CompiledRules | None:
        return self._rules

    @property
    def documents(self) -> tuple[bytes, ...]:
        """The signed snapshot and the deltas applied since: store them to restore after restart."""
        with self._lock:
            return tuple(self._chain)

    def load_snapshot(self, document: bytes | str) -> int:
        payload = self._open(document, DocumentKind.SNAPSHOT)
        try:
            snapshot = RuleSnapshot.model_validate(payload)
        except ValidationError as exc:
            raise SnapshotRejected(RejectReason.INVALID, _describe(exc)) from None
        compiled = CompiledRules.build(snapshot)
        raw = document.encode() if isinstance(document, str) else bytes(document)
        with self._lock:
            current = self._rules
            if current is not None and snapshot.version <= current.snapshot.version:
                if snapshot == current.snapshot:
                    return snapshot.version
                raise SnapshotRejected(
                    RejectReason.STALE,
                    f"snapshot version {snapshot.version} is not newer than the "
                    f"version {current.snapshot.version} in use",
                )
            self._rules = compiled
            self._chain = [raw]
        return snapshot.version

    def apply_delta(self, document: bytes | str) -> int:
        payload = self._open(document, DocumentKind.DELTA)
        try:
            delta = RuleDelta.model_validate(payload)
        except ValidationError as exc:
            raise SnapshotRejected(RejectReason.INVALID, _describe(exc)) from None
        raw = document.encode() if isinstance(document, str) else bytes(document)
        with self._lock:
            current = self._rules
            if current is None:
                raise SnapshotRejected(
                    RejectReason.BASE_MISMATCH, "no snapshot is loaded to apply a delta to"
                )
            have = current.snapshot.version
            if delta.base_version != have:
                raise SnapshotRejected(
                    RejectReason.BASE_MISMATCH,
                    f"delta applies to version {delta.base_version}, but version {have} is in "
                    "use; fetch a full snapshot",
                )
            snapshot = _merge(current.snapshot, delta)
            self._rules = CompiledRules.build(snapshot)
            self._chain.append(raw)
        return snapshot.version

    def restore(self, documents: Sequence[bytes]) -> int:
        """Reload a stored chain (a snapshot, then its deltas) into an engine with no rules."""
        if not documents:
            raise ValueError("nothing to restore")
        version = self.load_snapshot(documents[0])
        for document in documents[1:]:
            version = self.apply_delta(document)
        return version

    def _open(self, document: bytes | str, kind: DocumentKind) -> dict[str, Any]:
        try:
            return open_document(document, self._keys, kind)
        except SignatureError as exc:
            raise SnapshotRejected(RejectReason.SIGNATURE, str(exc)) from None

    # -- runtime commands ---------------------------------------------------------------------

    def set_lockdown(self, door_id: str, on: bool) -> None:
        """Lock a door down (or release it) until the next command, whatever its rule mode."""
        with self._lock:
            if on:
                self._state.lockdown.add(door_id)
            else:
                self._state.lockdown.discard(door_id)

    def forgive_anti_passback(self, holder_id: str | None = None) -> None:
        """Forget where a holder (or everyone) is, as an operator does after a tailgate."""
        with self._lock:
            if holder_id is None:
                self._state.location.clear()
                self._state.last_entry.clear()
            else:
                self._state.location.pop(holder_id, None)
                for key in [k for k in self._state.last_entry if k[0] == holder_id]:
                    del self._state.last_entry[key]

    def door_locked_down(self, door_id: str) -> bool:
        with self._lock:
            rules = self._rules
            if door_id in self._state.lockdown:
                return True
            door = rules.doors.get(door_id) if rules else None
            return door is not None and door.mode is DoorMode.LOCKDOWN

    def door_unlocked(self, door_id: str, at: datetime) -> bool:
        """Whether a door should stand unlocked (free access) at ``at``."""
        require_aware(at)
        with self._lock:
            rules = self._rules
            if rules is None or door_id in self._state.lockdown:
                return False
            door = rules.doors.get(door_id)
            if door is None or door.mode is not DoorMode.SCHEDULED_UNLOCK:
                return False
            assert door.unlock_schedule_id is not None
            local = at.astimezone(rules.zone)
            if not rules.schedule_active(door.unlock_schedule_id, local):
                return False
            if door.first_person_in is not None:
                return self._state.first_in.get(door_id) == local.date()
            return True

    # -- decisions ----------------------------------------------------------------------------

    def decide(
        self,
        reader_id: str,
        presented: Credential | Pin,
        at: datetime,
        *,
        pin: str | None = None,
        stale: bool = False,
    ) -> Decision:
        """Decide a card or a PIN at a reader. ``pin`` is the digits typed after a card that needs
        its PIN; without them such a card gets PIN_REQUIRED once it has passed every check that
        does not change state (validity, levels, schedule), so a doomed card asks for no PIN.

        ``stale``: a read that may have waited in its reader (``CardRead.stale``). It is always
        refused as STALE_READ, naming the door and, when the card or PIN is known, its holder
        and credential; it changes no state (no anti-passback move, no two-person wait)."""
        require_aware(at)
        with self._lock:
            return self._decide(reader_id, presented, at, pin, stale)

    def _decide(
        self,
        reader_id: str,
        presented: Credential | Pin,
        at: datetime,
        pin: str | None = None,
        stale: bool = False,
    ) -> Decision:
        rules = self._rules
        if rules is None:
            return Decision(False, Reason.STALE_READ if stale else Reason.NO_RULES, reader_id, at)
        version = rules.snapshot.version
        reader = rules.readers.get(reader_id)
        if reader is None:
            reason = Reason.STALE_READ if stale else Reason.UNKNOWN_READER
            return Decision(False, reason, reader_id, at, snapshot_version=version)
        door = rules.doors[reader.door_id]
        entry = self._lookup(rules, presented)

        def answer(granted: bool, reason: Reason, **extra: Any) -> Decision:
            return Decision(
                granted,
                reason,
                reader_id,
                at,
                door_id=door.id,
                holder_id=entry.holder_id if entry else None,
                credential_id=entry.id if entry else None,
                snapshot_version=version,
                **extra,
            )

        if stale:
            return answer(False, Reason.STALE_READ)
        if entry is None:
            return answer(False, Reason.UNKNOWN_CREDENTIAL)
        if not entry.enabled:
            return answer(False, Reason.CREDENTIAL_DISABLED)
        if entry.valid_from is not None and at < entry.valid_from:
            return answer(False, Reason.NOT_YET_VALID)
        if entry.valid_until is not None and at >= entry.valid_until:
            return answer(False, Reason.EXPIRED)

        # Checked before anything that changes state, so a card waiting for its PIN (or refused
        # for a wrong one) moves nobody, starts no two-person wait and no first-person day.
        def second_factor() -> Reason | None:
            assert entry is not None
            if not isinstance(presented, Credential) or not entry.needs_pin:
                return None
            if pin is None:
                return Reason.PIN_REQUIRED
            return None if self._pin_matches(rules, entry, pin) else Reason.WRONG_PIN

        local = at.astimezone(rules.zone)
        if door.mode is DoorMode.LOCKDOWN or door.id in self._state.lockdown:
            if set(entry.levels) & set(door.lockdown_levels):
                if (refused := second_factor()) is not None:
                    return answer(False, refused)
                self._commit(rules, reader, entry.holder_id, at)
                return answer(True, Reason.GRANTED_LOCKDOWN_OVERRIDE)
            return answer(False, Reason.LOCKDOWN)

        levels = [lv for lv in entry.levels if door.id in rules.level_doors[lv]]
        if not levels:
            return answer(False, Reason.NO_ACCESS)
        if not any(rules.schedule_active(rules.levels[lv].schedule_id, local) for lv in levels):
            return answer(False, Reason.OUTSIDE_SCHEDULE)
        if (refused := second_factor()) is not None:
            return answer(False, refused)

        starts_day = False
        rule = door.first_person_in
        if rule is not None and self._state.first_in.get(door.id) != local.date():
            assert door.unlock_schedule_id is not None
            qualifies = bool(set(entry.levels) & set(rule.levels))
            if qualifies:
                starts_day = rules.schedule_active(door.unlock_schedule_id, local)
            elif rule.others_wait:
                return answer(False, Reason.AWAITING_FIRST_PERSON)

        passback = self._anti_passback(rules, reader, entry.holder_id, at)
        if passback is Reason.ANTI_PASSBACK:
            return answer(False, Reason.ANTI_PASSBACK)

        if door.two_person is not None:
            window = timedelta(seconds=door.two_person.window_s)
            first = self._state.waiting.get(door.id)
            if first is not None and timedelta(0) <= at - first.at <= window:
                if first.holder_id == entry.holder_id:
                    return answer(False, Reason.TWO_PERSON_SAME_HOLDER)
                first_reader = rules.readers.get(first.reader_id)
                if first_reader is not None:
                    self._commit(rules, first_reader, first.holder_id, first.at)
                del self._state.waiting[door.id]
                self._commit(rules, reader, entry.holder_id, at)
                if starts_day:
                    self._state.first_in[door.id] = local.date()
                return answer(True, Reason.GRANTED_TWO_PERSON, companion_id=first.holder_id)
            self._state.waiting[door.id] = _Waiting(entry.holder_id, entry.id, reader_id, at)
            return answer(False, Reason.TWO_PERSON_WAITING, wait_s=door.two_person.window_s)

        self._commit(rules, reader, entry.holder_id, at)
        if starts_day:
            self._state.first_in[door.id] = local.date()
        return answer(True, passback or Reason.GRANTED)

    @staticmethod
    def _lookup(rules: CompiledRules, presented: Credential | Pin) -> CredentialEntry | None:
        if isinstance(presented, Pin):
            if not presented.digits.isdigit() or not rules.pins:
                return None
            digest = pin_hash(presented.digits, rules.salt, rules.snapshot.pin_iterations)
            return rules.pins.get(digest)
        return rules.cards.get((presented.format, presented.facility, presented.card))

    @staticmethod
    def _pin_matches(rules: CompiledRules, entry: CredentialEntry, digits: str) -> bool:
        if entry.pin_hash is None or not digits.isascii() or not digits.isdigit():
            return False
        digest = pin_hash(digits, rules.salt, rules.snapshot.pin_iterations)
        return hmac.compare_digest(digest, entry.pin_hash)

    def _anti_passback(
        self, rules: CompiledRules, reader: Reader, holder_id: str, at: datetime
    ) -> Reason | None:
        """ANTI_PASSBACK to refuse, GRANTED_SOFT_ANTI_PASSBACK to flag, None when clean."""
        flagged = False
        where = self._state.location.get(holder_id)
        entering = rules.areas.get(reader.area_to) if reader.area_to else None
        leaving = rules.areas.get(reader.area_from) if reader.area_from else None
        if entering is not None:
            if entering.mode is AntiPassbackMode.TIMED:
                last = self._state.last_entry.get((holder_id, entering.id))
                if last is not None and at - last < timedelta(seconds=entering.reentry_s):
                    return Reason.ANTI_PASSBACK
            elif where == entering.id:
                if entering.mode is AntiPassbackMode.HARD:
                    return Reason.ANTI_PASSBACK
                flagged = True
        # Leaving an area the holder is known not to be in: they got in without badging.
        if (
            leaving is not None
            and leaving.mode is not AntiPassbackMode.TIMED
            and where is not None
            and where != leaving.id
        ):
            if leaving.mode is AntiPassbackMode.HARD:
                return Reason.ANTI_PASSBACK
            flagged = True
        return Reason.GRANTED_SOFT_ANTI_PASSBACK if flagged else None

    def _commit(self, rules: CompiledRules, reader: Reader, holder_id: str, at: datetime) -> None:
        if reader.area_from is None and reader.area_to is None:
            return
        self._state.location[holder_id] = reader.area_to or ""
        if reader.area_to is not None:
            self._state.last_entry[(holder_id, reader.area_to)] = at


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error["loc"]) or "document"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def _merge(base: RuleSnapshot, delta: RuleDelta) -> RuleSnapshot:
    collections: dict[str, tuple[Any, ...]] = {}
    for name in Collection:
        current: dict[str, Any] = {e.id: e for e in getattr(base, name.value)}
        added: Iterable[Any] = getattr(delta.added, name.value)
        changed: Iterable[Any] = getattr(delta.changed, name.value)
        for entry in added:
            if entry.id in current:
                raise SnapshotRejected(
                    RejectReason.CONFLICT, f"delta adds {name.value} {entry.id!r}, which exists"
                )
            current[entry.id] = entry
        for entry in changed:
            if entry.id not in current:
                raise SnapshotRejected(
                    RejectReason.CONFLICT,
                    f"delta changes {name.value} {entry.id!r}, which does not exist",
                )
            current[entry.id] = entry
        for entry_id in delta.removed.get(name, ()):
            if current.pop(entry_id, _MISSING) is _MISSING:
                raise SnapshotRejected(
                    RejectReason.CONFLICT,
                    f"delta removes {name.value} {entry_id!r}, which does not exist",
                )
        collections[name.value] = tuple(current.values())
    # None: every field given counts as set (pydantic's default), said outright so that no key
    # of ``collections`` is taken for the ``_fields_set`` argument.
    entries = RuleEntries.model_construct(None, **collections)
    try:
        check_references(entries)
    except RuleError as exc:
        raise SnapshotRejected(RejectReason.INVALID, f"after the delta: {exc}") from None
    # Entries were validated when the base and the delta were parsed; only cross-references
    # can break by merging, and they were just checked, so skip revalidating 100k entries.
    return RuleSnapshot.model_construct(
        None,
        **collections,
        version=delta.version,
        site_id=base.site_id,
        timezone=base.timezone,
        issued_at=delta.issued_at,
        holidays=base.holidays if delta.holidays is None else delta.holidays,
        pin_salt=base.pin_salt,
        pin_iterations=base.pin_iterations,
    )
