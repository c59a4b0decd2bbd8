"""The control-panel side of OSDP: readers on Secure Channel, their events, and reader feedback.

A thin layer over libosdp (PyPI ``libosdp``, module ``osdp``). What it adds:

* every reader runs Secure Channel with its own 16-byte key and ``EnforceSecure``, so a reader
  that answers in plain text or with the public default key (SCBK-D) is kept offline;
* ``provision`` is the only code that will talk to a reader in install mode, and it leaves the
  reader holding a fresh key (install mode accepts SCBK-D, which anyone can use: the attack shown
  at Black Hat 2023);
* events arrive as typed values (``reader_events``), card reads already Wiegand-decoded;
* grant, deny and pending feedback as LED and buzzer patterns.

libosdp calls its event handler from its refresh thread while holding the lock that
``submit_command`` needs, so a handler that answered a card read directly would deadlock. The
panel hands events to its own dispatcher thread, which runs ``on_event``.

Stale reads. A reader keeps the cards and keys presented while the panel cannot hear it (the
edge stopped, the line cut, the reader just provisioned) and hands them over, one per poll, as
soon as it is online again: a card read 20 s before would open the door for nobody. A read
cannot say when it was made, so the panel marks as ``stale`` every card read and key press that
arrives within ``settle_s`` (1 s) of the reader coming online, and every one that follows a stale
one within ``settle_s`` (a reader drains its queue at one event per poll, about 0.1 s apart, so
a queue of any length stays stale to its end). The controller decides and records such a read but
never opens the door for it. The price: a person whose card is read in the first second after
a reader comes online sees red and presents it again.

Status at a drop. When a reader's link goes, libosdp closes the Secure Channel session a few
milliseconds before it marks the reader offline. Reported as it comes, that would read as "online
without its key" just before "offline". The panel holds an online-without-Secure-Channel state
that follows an online-on-its-key one for ``status_settle_s`` (1 s): if the reader goes offline
meanwhile, only "offline" is reported; if the session comes back, nothing is; if it lasts, it is
reported then.

Latency. libosdp's Python ``ControlPanel`` drives the protocol from a thread that refreshes it,
then sleeps 20 ms, whatever is waiting: an LED command queued just after a refresh left only at
the next one, and a reader's reply sat in the socket until the next one too. The panel drives
libosdp itself (``_PromptControlPanel``): it refreshes every ``refresh_s`` (5 ms) and, when a
command is queued, at once, then every ``_HURRY_STEP_S`` until libosdp reports every queued
command completed (at most ``_HURRY_MAX_S``), so the answer to a card leaves on the next
exchange rather than after a tick. What remains is the reader's own part: libosdp polls each
reader every 50 ms (compiled in), and the reader answers the poll and takes the command on its
own schedule.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, Protocol

import osdp as libosdp

from .clock import MonotonicClock, monotonic
from .reader_events import (
    CardRead,
    KeypadInput,
    PowerChanged,
    ReaderEvent,
    ReaderStatus,
    TamperChanged,
    TamperSource,
)
from .wiegand import WiegandError, WiegandErrorReason, WiegandFormat, decode_osdp

log = logging.getLogger(__name__)

# OSDP's published default Secure Channel base key: install mode accepts it from anyone.
SCBK_D = bytes(range(0x30, 0x40))
KEY_LENGTH = 16

LED_COLOR = libosdp.CommandLEDColor
_LED_TEMPORARY_SET = 2  # osdp_LED temporary control code: set the temporary state
_BUZZER_DEFAULT_TONE = 2  # osdp_BUZ tone code: the reader's default tone
_REVIVE_STEP_S = 0.05
# How often the panel refreshes libosdp when nothing is queued; libosdp's own loop sleeps 20 ms.
REFRESH_S = 0.005
# While a queued command is on its way, the panel refreshes this often, for at most this long.
_HURRY_STEP_S = 0.001
_HURRY_MAX_S = 0.5
_KEYPAD_SPECIAL = {0x7F: "*", 0x0D: "#", ord("*"): "*", ord("#"): "#"}


class ReaderKeyError(ValueError):
    """A reader key that must not be used: wrong length, all zeros, or the public SCBK-D."""


class ProvisioningError(RuntimeError):
    pass


def check_reader_key(key: bytes) -> bytes:
    if not isinstance(key, bytes | bytearray) or len(key) != KEY_LENGTH:
        raise ReaderKeyError(f"a reader key is {KEY_LENGTH} bytes")
    key = bytes(key)
    if key == SCBK_D:
        raise ReaderKeyError("the OSDP default key SCBK-D is public; use a key of your own")
    if key == bytes(KEY_LENGTH):
        raise ReaderKeyError("an all-zero reader key is not a key")
    return key


@dataclass(frozen=True)
class ReaderConfig:
    """One reader (OSDP PD) on a channel, with its own Secure Channel base key."""

    reader_id: str
    address: int
    channel: libosdp.Channel
    scbk: bytes
    reader_no: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.address <= 126:
            raise ValueError(f"reader {self.reader_id}: OSDP address must be 0-126")
        check_reader_key(self.scbk)


@dataclass(frozen=True, slots=True)
class Feedback:
    """An LED colour held for ``led_tenths`` of a second and a beep pattern (tenths of a second)."""

    color: int
    led_tenths: int
    flash: bool = False
    beep_on_tenths: int = 0
    beep_off_tenths: int = 0
    beeps: int = 0


GRANT = Feedback(LED_COLOR.Green, led_tenths=30, beep_on_tenths=1, beeps=1)
DENY = Feedback(LED_COLOR.Red, led_tenths=30, beep_on_tenths=10, beeps=1)
# OSDP's LED timer counts tenths of a second in two bytes, but libosdp's Python binding (3.2.9)
# passes it on as one: a longer wait would wrap around to a short light.
_MAX_LED_TENTHS = 0xFF
PENDING = Feedback(LED_COLOR.Amber, led_tenths=50, flash=True, beep_on_tenths=1, beeps=2)


def led_command(feedback: Feedback, reader_no: int = 0) -> dict[str, Any]:
    on, off = (3, 3) if feedback.flash else (feedback.led_tenths, 0)
    return {
        "command": libosdp.Command.LED,
        "reader": reader_no,
        "led_number": 0,
        "temporary": True,
        "control_code": _LED_TEMPORARY_SET,
        "on_color": feedback.color,
        "off_color": LED_COLOR.Black,
        "on_count": on,
        "off_count": off,
        "timer_count": feedback.led_tenths,
    }


def buzzer_command(feedback: Feedback, reader_no: int = 0) -> dict[str, Any]:
    return {
        "command": libosdp.Command.Buzzer,
        "reader": reader_no,
        "control_code": _BUZZER_DEFAULT_TONE,
        "on_count": feedback.beep_on_tenths,
        "off_count": feedback.beep_off_tenths or feedback.beep_on_tenths,
        "rep_count": feedback.beeps,
    }


def keypad_text(data: bytes) -> str:
    keys = []
    for byte in data:
        if byte in _KEYPAD_SPECIAL:
            keys.append(_KEYPAD_SPECIAL[byte])
        elif 0x30 <= byte <= 0x39:
            keys.append(chr(byte))
        elif byte <= 9:
            keys.append(str(byte))  # some readers send digit values rather than ASCII
        else:
            keys.append("?")
    return "".join(keys)


def card_read_from_osdp(
    reader_id: str, event: Mapping[str, Any], formats: Mapping[int, WiegandFormat]
) -> CardRead:
    data = bytes(event.get("data", b""))
    fmt = event.get("format")
    if fmt == libosdp.CardFormat.ASCII:
        error = WiegandError(
            WiegandErrorReason.UNKNOWN_FORMAT, "the reader sent ASCII card data, not Wiegand bits"
        )
        return CardRead(reader_id, 0, data, None, error)
    length = int(event.get("length", 0))
    try:
        credential = decode_osdp(length, data, format=formats.get(length))
    except WiegandError as exc:
        return CardRead(reader_id, length, data, None, exc)
    return CardRead(reader_id, length, data, credential, None)


class RefreshPace(Protocol):
    """What paces the panel's idle refreshes (tests hold it to prove a command needs no tick)."""

    def wait(self, woken: threading.Event, seconds: float) -> None:
        """Return after ``seconds``, or as soon as ``woken`` is set."""


class _TimedPace:
    def wait(self, woken: threading.Event, seconds: float) -> None:
        woken.wait(seconds)


class _PromptControlPanel(libosdp.ControlPanel):  # type: ignore[misc]  # libosdp has no types
    """libosdp's control panel, refreshed by a loop of ours: often when idle, and at once when a
    command is queued (the module's notes on latency)."""

    # Set by libosdp's own __init__ and used by its methods; typed here for ours.
    thread: threading.Thread | None
    event: threading.Event | None
    lock: threading.Lock | None

    def __init__(
        self,
        infos: list[libosdp.PDInfo],
        *,
        log_level: int,
        event_handler: Callable[[int, dict[str, Any]], int],
        refresh_s: float,
        pace: RefreshPace,
    ) -> None:
        super().__init__(
            infos,
            log_level=log_level,
            event_handler=event_handler,
            command_completion_handler=self._on_completed,
        )
        self._refresh_s = refresh_s
        self._pace = pace
        self._woken = threading.Event()
        self._count_lock = threading.Lock()
        self._in_flight = 0
        self._hurry_until = 0.0

    def start(self) -> None:
        if self.thread:
            raise RuntimeError("the control panel is already running")
        # The names libosdp's own methods use: each takes ``self.lock`` around the C context.
        self.event = stopping = threading.Event()
        self.lock = lock = threading.Lock()
        self.thread = threading.Thread(
            name="osdp-cp", target=self._run, args=(stopping, lock), daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        if self.event is not None:
            self.event.set()
        self._woken.set()
        super().stop()

    def submit_command(self, address: int, cmd: dict[str, Any]) -> bool:
        accepted = bool(super().submit_command(address, cmd))
        if accepted:
            with self._count_lock:
                self._in_flight += 1
                self._hurry_until = time.monotonic() + _HURRY_MAX_S
            self._woken.set()
        return accepted

    def _on_completed(self, address: int, command: dict[str, Any], status: int) -> None:
        # Called from inside refresh, on our loop's thread.
        with self._count_lock:
            self._in_flight = max(0, self._in_flight - 1)

    def _hurrying(self) -> bool:
        with self._count_lock:
            if self._in_flight and time.monotonic() < self._hurry_until:
                return True
            self._in_flight = 0  # lost with a reader that went offline, or never reported
            return False

    def _run(self, stopping: threading.Event, lock: threading.Lock) -> None:
        while not stopping.is_set():
            # Cleared before the refresh, so a command queued during it is not left waiting.
            self._woken.clear()
            with lock:
                self.ctx.refresh()
            if self._hurrying():
                time.sleep(_HURRY_STEP_S)
            else:
                self._pace.wait(self._woken, self._refresh_s)


@dataclass
class _ReaderState:
    config: ReaderConfig
    online: bool = False
    secure: bool = False
    offline_notices: int = 0
    # Whether the reader's status has been reported since the panel started: a reader that
    # never comes online (a wrong key, a cut line) must still be reported offline once.
    announced: bool = False
    tampered: dict[TamperSource, bool] = field(default_factory=dict)
    power_failed: bool = False
    # Reviving an offline reader: when the next step is due, which step, and the current delay.
    revive_at: float | None = None
    revive_enable: bool = False
    revive_delay: float = 0.0
    # The (online, secure) pair last reported, and when a held online-insecure state is due to
    # be reported if it lasts (time.monotonic(), like the revival times).
    reported: tuple[bool, bool] | None = None
    report_at: float | None = None
    # Reads arriving before this (on the panel's injected clock) are stale: the reader is still
    # handing over what it queued while it was offline.
    settle_until: float | None = None


# What the libosdp callback and a channel's watcher hand the dispatcher: an event for the reader
# at an index (with its arrival time on the panel's clock), or a channel that has connected again.
@dataclass(frozen=True, slots=True)
class _Arrived:
    pd_index: int
    at: float


@dataclass(frozen=True, slots=True)
class _ChannelUp:
    channel: object


class ReaderPanel:
    """An OSDP control panel for a set of readers, reporting their events to ``on_event``."""

    def __init__(
        self,
        readers: Sequence[ReaderConfig],
        on_event: Callable[[ReaderEvent], None],
        *,
        formats: Mapping[int, WiegandFormat] | None = None,
        revive_after: float = 1.0,
        revive_max: float = 60.0,
        settle_s: float = 1.0,
        status_settle_s: float = 1.0,
        clock: MonotonicClock = monotonic,
        log_level: int = libosdp.LogLevel.Warning,
        refresh_s: float = REFRESH_S,
        pace: RefreshPace | None = None,
    ) -> None:
        """``clock`` times the reads' settling window (``settle_s``, see the module's notes);
        revivals and the status hold (``status_settle_s``) run on the real monotonic clock,
        because they pace libosdp's own threads. ``refresh_s`` is how often libosdp is refreshed
        while nothing is queued, timed by ``pace`` (the module's notes on latency)."""
        if not readers:
            raise ValueError("a reader panel needs at least one reader")
        if settle_s < 0 or status_settle_s < 0:
            raise ValueError("settling windows cannot be negative")
        if not 0 < refresh_s <= 0.05:
            # libosdp must be refreshed at least every 50 ms to keep its poll timing.
            raise ValueError("refresh_s must be more than 0 and at most 0.05 s")
        ids = [r.reader_id for r in readers]
        addresses = [r.address for r in readers]
        if len(set(ids)) != len(ids):
            raise ValueError("reader ids must be unique on a panel")
        if len(set(addresses)) != len(addresses):
            raise ValueError("OSDP addresses must be unique on a panel")
        self._readers = list(readers)
        self._states = {r.reader_id: _ReaderState(r) for r in readers}
        self._on_event = on_event
        self._formats = dict(formats or {})
        self._revive_after = revive_after
        self._revive_max = revive_max
        self._settle_s = settle_s
        self._status_settle_s = status_settle_s
        self._clock = clock
        self._cond = threading.Condition()
        self._inbox: queue.SimpleQueue[_Arrived | _ChannelUp | None] = queue.SimpleQueue()
        self._dispatcher: threading.Thread | None = None
        self._stopped = False
        flags = [libosdp.LibFlag.EnforceSecure, libosdp.LibFlag.EnableNotification]
        infos = [
            libosdp.PDInfo(r.address, r.channel, scbk=r.scbk, name=r.reader_id, flags=flags)
            for r in readers
        ]
        self._cp = _PromptControlPanel(
            infos,
            log_level=log_level,
            event_handler=self._on_libosdp_event,
            refresh_s=refresh_s,
            pace=pace or _TimedPace(),
        )
        for channel in {id(r.channel): r.channel for r in readers}.values():
            watch = getattr(channel, "watch", None)
            if watch is not None:
                watch(lambda channel=channel: self._inbox.put(_ChannelUp(channel)))

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._dispatcher is not None or self._stopped:
            raise RuntimeError("a panel starts once; make a new one to start again")
        self._dispatcher = threading.Thread(
            target=self._dispatch, name="osdp-panel-events", daemon=True
        )
        self._dispatcher.start()
        self._cp.start()

    def stop(self) -> None:
        if self._dispatcher is None:
            return
        # Stop the dispatcher first: it may be calling into the control panel to revive a reader.
        self._inbox.put(None)
        self._dispatcher.join(timeout=10)
        self._dispatcher = None
        self._stopped = True
        self._cp.teardown()
        with self._cond:
            for state in self._states.values():
                state.online = state.secure = False
            self._cond.notify_all()

    def __enter__(self) -> ReaderPanel:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- state --------------------------------------------------------------------------------

    def status(self, reader_id: str) -> ReaderStatus:
        with self._cond:
            state = self._state(reader_id)
            return ReaderStatus(reader_id, state.online, state.secure)

    def wait_secure(self, reader_id: str, timeout: float) -> bool:
        """Wait until the reader is online on Secure Channel with its key.

        Returns False early when libosdp gives up on an attempt (it reports the reader offline),
        which is what a wrong key or a reader in plain-text mode looks like.
        """
        with self._cond:
            state = self._state(reader_id)
            notices = state.offline_notices
            self._cond.wait_for(
                lambda: (state.online and state.secure) or state.offline_notices > notices,
                timeout,
            )
            return state.online and state.secure

    def _state(self, reader_id: str) -> _ReaderState:
        try:
            return self._states[reader_id]
        except KeyError:
            raise KeyError(f"no reader {reader_id!r} on this panel") from None

    # -- feedback -----------------------------------------------------------------------------

    def feedback(self, reader_id: str, pattern: Feedback) -> bool:
        """Queue LED and buzzer commands; False when the reader is not there to take them."""
        config = self._state(reader_id).config
        led = self._cp.submit_command(config.address, led_command(pattern, config.reader_no))
        beep = True
        if pattern.beeps:
            beep = self._cp.submit_command(
                config.address, buzzer_command(pattern, config.reader_no)
            )
        return bool(led and beep)

    def grant(self, reader_id: str) -> bool:
        return self.feedback(reader_id, GRANT)

    def deny(self, reader_id: str) -> bool:
        return self.feedback(reader_id, DENY)

    def pending(self, reader_id: str, wait_s: float) -> bool:
        """Amber, flashing for ``wait_s`` (the PIN's or the second person's time), two beeps."""
        tenths = min(_MAX_LED_TENTHS, max(1, round(wait_s * 10)))
        return self.feedback(reader_id, replace(PENDING, led_tenths=tenths))

    # -- events -------------------------------------------------------------------------------

    def _on_libosdp_event(self, pd_index: int, event: dict[str, Any]) -> int:
        # Runs on libosdp's thread under its lock: only hand over. libosdp has already queued
        # the event itself; the dispatcher takes it from there, which also keeps that queue empty.
        # The arrival is timed here, not when the dispatcher gets to it.
        self._inbox.put(_Arrived(pd_index, self._clock()))
        return 0

    def _dispatch(self) -> None:
        while True:
            try:
                message = self._inbox.get(timeout=self._next_due())
            except queue.Empty:
                self._housekeeping()
                continue
            if message is None:
                return
            self._housekeeping()
            if isinstance(message, _ChannelUp):
                self._revive_on(message.channel)
                continue
            config = self._readers[message.pd_index]
            event = self._cp.get_event(config.address, timeout=-1)
            if event is None:
                continue
            self._emit(config.reader_id, self._translate, config.reader_id, event, message.at)

    def _emit(self, reader_id: str, produce: Callable[..., list[ReaderEvent]], *args: Any) -> None:
        try:
            for out in produce(*args):
                self._on_event(out)
        except Exception:
            log.exception("reader %s: handling %r failed", reader_id, args)

    def _housekeeping(self) -> None:
        self._revive_due()
        for reader_id in self._held_reports_due():
            self._emit(reader_id, self._held_report, reader_id)

    def _next_due(self) -> float | None:
        with self._cond:
            due = [
                at
                for s in self._states.values()
                for at in (s.revive_at, s.report_at)
                if at is not None
            ]
        return max(0.0, min(due) - time.monotonic()) if due else None

    # libosdp 3.2.9 waits 300 s before it tries an offline reader again, so a reader that
    # rebooted or a bridge that reconnected would stay dark for five minutes. The panel retries
    # sooner, with its own backoff from ``revive_after`` up to ``revive_max``, by disabling and
    # re-enabling the reader, which restarts libosdp's link from scratch. A channel that brings
    # its own line back (TCP, a serial port by path) says so, and its readers are tried then.

    def _revive_due(self) -> None:
        now = time.monotonic()
        with self._cond:
            due = [s for s in self._states.values() if s.revive_at is not None]
            for state in due:
                if state.revive_at is None or now < state.revive_at:
                    continue
                address = state.config.address
                if not state.revive_enable:
                    self._cp.disable_pd(address)
                    state.revive_enable = True
                    state.revive_at = now + _REVIVE_STEP_S
                elif self._cp.is_pd_enabled(address):
                    state.revive_at = now + _REVIVE_STEP_S  # the disable is not applied yet
                else:
                    self._cp.enable_pd(address)
                    state.revive_enable = False
                    state.revive_at = None

    def _revive_on(self, channel: object) -> None:
        """A channel connected again by itself: bring its offline readers' next revival forward
        to now, rather than at the end of a backoff that may have grown to ``revive_max`` while
        the line was down. A reader libosdp is trying right now (no revival pending) is left to
        it, and so is one half-way through a revival."""
        now = time.monotonic()
        with self._cond:
            for state in self._states.values():
                pending = state.revive_at is not None and not state.revive_enable
                if state.config.channel is channel and pending:
                    state.revive_at = now
        self._revive_due()

    def _schedule_revival(self, state: _ReaderState) -> None:
        if state.revive_at is not None:
            return  # already reviving; disabling reports the reader offline once more
        state.revive_delay = min(self._revive_max, max(self._revive_after, state.revive_delay * 2))
        state.revive_at = time.monotonic() + state.revive_delay

    def _translate(self, reader_id: str, event: Mapping[str, Any], at: float) -> list[ReaderEvent]:
        kind = event.get("event")
        if kind == libosdp.Event.CardRead:
            read = card_read_from_osdp(reader_id, event, self._formats)
            return [replace(read, stale=True) if self._stale(reader_id, at) else read]
        if kind == libosdp.Event.KeyPress:
            keys = keypad_text(bytes(event.get("data", b"")))
            return [KeypadInput(reader_id, keys, stale=self._stale(reader_id, at))]
        if kind == libosdp.Event.Status:
            return self._status_report(reader_id, event)
        if kind == libosdp.Event.Notification:
            return self._notification(reader_id, event, at)
        return []

    def _stale(self, reader_id: str, at: float) -> bool:
        """Whether a read arriving at ``at`` may have waited in the reader (the module's notes);
        a stale read holds the window open for the next one."""
        with self._cond:
            state = self._states[reader_id]
            if state.settle_until is None or at >= state.settle_until:
                state.settle_until = None
                return False
            state.settle_until = at + self._settle_s
            return True

    def _notification(
        self, reader_id: str, event: Mapping[str, Any], at: float
    ) -> list[ReaderEvent]:
        kind, arg0, arg1 = event.get("type"), event.get("arg0", 0), event.get("arg1", 0)
        with self._cond:
            state = self._states[reader_id]
            before = (state.online, state.secure)
            if kind == libosdp.EventNotification.PeripheralDeviceStatus:
                state.online = bool(arg0)
                if state.online:
                    state.revive_delay = 0.0
                    if not before[0]:
                        state.settle_until = at + self._settle_s
                else:
                    state.offline_notices += 1
                    state.secure = False
                    self._schedule_revival(state)
            elif kind == libosdp.EventNotification.SecureChannelStatus:
                # arg1 set means the session runs on SCBK-D, which is not this reader's key.
                state.secure = bool(arg0) and not arg1
            elif kind == libosdp.EventNotification.Command and not arg1:
                log.warning("reader %s: command %s was not completed", reader_id, arg0)
            after = (state.online, state.secure)
            self._cond.notify_all()
            # libosdp reports the session before the reader comes online; report the pair when the
            # reader's online state changes, or its security changes while it is online.
            first = kind == libosdp.EventNotification.PeripheralDeviceStatus and not state.announced
            if first:
                state.announced = True
            if not first and after[0] == before[0] and not (after[0] and after[1] != before[1]):
                return []
            if after == state.reported:
                state.report_at = None  # back as last reported (a held state that passed)
                return []
            if after == (True, False) and state.reported == (True, True):
                # A session closing at a drop, most likely: hold it (the module's notes).
                if state.report_at is None:
                    state.report_at = time.monotonic() + self._status_settle_s
                return []
            state.report_at = None
            state.reported = after
        return [ReaderStatus(reader_id, *after)]

    def _held_reports_due(self) -> list[str]:
        now = time.monotonic()
        with self._cond:
            return [
                s.config.reader_id
                for s in self._states.values()
                if s.report_at is not None and now >= s.report_at
            ]

    def _held_report(self, reader_id: str) -> list[ReaderEvent]:
        """A held online-insecure state that lasted: report it now, if it still holds."""
        with self._cond:
            state = self._states[reader_id]
            state.report_at = None
            now = (state.online, state.secure)
            if now != (True, False) or state.reported == now:
                return []
            state.reported = now
        return [ReaderStatus(reader_id, *now)]

    def _status_report(self, reader_id: str, event: Mapping[str, Any]) -> list[ReaderEvent]:
        report = bytes(event.get("report", b""))
        kind = event.get("type")
        out: list[ReaderEvent] = []
        with self._cond:
            state = self._states[reader_id]
            if kind in (libosdp.StatusReportType.Local, libosdp.StatusReportType.Remote):
                source = (
                    TamperSource.LOCAL
                    if kind == libosdp.StatusReportType.Local
                    else TamperSource.REMOTE
                )
                # osdp_LSTATR / osdp_RSTATR: byte 0 is tamper, byte 1 (local only) is power.
                if report:
                    tampered = bool(report[0])
                    if state.tampered.get(source, False) != tampered:
                        state.tampered[source] = tampered
                        out.append(TamperChanged(reader_id, tampered, source))
                if source is TamperSource.LOCAL and len(report) > 1:
                    failed = bool(report[1])
                    if failed != state.power_failed:
                        state.power_failed = failed
                        out.append(PowerChanged(reader_id, failed))
        return out


def provision(
    channel: libosdp.Channel,
    address: int,
    new_key: bytes,
    *,
    timeout: float = 15.0,
    log_level: int = libosdp.LogLevel.Warning,
) -> None:
    """Give a reader in install mode its own Secure Channel key.

    This is the only place that talks to a reader with the default key. It opens Secure Channel
    with SCBK-D, libosdp sends the new key (osdp_KEYSET), then reopens Secure Channel with the new
    key; success is that second session. A reader that already holds ``new_key`` succeeds at once.
    A reader holding another key refuses both keys, and libosdp then brings it online without
    Secure Channel: that is reported as a failure, and nothing is sent to it.

    The caller stores ``new_key`` for the reader before calling, so a crash after the reader took
    the key cannot leave a reader whose key nobody knows.
    """
    key = check_reader_key(new_key)
    cond = threading.Condition()
    outcome: list[str] = []

    def on_event(pd_index: int, event: dict[str, Any]) -> int:
        if event.get("event") != libosdp.Event.Notification:
            return 0
        kind, arg0, arg1 = event.get("type"), event.get("arg0", 0), event.get("arg1", 0)
        with cond:
            if kind == libosdp.EventNotification.SecureChannelStatus and arg0 and not arg1:
                outcome.append("ok")
            elif kind == libosdp.EventNotification.PeripheralDeviceStatus and arg0:
                # Online without a keyed session first means both keys were refused.
                outcome.append("refused")
            elif (
                kind == libosdp.EventNotification.Command
                and arg0 == libosdp.Command.Keyset
                and not arg1
            ):
                outcome.append("keyset failed")
            cond.notify_all()
        return 0

    info = libosdp.PDInfo(
        address,
        channel,
        scbk=key,
        name=f"provision-{address}",
        flags=[libosdp.LibFlag.InstallMode, libosdp.LibFlag.EnableNotification],
    )
    cp = libosdp.ControlPanel([info], log_level=log_level, event_handler=on_event)
    cp.start()
    try:
        with cond:
            cond.wait_for(lambda: bool(outcome), timeout)
            result = outcome[0] if outcome else "timeout"
    finally:
        cp.teardown()
        # Drop the events libosdp queued for its own get_event; this panel is gone.
        while cp.get_event(address, timeout=-1) is not None:
            pass
    if result == "ok":
        return
    if result == "refused":
        raise ProvisioningError(
            f"reader {address} refused the default key: it is not in install mode (it may hold "
            "another key, which must be cleared on the reader itself)"
        )
    if result == "keyset failed":
        raise ProvisioningError(f"reader {address} did not accept the new key")
    raise ProvisioningError(f"reader {address} did not answer within {timeout:g} s")
