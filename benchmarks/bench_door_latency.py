"""Door latency: card read -> LED command at an OSDP reader over TCP with Secure Channel.

    python benchmarks/bench_door_latency.py [--reads 200] [--mode both|edge|bare] [--quick]

The reader is a libosdp peripheral device (``SimulatedReader``) behind a TCP listener on
loopback, as an IP-to-RS-485 bridge or an OSDP-over-IP reader is, on Secure Channel with a key of
its own (it refuses plain text and SCBK-D).

* ``edge``: the edge's own path. A ``TcpChannel`` dials the reader; the ``ReaderPanel`` hands
  the card read to an ``AccessController``, which decides from a signed snapshot, writes the
  decision to an on-disk SQLite outbox (WAL, full sync), releases the door and sends the reader
  its LED and buzzer commands.
* ``bare``: libosdp's own ``ControlPanel`` (its stock 20 ms refresh thread) over the same kind of
  TCP link, and a thread that answers every card read with an LED command at once: what libosdp
  gives with no controller at all, for comparison.

Each read is timed from the reader's ``submit_event`` to the LED command arriving in the
reader's command handler (both on this process's ``perf_counter``). Reads are spaced by a random
gap (0.05-0.25 s, as between two people), so they land at any point of the poll cycle.
"""

from __future__ import annotations

import argparse
import os
import random
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import osdp as libosdp
from _common import percentile

from mailwarden.edge.channels import SocketChannel, TcpChannel
from mailwarden.edge.clock import ManualClock
from mailwarden.edge.controller import AccessController
from mailwarden.edge.decisions import DecisionEngine
from mailwarden.edge.doors import DoorConfig, DoorStateMachine, SimulatedIO
from mailwarden.edge.osdp import ReaderConfig, ReaderPanel
from mailwarden.edge.outbox import Outbox
from mailwarden.edge.reader_events import CardRead
from mailwarden.edge.rules import (
    AccessLevel,
    CredentialEntry,
    Door,
    Reader,
    RuleSnapshot,
    Schedule,
    WeeklyWindow,
)
from mailwarden.edge.signing import DocumentKind, sign_document
from mailwarden.edge.simulated_reader import SimulatedReader
from mailwarden.edge.wiegand import WiegandFormat, encode

QUIET = libosdp.LogLevel.Error
START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ADDRESS = 1
SECRET = secrets.token_bytes(32)
KEY_ID = "bench"
FACILITY = 10
HOLDERS = 100
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class StampedReader(SimulatedReader):
    """A simulated reader that notes when each LED command arrives, in its command handler."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.led_at: list[float] = []
        self._led_cond = threading.Condition()

    def _on_command(self, command: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        if command.get("command") == libosdp.Command.LED:
            with self._led_cond:
                self.led_at.append(time.perf_counter())
                self._led_cond.notify_all()
        return super()._on_command(command)

    def wait_led(self, count: int, timeout: float) -> float | None:
        with self._led_cond:
            self._led_cond.wait_for(lambda: len(self.led_at) >= count, timeout)
            return self.led_at[count - 1] if len(self.led_at) >= count else None


class Bridge:
    """A TCP listener on loopback with a simulated reader on each connection it accepts."""

    def __init__(self, key: bytes) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._key = key
        self.reader: StampedReader | None = None
        self._ready = threading.Event()
        self._conn: socket.socket | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        conn, _ = self._listener.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._conn = conn
        self.reader = StampedReader(SocketChannel(conn), ADDRESS, self._key, log_level=QUIET)
        self.reader.start()
        self._ready.set()

    def wait(self, timeout: float) -> StampedReader:
        if not self._ready.wait(timeout) or self.reader is None:
            raise SystemExit("the panel never connected to the reader")
        return self.reader

    def close(self) -> None:
        if self.reader is not None:
            self.reader.stop()
        if self._conn is not None:
            self._conn.close()
        self._listener.close()


def rules_document() -> bytes:
    snapshot = RuleSnapshot(
        version=1,
        site_id="bench",
        timezone="UTC",
        issued_at=START,
        doors=(Door(id="door"),),
        readers=(Reader(id="door-in", door_id="door"),),
        schedules=(
            Schedule(id="always", windows=(WeeklyWindow(days=DAYS, start="00:00", end="24:00"),)),
        ),
        levels=(AccessLevel(id="staff", doors=("door",), schedule_id="always"),),
        credentials=tuple(
            CredentialEntry(
                id=f"c{n}",
                holder_id=f"h{n}",
                format=WiegandFormat.H10301,
                facility=FACILITY,
                card=n,
                levels=("staff",),
            )
            for n in range(1, HOLDERS + 1)
        ),
    )
    return sign_document(DocumentKind.SNAPSHOT, snapshot, SECRET, KEY_ID)


def present_cards(
    reader: StampedReader,
    reads: int,
    between: Callable[[], None],
    starts: list[float] | None = None,
) -> list[float]:
    rng = random.Random(11)
    samples = []
    for n in range(reads):
        # Half known cards (green), half unknown (red): both answers take the same path.
        number = 1 + n % HOLDERS if n % 2 == 0 else 50_000 + n
        seen = len(reader.led_at)
        start = time.perf_counter()
        if starts is not None:
            starts.append(start)
        if not reader.present_card(encode(WiegandFormat.H10301, FACILITY, number)):
            raise SystemExit(f"read {n}: the reader refused the card event")
        arrived = reader.wait_led(seen + 1, 10)
        if arrived is None:
            raise SystemExit(f"read {n}: no LED command within 10 s")
        samples.append(arrived - start)
        between()
        time.sleep(rng.uniform(0.05, 0.25))
    return samples


def bench_edge(reads: int) -> list[float]:
    key = secrets.token_bytes(16)
    bridge = Bridge(key)
    channel = TcpChannel("127.0.0.1", bridge.port)
    clock = ManualClock(START)
    engine = DecisionEngine({KEY_ID: SECRET})
    engine.load_snapshot(rules_document())
    controller: AccessController | None = None
    # When each card read reached the controller, and when its answer was queued for the reader.
    arrived: list[float] = []
    answered: list[float] = []

    def on_event(event: Any) -> None:
        if controller is None:
            return
        if isinstance(event, CardRead):
            arrived.append(time.perf_counter())
        controller.handle(event)
        if isinstance(event, CardRead):
            answered.append(time.perf_counter())

    panel = ReaderPanel(
        [ReaderConfig("door-in", ADDRESS, channel, key)],
        on_event,
        clock=clock.monotonic,
        log_level=QUIET,
    )
    door = DoorStateMachine(DoorConfig("door"), SimulatedIO(), clock.monotonic)
    with tempfile.TemporaryDirectory() as tmp, Outbox(Path(tmp) / "outbox.sqlite3") as outbox:
        controller = AccessController(
            engine, outbox, panel, {"door": door}, clock=clock.now, monotonic_clock=clock.monotonic
        )
        try:
            with panel:
                reader = bridge.wait(20)
                if not panel.wait_secure("door-in", 20):
                    raise SystemExit("the reader did not come up on Secure Channel")
                clock.advance(5)  # past the settling window: reads are people now

                def between() -> None:
                    clock.advance(30)  # the strike times out between two people
                    controller.tick()

                starts: list[float] = []
                samples = present_cards(reader, reads, between, starts)
                to_panel = [a - s for a, s in zip(arrived, starts, strict=True)]
                deciding = [b - a for a, b in zip(arrived, answered, strict=True)]
                print(
                    f"  of which card read -> controller: {summary(to_panel)}; "
                    f"decide, record, queue the answer: {summary(deciding)}",
                    flush=True,
                )
                return samples
        finally:
            channel.close()
            bridge.close()


def bench_bare(reads: int) -> list[float]:
    key = secrets.token_bytes(16)
    bridge = Bridge(key)
    sock = socket.create_connection(("127.0.0.1", bridge.port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    channel = SocketChannel(sock)
    info = libosdp.PDInfo(
        ADDRESS,
        channel,
        scbk=key,
        name="bare",
        flags=[libosdp.LibFlag.EnforceSecure],
    )
    cp = libosdp.ControlPanel([info], log_level=QUIET)
    stopping = threading.Event()
    led = {
        "command": libosdp.Command.LED,
        "reader": 0,
        "led_number": 0,
        "temporary": True,
        "control_code": 2,
        "on_color": libosdp.CommandLEDColor.Green,
        "off_color": libosdp.CommandLEDColor.Black,
        "on_count": 30,
        "off_count": 0,
        "timer_count": 30,
    }

    def answer() -> None:
        # libosdp's event callback runs under the lock that submit_command takes, so the
        # answer is given from a thread of its own, as any application must.
        while not stopping.is_set():
            event = cp.get_event(ADDRESS, timeout=0.5)
            if event is not None and event.get("event") == libosdp.Event.CardRead:
                cp.submit_command(ADDRESS, led)

    cp.start()
    answering = threading.Thread(target=answer, daemon=True)
    answering.start()
    try:
        reader = bridge.wait(20)
        deadline = time.monotonic() + 20
        while not (cp.is_online(ADDRESS) and cp.is_sc_active(ADDRESS)):
            if time.monotonic() > deadline:
                raise SystemExit("the reader did not come up on Secure Channel")
            time.sleep(0.05)
        return present_cards(reader, reads, lambda: None)
    finally:
        stopping.set()
        answering.join()
        cp.teardown()
        channel.close()
        bridge.close()


def summary(samples: list[float]) -> str:
    ms = [s * 1000 for s in samples]
    return f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, max {max(ms):.1f} ms"


def report(label: str, samples: list[float]) -> None:
    print(f"{label}: {len(samples)} reads: {summary(samples)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200)
    parser.add_argument("--mode", choices=("both", "edge", "bare"), default="both")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 20 reads")
    args = parser.parse_args()
    if args.quick:
        args.reads = 20
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"Python {sys.version.split()[0]}, libosdp {version('libosdp')}, "
        f"{os.cpu_count()} CPUs, load average {load}",
        flush=True,
    )
    print("card read -> LED command at the reader, TCP on loopback, Secure Channel", flush=True)
    if args.mode in ("both", "edge"):
        report("edge (panel, decision, outbox, door)", bench_edge(args.reads))
    if args.mode in ("both", "bare"):
        report("bare libosdp ControlPanel", bench_bare(args.reads))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average after: {load}")


if __name__ == "__main__":
    main()
