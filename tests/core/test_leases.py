"""One of several server processes runs the background work, and another takes over if it dies."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from mailwarden.core import leases
from mailwarden.core.models import Lease
from mailwarden.core.runner import BackgroundRunner, LeasedCycle
from tests.conftest import port_open
from tests.test_demo_serve import free_port

TTL = timedelta(seconds=30)


@pytest.mark.django_db
def test_the_first_process_takes_the_lease_and_the_others_wait(frozen_clock):
    now = frozen_clock()
    assert leases.acquire("work", "a", now, TTL)
    assert not leases.acquire("work", "b", now, TTL)
    # The holder renews before expiry, so nobody else gets in.
    frozen_clock.advance(seconds=20)
    assert leases.acquire("work", "a", frozen_clock(), TTL)
    frozen_clock.advance(seconds=20)
    assert not leases.acquire("work", "b", frozen_clock(), TTL)
    lease = Lease.objects.get(name="work")
    assert lease.holder == "a" and lease.expires_at == frozen_clock() + timedelta(seconds=10)


@pytest.mark.django_db
def test_a_holder_that_stops_renewing_is_taken_over_after_the_ttl(frozen_clock):
    assert leases.acquire("work", "a", frozen_clock(), TTL)
    frozen_clock.advance(seconds=29)
    assert not leases.acquire("work", "b", frozen_clock(), TTL)
    frozen_clock.advance(seconds=1)
    assert leases.acquire("work", "b", frozen_clock(), TTL)
    lease = Lease.objects.get(name="work")
    assert (lease.holder, lease.taken_at) == ("b", frozen_clock())
    # The old holder, back from a pause, finds it gone and does not work.
    assert not leases.acquire("work", "a", frozen_clock(), TTL)


@pytest.mark.django_db
def test_released_lease_is_free_at_once(frozen_clock):
    assert leases.acquire("work", "a", frozen_clock(), TTL)
    leases.release("work", "b")  # not b's to give up
    assert not leases.acquire("work", "b", frozen_clock(), TTL)
    leases.release("work", "a")
    assert leases.acquire("work", "b", frozen_clock(), TTL)


@pytest.mark.django_db
def test_only_the_lease_holders_cycle_runs(frozen_clock):
    ran: list[str] = []
    first = LeasedCycle(lambda: ran.append("first"), name="work", ttl=TTL, holder="first")
    second = LeasedCycle(lambda: ran.append("second"), name="work", ttl=TTL, holder="second")
    for _ in range(3):
        first()
        second()
    assert ran == ["first"] * 3
    assert first.held and not second.held
    first.release()
    second()
    assert ran[-1] == "second" and second.held and not first.held


@pytest.mark.django_db(transaction=True)
def test_a_stopped_runner_hands_the_lease_over():
    cycle = LeasedCycle(lambda: None, name="work", ttl=TTL, holder="runner")
    runner = BackgroundRunner(cycle, interval_s=3600)
    runner.start()
    runner.stop()
    assert not runner.is_alive()
    assert not Lease.objects.filter(name="work").exists()


def _holder(database: Path) -> str | None:
    with sqlite3.connect(database, timeout=10) as db:
        row = db.execute("SELECT holder FROM core_lease WHERE name = ?", [leases.BACKGROUND])
        found = row.fetchone()
    return None if found is None else str(found[0])


def _wait(condition: object, what: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)  # polling other processes, not waiting on mailwarden's clock


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, Path]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MW_")}
    env.update(MW_DATA_DIR=str(tmp_path), MW_BACKGROUND_LEASE_S="5", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "mailwarden.cli", "serve", "--port", str(port), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        _wait(lambda: port_open("127.0.0.1", port) or process.poll() is not None, "the port")
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        yield process, port, tmp_path / "mailwarden.sqlite3"
    finally:
        process.terminate()
        process.wait(timeout=60)


def _pid(holder: str) -> int:
    return int(holder.split(":")[1])


@pytest.mark.slow
def test_two_server_processes_share_the_work_and_survive_the_holders_death(served):
    process, port, database = served
    assert database.exists()
    assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
    _wait(lambda: _holder(database) is not None, "a process to take the lease")
    first = _holder(database)
    assert first is not None
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert _pid(first) in {int(pid) for pid in children}

    os.kill(_pid(first), signal.SIGKILL)
    _wait(lambda: _holder(database) not in (None, first), "another process to take over")
    second = _holder(database)
    assert second is not None and _pid(second) != _pid(first)
    assert httpx.get(f"http://127.0.0.1:{port}/livez", timeout=10).status_code == 200

    # A clean stop gives the lease up rather than leaving it to expire.
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert _holder(database) is None


PROM_TOKEN = ("--name", "prom", "--role", "auditor")


def _requests_counted(text: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("mailwarden_http_requests_total{")
    )


@pytest.mark.slow
def test_a_scrape_counts_the_requests_of_every_server_process(served):
    _, port, database = served
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MW_")}
    env["MW_DATA_DIR"] = str(database.parent)
    issued = subprocess.run(
        [sys.executable, "-m", "mailwarden.cli", "token", "issue", *PROM_TOKEN],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    bearer = {"Authorization": f"Bearer {issued.stdout.strip()}"}
    for _ in range(40):
        # A new connection each time, so the requests spread over the processes.
        assert httpx.get(f"{base}/livez", timeout=10).status_code == 200
    shared = database.parent / "run" / "metrics"
    writers = {path.name.rsplit("_", 1)[-1] for path in shared.glob("*.db")}
    assert writers, "no process wrote its figures to the shared folder"
    for _ in range(5):
        scraped = httpx.get(f"{base}/metrics", headers=bearer, timeout=10)
        assert scraped.status_code == 200
        assert _requests_counted(scraped.text) >= 40
        assert "mailwarden_outbox_events" in scraped.text
