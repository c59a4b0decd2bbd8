"""The demo's simulated edge controller keeps its readers on Secure Channel while the process
that started it is busy: it runs in a process of its own (access.demo_edge).

Run as a thread of the demo server, each simulated reader answered the panel's polls from
Python callbacks that waited for the interpreter lock behind the server's work. A reply later
than libosdp's 200 ms made the panel probe again, the probe's MAC no longer matched the
reader's Secure Channel state ("Invalid MAC; discarding SC"), and the reader went offline: a
reader-offline alarm every few minutes.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from mailwarden.access import demo
from mailwarden.access.demo_edge import DemoEdgeProcess
from mailwarden.edge.edge_events import READER_STATUS

pytestmark = pytest.mark.slow

BUSY_S = 15.0


class _Unavailable(BaseHTTPRequestHandler):
    """A server that is up but answers nothing yet: the controller keeps its events."""

    def _answer(self) -> None:
        self.send_response(503)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Unavailable)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextmanager
def busy_interpreter(threads: int = 2) -> Iterator[None]:
    """Threads that hold the interpreter lock as the demo server's own work does: each call
    here keeps it for about a tenth of a second, as one long C call does (the interpreter
    hands the lock over only between bytecodes)."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            sum(range(2_000_000))

    workers = [threading.Thread(target=spin, daemon=True) for _ in range(threads)]
    for worker in workers:
        worker.start()
    try:
        yield
    finally:
        stop.set()
        for worker in workers:
            worker.join()


def reader_statuses(where: Path) -> list[tuple[str, bool, bool]]:
    path = where / "data" / "outbox.sqlite3"
    if not path.exists():
        return []
    # Read as it is written: the server answers nothing, so every event is still there.
    with closing(sqlite3.connect(path)) as db:
        rows = db.execute(
            "SELECT payload FROM outbox WHERE kind = ? ORDER BY seq", (READER_STATUS,)
        )
        payloads = [json.loads(payload) for (payload,) in rows]
    return [(p["reader_id"], p["online"], p["secure"]) for p in payloads]


def test_the_demo_controller_keeps_secure_channel_while_the_server_is_busy(tmp_path, capfd):
    where = tmp_path / demo.FOLDER
    demo._write_secrets(where, "mw_demo_token", secrets.token_hex(32))
    demo._write_config(where)
    readers = {code for code, *_ in demo.READERS}
    with server() as url:
        edge = DemoEdgeProcess(where, url).start()
        try:
            deadline = time.monotonic() + 60
            while {r for r, online, secure in reader_statuses(where) if online and secure} != (
                readers
            ):
                assert time.monotonic() < deadline, "the readers did not come online"
                assert edge.failed is None
                time.sleep(0.2)
            with busy_interpreter():
                time.sleep(BUSY_S)
        finally:
            edge.stop()
    assert edge.failed is None
    # Each reader came online on its key once, and never left.
    assert sorted(reader_statuses(where)) == sorted((r, True, True) for r in readers)
    err = capfd.readouterr().err
    assert "Invalid MAC" not in err and "Going offline" not in err
    # It stopped as a controller does: on purpose, with its outbox written down.
    journal = (where / "data" / "journal.jsonl").read_text().splitlines()
    assert '"stopped"' in journal[-1]


def test_a_controller_process_that_cannot_start_says_so_once(tmp_path, capfd):
    with server() as url:
        # No demo-edge folder: a data folder seeded before access control existed.
        edge = DemoEdgeProcess(tmp_path / demo.FOLDER, url).start()
        deadline = time.monotonic() + 60
        while edge.failed is None:
            assert time.monotonic() < deadline, "the controller process did not end"
            time.sleep(0.2)
        edge.stop()
    lines = [line for line in capfd.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("mailwarden demo: the simulated door controller stopped")
    assert "no demo controller in" in lines[0] and "console keeps running" in lines[0]
