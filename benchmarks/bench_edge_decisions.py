"""Edge figures: decision latency with 100,000 credentials, and OSDP card-read to LED latency.

    python benchmarks/bench_edge_decisions.py [--credentials 100000] [--decisions 20000]
                                              [--reads 50] [--pin-iterations 100000]

Decisions: a signed snapshot with the given number of cards (H10301, H10304 and Corporate 1000),
20 doors and 40 levels is loaded into the decision engine; then cards are presented at random
readers at random times over a week (some unknown, some outside their schedule), each call timed
on its own. Target: p99 under 1 ms at 100,000 credentials.

OSDP: a libosdp control panel and a simulated reader (libosdp peripheral device) joined by a
socketpair, on Secure Channel with a per-reader key. The reader presents a card; the controller
decodes it, decides from the same 100,000-credential engine, writes the decision to a SQLite
outbox, releases the door, and sends the LED command. Timed from the reader's submit to the LED
command arriving at the reader, and to the card read reaching the controller.
"""

from __future__ import annotations

import argparse
import random
import secrets
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import osdp as libosdp
from _common import percentile

from mailwarden.edge.channels import SocketChannel
from mailwarden.edge.clock import ManualClock
from mailwarden.edge.controller import AccessController
from mailwarden.edge.decisions import DecisionEngine, Pin
from mailwarden.edge.doors import DoorConfig, DoorStateMachine, SimulatedIO
from mailwarden.edge.osdp import ReaderConfig, ReaderPanel
from mailwarden.edge.outbox import Outbox
from mailwarden.edge.reader_events import CardRead, ReaderEvent
from mailwarden.edge.rules import (
    AccessLevel,
    AntiPassbackArea,
    AntiPassbackMode,
    CredentialEntry,
    Door,
    Reader,
    RuleDelta,
    RuleEntries,
    RuleSnapshot,
    Schedule,
    WeeklyWindow,
    pin_hash,
)
from mailwarden.edge.signing import DocumentKind, sign_document
from mailwarden.edge.simulated_reader import SimulatedReader
from mailwarden.edge.wiegand import Credential, WiegandFormat, decode, encode

SECRET = secrets.token_bytes(32)
KEYS = {"bench": SECRET}
SALT = "a1" * 16
DOORS = 20
LEVELS = 40
FORMATS = (WiegandFormat.H10301, WiegandFormat.H10304, WiegandFormat.CORPORATE_1000_35)
MONDAY = datetime(2026, 6, 1, 7, 0, tzinfo=UTC)


def build_snapshot(count: int, pin_iterations: int) -> RuleSnapshot:
    days = ("mon", "tue", "wed", "thu", "fri")
    schedules = (
        Schedule(id="office", windows=(WeeklyWindow(days=days, start="07:00", end="19:00"),)),
        Schedule(
            id="always",
            windows=(WeeklyWindow(days=(*days, "sat", "sun"), start="00:00", end="24:00"),),
        ),
    )
    doors = tuple(Door(id=f"door-{d}") for d in range(DOORS))
    readers = tuple(
        Reader(id=f"door-{d}-{side}", door_id=f"door-{d}", **areas)
        for d in range(DOORS)
        for side, areas in (
            ("in", {"area_to": f"zone-{d % 4}"}),
            ("out", {"area_from": f"zone-{d % 4}"}),
        )
    )
    levels = tuple(
        AccessLevel(
            id=f"level-{n}",
            doors=tuple(f"door-{(n + k) % DOORS}" for k in range(5)),
            schedule_id="always" if n % 4 == 0 else "office",
        )
        for n in range(LEVELS)
    )
    credentials = []
    for i in range(count):
        fmt = FORMATS[i % 3]
        facility, card = divmod(i // 3, 65536) if fmt is WiegandFormat.H10301 else (7, i)
        credentials.append(
            CredentialEntry(
                id=f"c{i}",
                holder_id=f"h{i}",
                format=fmt,
                facility=facility,
                card=card,
                levels=(f"level-{i % LEVELS}", f"level-{(i * 7) % LEVELS}"),
            )
        )
    credentials.append(
        CredentialEntry(
            id="pin-0",
            holder_id="pin-holder",
            pin_hash=pin_hash("2468", SALT, pin_iterations),
            levels=("level-0",),
        )
    )
    return RuleSnapshot(
        version=1,
        site_id="bench",
        timezone="Europe/London",
        issued_at=MONDAY,
        pin_salt=SALT,
        pin_iterations=pin_iterations,
        schedules=schedules,
        levels=levels,
        doors=doors,
        readers=readers,
        areas=tuple(AntiPassbackArea(id=f"zone-{z}", mode=AntiPassbackMode.SOFT) for z in range(4)),
        credentials=tuple(credentials),
    )


def card_of(entry: CredentialEntry) -> Credential:
    assert entry.format is not None and entry.card is not None
    frame = encode(entry.format, entry.facility, entry.card)
    return decode(frame.value, frame.length)


def timed(label: str, action):
    start = time.perf_counter()
    result = action()
    print(f"  {label}: {time.perf_counter() - start:.2f} s", flush=True)
    return result


def bench_decisions(engine: DecisionEngine, snapshot: RuleSnapshot, count: int) -> None:
    rng = random.Random(7)
    entries = snapshot.credentials[:-1]
    readers = [r.id for r in snapshot.readers]
    unknown = decode(encode(WiegandFormat.H10301, 250, 65000).value, 26)
    cases = []
    for n in range(count):
        presented = unknown if n % 20 == 0 else card_of(rng.choice(entries))
        at = MONDAY + timedelta(seconds=rng.randrange(7 * 86400))
        cases.append((rng.choice(readers), presented, at))
    for reader, presented, at in cases[:1000]:  # warm caches (zoneinfo, dict sizes)
        engine.decide(reader, presented, at)
    engine.forgive_anti_passback()
    samples_us = []
    outcomes: dict[str, int] = {}
    for reader, presented, at in cases:
        start = time.perf_counter_ns()
        decision = engine.decide(reader, presented, at)
        samples_us.append((time.perf_counter_ns() - start) / 1000)
        outcomes[decision.reason.value] = outcomes.get(decision.reason.value, 0) + 1
    print(
        f"decide() over {len(snapshot.credentials):,} credentials, {count:,} calls: "
        f"p50 {percentile(samples_us, 50):.1f} us, p99 {percentile(samples_us, 99):.1f} us, "
        f"max {max(samples_us):.1f} us"
    )
    mix = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items(), key=lambda kv: -kv[1]))
    print(f"  outcomes: {mix}")
    pin_us = []
    for _ in range(10):
        start = time.perf_counter_ns()
        engine.decide("door-0-in", Pin("2468"), MONDAY + timedelta(hours=3))
        pin_us.append((time.perf_counter_ns() - start) / 1000)
    print(
        f"decide() for a PIN (PBKDF2, {snapshot.pin_iterations:,} iterations): "
        f"p50 {percentile(pin_us, 50) / 1000:.1f} ms"
    )


def bench_osdp(engine: DecisionEngine, snapshot: RuleSnapshot, reads: int) -> None:
    reader_end, panel_end = socket.socketpair()
    key = secrets.token_bytes(16)
    quiet = libosdp.LogLevel.Error
    arrived: dict[int, float] = {}
    arrived_cond = threading.Condition()
    controller: AccessController | None = None

    def on_event(event: ReaderEvent) -> None:
        if isinstance(event, CardRead) and event.credential is not None:
            with arrived_cond:
                arrived[event.credential.card] = time.perf_counter()
        if controller is not None:
            controller.handle(event)

    reader = SimulatedReader(SocketChannel(reader_end), 1, key, log_level=quiet)
    panel = ReaderPanel(
        [ReaderConfig("door-0-in", 1, SocketChannel(panel_end), key)], on_event, log_level=quiet
    )
    clock = ManualClock(MONDAY + timedelta(hours=4))  # Monday 12:00 BST, inside office hours
    door = DoorStateMachine(DoorConfig("door-0"), SimulatedIO(), clock.monotonic)
    with tempfile.TemporaryDirectory() as tmp, Outbox(Path(tmp) / "outbox.sqlite3") as outbox:
        controller = AccessController(
            engine,
            outbox,
            panel,
            {"door-0": door},
            clock=clock.now,
            monotonic_clock=clock.monotonic,
        )
        with reader, panel:
            if not panel.wait_secure("door-0-in", 20):
                raise SystemExit("the simulated reader did not come up on Secure Channel")
            rules = engine.rules
            assert rules is not None
            allowed = [
                e
                for e in snapshot.credentials
                if e.enabled
                and e.card_key is not None
                and any("door-0" in rules.level_doors[lv] for lv in e.levels)
            ]
            rng = random.Random(11)
            to_led, to_event = [], []
            granted = 0
            for n in range(reads):
                entry = allowed[n] if n % 2 == 0 else None
                if entry is not None and entry.format and entry.card is not None:
                    frame, number = encode(entry.format, entry.facility, entry.card), entry.card
                else:
                    frame, number = encode(WiegandFormat.H10301, 250, 60000 + n), 60000 + n
                mark = reader.mark()
                start = time.perf_counter()
                reader.present_card(frame)
                led = reader.wait_for_led(10, after=mark)
                done = time.perf_counter()
                if led is None:
                    raise SystemExit(f"read {n}: no LED command within 10 s")
                granted += led["on_color"] == libosdp.CommandLEDColor.Green
                to_led.append(done - start)
                with arrived_cond:
                    to_event.append(arrived[number] - start)
                # Let the feedback finish (the buzzer command follows the LED) and leave a
                # random gap, as between two people, so reads land at any point of the poll cycle.
                reader.wait_for(lambda c: c["command"] == libosdp.Command.Buzzer, 10, after=mark)
                time.sleep(rng.uniform(0.05, 0.25))
                clock.advance(30)
                engine.forgive_anti_passback()
            pending = outbox.pending_count()
    ms = [s * 1000 for s in to_led]
    ev = [s * 1000 for s in to_event]
    print(
        f"OSDP card read -> LED at the reader, Secure Channel over loopback, {reads} reads "
        f"({granted} green): p50 {percentile(ms, 50):.0f} ms, p95 {percentile(ms, 95):.0f} ms, "
        f"max {max(ms):.0f} ms"
    )
    print(
        f"  of which card read -> controller: p50 {percentile(ev, 50):.0f} ms, "
        f"p95 {percentile(ev, 95):.0f} ms; outbox rows written: {pending}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=100_000)
    parser.add_argument("--decisions", type=int, default=20_000)
    parser.add_argument("--reads", type=int, default=50)
    parser.add_argument("--pin-iterations", type=int, default=100_000)
    args = parser.parse_args()

    print(f"Python {sys.version.split()[0]}, libosdp {version('libosdp')}", flush=True)
    snapshot = timed(
        f"build {args.credentials:,} credentials",
        lambda: build_snapshot(args.credentials, args.pin_iterations),
    )
    document = timed(
        "sign snapshot", lambda: sign_document(DocumentKind.SNAPSHOT, snapshot, SECRET, "bench")
    )
    print(f"  signed snapshot: {len(document) / 1e6:.1f} MB")
    engine = DecisionEngine(KEYS)
    timed("verify, validate and index the snapshot", lambda: engine.load_snapshot(document))
    delta = RuleDelta(
        base_version=1,
        version=2,
        issued_at=MONDAY,
        changed=RuleEntries(
            credentials=tuple(
                e.model_copy(update={"enabled": False}) for e in snapshot.credentials[:1000]
            )
        ),
    )
    delta_doc = sign_document(DocumentKind.DELTA, delta, SECRET, "bench")
    timed("apply a signed delta changing 1,000 credentials", lambda: engine.apply_delta(delta_doc))
    rules = engine.rules
    assert rules is not None
    bench_decisions(engine, rules.snapshot, args.decisions)
    if args.reads:
        bench_osdp(engine, rules.snapshot, args.reads)


if __name__ == "__main__":
    main()
