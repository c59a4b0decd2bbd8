"""The demo's access control: what seeding makes, the traffic player, and a short run of
``mailwarden demo`` whose simulated edge controller delivers events to the demo server."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from mailwarden.access import demo, queries
from mailwarden.access.models import (
    AccessController,
    AccessEvent,
    Cardholder,
    Credential,
    Door,
    Reader,
)
from mailwarden.core import ledger
from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.demo import seed
from mailwarden.core.tokens import TOKEN_PREFIX
from mailwarden.edge.config import load_config, load_secrets
from mailwarden.edge.traffic import Cardholder as TrafficHolder
from mailwarden.edge.traffic import ReaderSpot, TrafficGenerator
from mailwarden.edge.wiegand import WiegandFormat
from tests.conftest import port_open

WEDNESDAY_NOON = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_seeding_makes_doors_readers_cards_secrets_and_history(settings, tmp_path):
    settings.DATA_DIR = tmp_path
    with use_clock(FrozenClock(WEDNESDAY_NOON)):
        result = seed(items=12, recipients=16, seed=5, skip={"screening", "training", "risk"})
    assert "Access control: 3 doors, 4 readers" in result.summary()
    doors = {d.code: d for d in Door.objects.select_related("location")}
    assert set(doors) == {"mailroom-entrance", "screening-room", "quarantine-room"}
    assert doors["quarantine-room"].two_person_window_s == demo.TWO_PERSON_WINDOW_S
    assert doors["quarantine-room"].location.kind == "quarantine"
    readers = {r.code: (r.door.code, r.direction) for r in Reader.objects.select_related("door")}
    assert readers == {
        "mailroom-in": ("mailroom-entrance", "in"),
        "screening-in": ("screening-room", "in"),
        "quarantine-in": ("quarantine-room", "in"),
        "quarantine-out": ("quarantine-room", "out"),
    }
    cards = Credential.objects.filter(revoked_at__isnull=True, kind="card")
    assert cards.count() >= 12 and set(cards.values_list("format", "facility")) == {("H10301", 42)}
    assert Credential.objects.filter(revoked_at__isnull=False).count() == 1
    # The demo staff badge in as themselves.
    assert set(
        Cardholder.objects.filter(user__isnull=False).values_list("user__username", flat=True)
    ) == set(demo.STAFF_LEVELS)
    assert Cardholder.objects.filter(recipient__isnull=False).exists()

    # The controller's secrets are where the demo controller reads them, for its owner only.
    where = tmp_path / demo.FOLDER
    for name in (demo.TOKEN_FILE, demo.SECRET_FILE, "quarantine-in.key"):
        assert stat.S_IMODE((where / name).stat().st_mode) == 0o600, name
    config = load_config(where / demo.CONFIG_FILE)
    secrets = load_secrets(config)
    controller = AccessController.objects.get(name=config.name)
    assert bytes.fromhex(controller.sync_secret) == secrets.sync_secret
    assert secrets.token.startswith(f"{TOKEN_PREFIX}{controller.token_prefix}_")
    assert [r.id for r in config.readers] == list(readers)

    # Two days of badge history went through the ingestion service, ledger and all.
    history = AccessEvent.objects.filter(controller=controller)
    assert history.filter(type="access.decision", granted=True).count() > 20
    assert history.filter(granted=False).exists()
    assert queries.who_entered(since=WEDNESDAY_NOON - timedelta(days=2))
    assert ledger.verify().ok

    again = demo.seed_access(Door.objects.first().site, [], 5)
    assert not again.created


def holders(n: int) -> list[TrafficHolder]:
    return [TrafficHolder(f"H{i}", WiegandFormat.H10301, 42, 1000 + i, ("door",)) for i in range(n)]


def test_demo_traffic_plays_fast_and_skips_the_quiet_hours():
    generator = TrafficGenerator(
        holders(6),
        [ReaderSpot("door-in", "door", "in"), ReaderSpot("door-out", "door", "out")],
        timezone="Europe/London",
        seed=1,
        unknown_cards_per_day=0,
        after_hours_per_day=0,
        lunch_out=0.0,
    )
    day = date(2026, 3, 4)  # a Wednesday
    expected = generator.day(day)
    # People arrive around 08:30 and leave around 17:15: most of the day nothing happens.
    assert expected[-1].at - expected[0].at > timedelta(hours=7)
    shown: list[tuple[float, Any]] = []
    clock = {"now": 0.0}

    def present(presentation: Any) -> bool:
        shown.append((clock["now"], presentation))
        return True

    traffic = demo.DemoTraffic(generator, present, speed=60.0, max_gap_s=5.0, today=day)
    for _ in range(400):
        traffic.step(clock["now"])
        clock["now"] += 0.5
    played = [p for _, p in shown]
    assert played[: len(expected)] == expected
    assert traffic.presented == len(shown)
    # The whole working day went by within 200 s of real time (60x alone would take 9 min):
    # each quiet stretch was cut to 5 s.
    times = [t for t, _ in shown[: len(expected)]]
    assert times[-1] < 200
    assert max(b - a for a, b in pairwise(times)) <= 5.5


SERVER_START_S = 180  # seeding the demo (X-ray scans included) comes before it listens


def wait_until(predicate: Callable[[], Any], what: str, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def live_events(database: Path, after: str) -> list[tuple[str, str]]:
    if not database.exists():
        return []
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
        return conn.execute(
            "SELECT type, reason FROM access_accessevent WHERE received_at > ? ORDER BY id",
            (after,),
        ).fetchall()


def alarm_kinds(database: Path) -> list[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute(
            "SELECT kind FROM access_accessalarm WHERE kind IN (?, ?) ORDER BY id",
            ("controller_offline", "reader_offline"),
        ).fetchall()
    return [kind for (kind,) in rows]


def test_the_demo_runs_a_door_controller_that_delivers_events_and_stops_on_ctrl_c(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MW_", "DJANGO_"))}
    env.update(MW_DATA_DIR=str(tmp_path), PYTHONUNBUFFERED="1")
    log = (tmp_path / "demo.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mailwarden.cli",
            "demo",
            "--port",
            str(port),
            "--items",
            "8",
            "--recipients",
            "14",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        wait_until(
            lambda: port_open("127.0.0.1", port) or proc.poll() is not None,
            "the demo to listen",
            SERVER_START_S,
        )
        assert proc.poll() is None, (tmp_path / "demo.log").read_text()
        # Events received from now on come from the live controller, not the seeded history.
        started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
        database = tmp_path / "mailwarden.sqlite3"

        def delivered() -> bool:
            rows = live_events(database, started)
            kinds = {t for t, _ in rows}
            return ("reader.status", "online") in rows and "access.decision" in kinds

        wait_until(delivered, "reader and badge events from the demo controller", 90)
        # The controller's seeded last sync is hours old, and the server's watch has run since
        # it started: no stale "no sync for 7 hours" alarm, and no reader dropped off.
        assert alarm_kinds(database) == []
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    output = (tmp_path / "demo.log").read_text()
    assert code == 0, output[-3000:]
    assert "Traceback" not in output and "simulated door controller stopped" not in output
    assert re.search(r"Doors: +a simulated edge controller", output)
    journal = [
        json.loads(line)
        for line in (tmp_path / demo.FOLDER / "data" / "journal.jsonl").read_text().splitlines()
    ]
    # It stopped as a controller should: on purpose, with its outbox written down.
    assert journal[-1]["kind"] == "stopped"


def test_a_demo_controller_that_cannot_start_says_so_once_and_leaves_the_server_alone(tmp_path):
    lines: list[str] = []
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        # No demo-edge folder: a data folder seeded before access control existed.
        edge = demo.DemoEdge(
            tmp_path / demo.FOLDER, f"http://127.0.0.1:{port}", report=lines.append
        )
        edge.start()
        edge.stop(timeout=30)
    assert len(lines) == 1
    assert lines[0].startswith("mailwarden demo: the simulated door controller stopped")
    assert "no demo controller in" in lines[0] and "console keeps running" in lines[0]
    assert edge.failed and not edge.running.is_set()


def test_a_demo_stopped_before_the_server_listens_reports_nothing(tmp_path):
    lines: list[str] = []
    edge = demo.DemoEdge(tmp_path, f"http://127.0.0.1:{free_port()}", report=lines.append)
    edge.start()
    edge.stop(timeout=30)
    assert lines == [] and edge.failed is None


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000"),
        ("0.0.0.0", "http://127.0.0.1:8000"),
        ("::1", "http://[::1]:8000"),
        ("mail.example.org", "http://mail.example.org:8000"),
    ],
)
def test_the_demo_controller_finds_the_server_where_it_listens(host, url):
    assert demo.local_url(host, 8000) == url
