"""The ``mailwarden edge`` process: readers, decisions and doors here; rules and events from afar.

Threads, each of which may fail without taking the others down:

* the OSDP panel (libosdp's refresh thread and the panel's dispatcher), which hands reader events
  to the controller: decide, record in the outbox, open the door, answer the reader;
* ``edge-tick``: advances the door state machines every ``tick_interval_s``;
* ``edge-sync``: polls the server for rules every ``poll_interval_s`` and applies what checks out
  (a lockdown takes effect at the door straight after the poll that brought it);
* ``edge-deliver``: sends the outbox, backing off while the server is away.

Decisions never wait on the network. The rule documents in force are kept in the data folder, so
after a restart the controller decides from the last good rules even if the server is still down;
with no rules at all, the doors stay in their failure state and every card is refused.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import ssl
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
import osdp as libosdp

from .channels import open_channel
from .clock import MonotonicClock, WallClock, monotonic, utc_now
from .config import DoorSettings, EdgeConfig, EdgeSecrets
from .controller import AccessController
from .decisions import DecisionEngine
from .doors import DoorConfig, DoorStateMachine, IOBackend, SimulatedIO
from .osdp import ReaderConfig, ReaderPanel
from .outbox import Backoff, Outbox
from .reader_events import CardRead, ReaderEvent, ReaderStatus, TamperChanged
from .sync import (
    EventDelivery,
    Journal,
    RuleStore,
    RuleSync,
    ServerClient,
    SkewMonitor,
    SyncStatus,
    restore_rules,
)

log = logging.getLogger(__name__)

ChannelFactory = Callable[[str], libosdp.Channel]
IOFactory = Callable[[str, DoorSettings], IOBackend]

OUTBOX_FILE = "outbox.sqlite3"
RULES_FILE = "rules.json"
JOURNAL_FILE = "journal.jsonl"
_KEEP_DELIVERED = timedelta(days=7)
_PURGE_EVERY_S = 3600.0


def simulated_io(door_id: str, settings: DoorSettings) -> IOBackend:
    if settings.io != "simulated":
        raise ValueError(f"door {door_id}: unknown I/O backend {settings.io!r}")
    return SimulatedIO()


class _Worker:
    """A thread that runs ``step`` and then sleeps for the seconds it returned, or until woken."""

    def __init__(self, name: str, step: Callable[[], float], stopping: threading.Event) -> None:
        self.name = name
        self._step = step
        self._stopping = stopping
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            # Cleared before the step, so a wake-up that arrives during it is not lost.
            self.wake.clear()
            try:
                delay = self._step()
            except Exception:
                log.exception("%s: step failed; carrying on", self.name)
                delay = 1.0
            if delay > 0:
                self.wake.wait(delay)


class EdgeProcess:
    """An edge controller built from its config; ``start``/``stop``, or ``run`` until SIGTERM."""

    def __init__(
        self,
        config: EdgeConfig,
        secrets: EdgeSecrets,
        *,
        channel_factory: ChannelFactory = open_channel,
        io_factory: IOFactory = simulated_io,
        transport: httpx.BaseTransport | None = None,
        clock: WallClock = utc_now,
        monotonic_clock: MonotonicClock = monotonic,
        tick_interval_s: float = 0.05,
        osdp_log_level: int = libosdp.LogLevel.Warning,
    ) -> None:
        self.config = config
        self._clock = clock
        self._monotonic = monotonic_clock
        self._tick_interval = tick_interval_s
        self._poll_interval = config.server.poll_interval_s
        data = Path(config.data_dir)
        data.mkdir(parents=True, exist_ok=True, mode=0o700)

        self.journal = Journal(data / JOURNAL_FILE, clock=clock)
        backoff = Backoff(base_s=config.server.retry_base_s, cap_s=config.server.retry_max_s)
        self.outbox = Outbox(data / OUTBOX_FILE, clock=clock, backoff=backoff)
        self.engine = DecisionEngine({config.key_id: secrets.sync_secret})
        self.store = RuleStore(data / RULES_FILE)
        restore_rules(self.engine, self.store, self.journal)

        self.ios: dict[str, IOBackend] = {}
        self.doors: dict[str, DoorStateMachine] = {}
        for door_id in config.door_ids:
            settings = config.door_settings(door_id)
            io = io_factory(door_id, settings)
            self.ios[door_id] = io
            door = DoorConfig(
                door_id,
                strike_s=settings.strike_s,
                rex_s=settings.rex_s,
                held_open_s=settings.held_open_s,
                failure_mode=settings.failure_mode,
            )
            self.doors[door_id] = DoorStateMachine(door, io, monotonic_clock)

        # Readers named with the same channel share one bus: libosdp serialises PDs that share a
        # channel object, as it must on RS-485.
        self.channels: dict[str, libosdp.Channel] = {}
        readers = []
        for reader in config.readers:
            channel = self.channels.get(reader.channel)
            if channel is None:
                channel = self.channels[reader.channel] = channel_factory(reader.channel)
            readers.append(
                ReaderConfig(reader.id, reader.address, channel, secrets.reader_keys[reader.id])
            )
        self.panel = ReaderPanel(
            readers,
            self._on_reader_event,
            clock=monotonic_clock,
            log_level=osdp_log_level,
        )
        self.controller = AccessController(
            self.engine,
            self.outbox,
            self.panel,
            self.doors,
            clock=clock,
            monotonic_clock=monotonic_clock,
        )

        self.skew = SkewMonitor(self.journal, self.outbox, clock=clock)
        server = config.server
        verify: bool | ssl.SSLContext = server.verify_tls
        if server.ca_file is not None:
            verify = ssl.create_default_context(cafile=str(server.ca_file))
        self.client = ServerClient(
            server.url,
            secrets.token,
            timeout=server.timeout_s,
            verify=verify,
            transport=transport,
            clock=clock,
            skew_threshold=timedelta(seconds=server.clock_skew_threshold_s),
            on_skew=self.skew,
        )
        self.sync = RuleSync(
            self.client, self.engine, self.store, self.journal, self.outbox, clock=clock
        )
        self.delivery = EventDelivery(
            self.client, self.outbox, self.journal, batch=server.batch_size
        )

        self._stopping = threading.Event()
        self._workers = [
            _Worker("edge-tick", self._tick_step, self._stopping),
            _Worker("edge-sync", self._sync_step, self._stopping),
            _Worker("edge-deliver", self._deliver_step, self._stopping),
        ]
        self._started = False
        self._stopped = False
        self._purged_at = float("-inf")

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> None:
        if self._started:
            raise RuntimeError("an edge process starts once")
        self._started = True
        self.controller.tick()  # put the doors in their state before anyone badges
        self.panel.start()
        for worker in self._workers:
            worker.thread.start()
        self.journal.record(
            "started",
            "edge controller started",
            version=self.engine.version,
            waiting_events=self.outbox.pending_count(),
        )

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._stopping.set()
        for worker in self._workers:
            worker.wake.set()
        if self._started:
            for worker in self._workers:
                worker.thread.join(timeout=30)
            self.panel.stop()
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    close()
        self.client.close()
        self.journal.record(
            "stopped", "edge controller stopped", waiting_events=self.outbox.pending_count()
        )
        self.outbox.close()

    def __enter__(self) -> EdgeProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run(self) -> int:
        """Start, run until SIGTERM or SIGINT, stop cleanly; the exit code."""
        stop = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("signal %s: stopping", signal.Signals(signum).name)
            stop.set()

        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            # A timed wait, so the main thread gets to run the signal handler promptly.
            while not stop.wait(1.0):
                pass
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    # -- nudges (an operator's "sync now", and tests) ----------------------------------------

    def sync_now(self) -> None:
        self._workers[1].wake.set()

    def deliver_now(self) -> None:
        self._workers[2].wake.set()

    def status(self) -> dict[str, Any]:
        return {
            "rules_version": self.engine.version,
            "waiting_events": self.outbox.pending_count(),
            "readers": {
                status.reader_id: {"online": status.online, "secure": status.secure}
                for status in (self.panel.status(r.id) for r in self.config.readers)
            },
            "doors": {d: {"locked": door.locked} for d, door in self.doors.items()},
        }

    # -- the threads --------------------------------------------------------------------------

    def _on_reader_event(self, event: ReaderEvent) -> None:
        try:
            self._journal_reader_event(event)
            for decision in self.controller.handle(event):
                if not decision.granted and not decision.pending:
                    self.journal.record(
                        "access_denied",
                        decision.reason.value,
                        reader_id=decision.reader_id,
                        door_id=decision.door_id,
                        holder_id=decision.holder_id,
                        credential_id=decision.credential_id,
                    )
        except Exception as exc:
            log.exception("reader event %r failed", event)
            self.journal.record("reader_event_failed", f"{type(exc).__name__}: {exc}")
        finally:
            self.deliver_now()

    def _journal_reader_event(self, event: ReaderEvent) -> None:
        if isinstance(event, CardRead) and event.credential is None:
            error = event.error
            self.journal.record(
                "card_rejected",
                error.reason.value if error else "unknown",
                reader_id=event.reader_id,
                bit_length=event.length,
                data_hex=event.data.hex(),
                message=str(error) if error else "no credential and no error",
            )
        elif isinstance(event, ReaderStatus):
            state = (
                "online on its own key"
                if event.online and event.secure
                else ("online WITHOUT its Secure Channel key" if event.online else "offline")
            )
            self.journal.record(
                "reader_status",
                state,
                reader_id=event.reader_id,
                online=event.online,
                secure=event.secure,
            )
        elif isinstance(event, TamperChanged):
            self.journal.record(
                "reader_tamper",
                "tampered" if event.tampered else "tamper cleared",
                reader_id=event.reader_id,
                source=event.source.value,
            )

    def _tick_step(self) -> float:
        self.controller.tick()
        return self._tick_interval

    def _sync_step(self) -> float:
        outcome = self.sync.poll()
        if outcome.status is SyncStatus.UPDATED:
            # Apply a new door mode (a lockdown above all) now rather than at the next tick.
            self.controller.tick()
            self.deliver_now()
        return self._poll_interval

    def _deliver_step(self) -> float:
        result = self.delivery.deliver_once()
        now_m = self._monotonic()
        if now_m - self._purged_at >= _PURGE_EVERY_S:
            self._purged_at = now_m
            self.outbox.purge_delivered(_KEEP_DELIVERED)
        if result.attempted >= self.delivery.batch and not result.failed:
            return 0.0  # a backlog: send the next batch straight away
        next_at = self.outbox.next_attempt_at()
        if next_at is None:
            return self._poll_interval
        wait = (next_at - self._clock()).total_seconds()
        return min(self._poll_interval, max(0.01, wait))
