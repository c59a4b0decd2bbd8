"""The key test: the server goes away, the door keeps working, and no event is lost or doubled.

A real `mailwarden serve` (its own data folder, a free port) with a site, a door, a controller, a
reader and two cardholders made through the access services; an edge process whose reader is a
real libosdp peripheral on Secure Channel. Cards are read, the server is stopped, more cards are
read (decided from the cached rules, the reader still gets its LED), the server is started again
on the same data, and the outbox drains. The server's database must then hold every event exactly
once, and a batch sent again must come back as duplicates.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path

import httpx
import osdp as libosdp
import pytest
import yaml

from mailwarden.contracts.access import EVENT_MODELS
from mailwarden.edge.edge_events import ACCESS_DECISION, CARD_ERROR
from mailwarden.edge.outbox import OutboxEvent
from mailwarden.edge.sync import ServerClient
from mailwarden.edge.wiegand import WiegandFormat, encode

from ..conftest import port_open
from ..edge.conftest import WAIT
from .conftest import start_edge, wait_until, write_config

GREEN = libosdp.CommandLEDColor.Green
RED = libosdp.CommandLEDColor.Red
CONTROLLER = "edge-outage"
ALICE, BOB, UNKNOWN = 1001, 1002, 4242
SERVER_START_S = 120  # a cold `serve` migrates a fresh database first

SETUP = """
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailwarden.server.settings")
django.setup()
from django.core.management import call_command
call_command("migrate", interactive=False, verbosity=0)
from mailwarden.access import services as access
from mailwarden.core.actor import Actor
from mailwarden.directory import services as directory

controller, alice, bob = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
actor = Actor.job("outage-test")
site = directory.create_site(actor, code="hq", name="Head office", timezone="Europe/London")
always = access.levels.create_schedule(
    actor, site="hq", name="always",
    windows=[{"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
              "start": "00:00", "end": "24:00"}],
    holiday_windows=[{"start": "00:00", "end": "24:00"}],
)
door = access.doors.create_door(
    actor, access.doors.DoorData(site="hq", code="mailroom", name="Mailroom")
)
enrolment = access.doors.create_controller(actor, name=controller, site="hq")
access.doors.create_reader(
    actor, controller=controller, door="mailroom", code="mailroom-in", osdp_address=1
)
level = access.levels.create_level(
    actor, site="hq", name="mailroom staff", schedule_id=always.pk, doors=["mailroom"]
)
for name, number in (("Alice", alice), ("Bob", bob)):
    holder = access.credentials.create_cardholder(actor, name=name)
    access.credentials.issue_credential(actor, access.credentials.CredentialData(
        holder_id=holder.pk, format="H10301", facility=10, card=number,
        level_ids=[level.pk]))
print(json.dumps({"token": enrolment.token, "secret": enrolment.sync_secret}))
"""

QUERY = """
import json, os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailwarden.server.settings")
django.setup()
from mailwarden.access.models import AccessEvent
rows = AccessEvent.objects.filter(controller__name=sys.argv[1]).values_list(
    "key", "type", "granted", "reason", "holder_ref")
print(json.dumps([[str(k), t, g, r, h] for k, t, g, r, h in rows]))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`mailwarden serve` as a subprocess on a fixed port and data folder, restartable."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MW_")}
        self.env.update(MW_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1")
        self.log = data_dir / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def python(self, code: str, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=SERVER_START_S,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip().splitlines()[-1]

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mailwarden.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            lambda: port_open("127.0.0.1", self.port) or self.proc.poll() is not None,
            "the server to listen",
            timeout=SERVER_START_S,
        )
        assert self.proc.poll() is None, self.log.read_text()[-3000:]
        assert httpx.get(f"{self.url}/livez").json() == {"status": "ok"}

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=WAIT)
        self.proc = None

    def events(self) -> list[list]:
        return json.loads(self.python(QUERY, CONTROLLER))


def outbox_events(path: Path) -> list[OutboxEvent]:
    """Every event the edge ever wrote, delivered or not, read straight from its outbox file."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT key, kind, payload, created_at FROM outbox ORDER BY seq")
        return [
            OutboxEvent(uuid.UUID(k), kind, json.loads(p), datetime.fromisoformat(c))
            for k, kind, p, c in rows
        ]


class Site:
    """The server with one enrolled controller; each test runs its own edge against it."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.enrolment = json.loads(server.python(SETUP, CONTROLLER, str(ALICE), str(BOB)))

    def edge_config(self, folder: Path) -> Path:
        folder.mkdir()
        path = write_config(folder, self.server.url, readers=("mailroom-in",))
        (folder / "keys" / "token").write_text(self.enrolment["token"])
        (folder / "keys" / "sync.key").write_text(self.enrolment["secret"])
        config = yaml.safe_load(path.read_text())
        config["name"] = CONTROLLER
        path.write_text(yaml.safe_dump(config))
        return path


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    data = tmp_path_factory.mktemp("server")
    server = Server(data)
    site = Site(server)
    yield site
    server.stop()


def reader_of(wiring):
    reader = wiring.readers["mailroom-in"]

    def read(number: int, *, misread: bool = False) -> int:
        bits = encode(WiegandFormat.H10301, 10, number)
        mark = reader.mark()
        assert reader.present_card(bits.flipped(2) if misread else bits)
        led = reader.wait_for_led(WAIT, after=mark)
        assert led is not None, "the reader got no LED command"
        return led["on_color"]

    return read


def test_an_outage_delays_events_and_never_loses_or_doubles_one(tmp_path, site):
    server, enrolment = site.server, site.enrolment
    if server.proc is None:
        server.start()
    earlier = {row[0] for row in server.events()}  # from other tests against this server
    edge_dir = tmp_path / "edge"
    edge, wiring = start_edge(site.edge_config(edge_dir))
    read = reader_of(wiring)

    try:
        wait_until(lambda: edge.engine.version is not None, "the rules from the server")
        assert read(ALICE) == GREEN
        assert read(UNKNOWN) == RED
        wait_until(lambda: edge.outbox.pending_count() == 0, "the first events delivered")
        before = len(server.events()) - len(earlier)

        server.stop()
        outage = [
            (ALICE, False),
            (BOB, False),
            (UNKNOWN, False),
            (ALICE, True),
            (BOB, False),
            (ALICE, False),
        ]
        colours = [read(number, misread=bad) for number, bad in outage]
        assert colours == [GREEN, GREEN, RED, RED, GREEN, GREEN]
        # Delivery has been tried and failed; nothing is marked delivered.
        wait_until(lambda: edge.journal.entries("delivery_failed"), "a failed delivery")
        waiting = edge.outbox.pending_count()
        assert waiting >= len(outage)

        server.start()
        wait_until(lambda: edge.outbox.pending_count() == 0, "the outbox to drain", timeout=60)
        assert edge.engine.version is not None
    finally:
        edge.stop()
        wiring.close()

    written = outbox_events(edge_dir / "data" / "outbox.sqlite3")
    # The server knows every kind the edge writes (a clock warning included), so all are sent.
    assert {e.kind for e in written} <= set(EVENT_MODELS)
    sent = written
    rows = [row for row in server.events() if row[0] not in earlier]
    by_key = Counter(row[0] for row in rows)
    # Every event arrived, exactly once; the server holds nothing the edge did not write.
    assert set(by_key) == {str(e.key) for e in sent}
    assert max(by_key.values()) == 1
    reads = [r for r in rows if r[1] in (ACCESS_DECISION, CARD_ERROR)]
    assert len(reads) == 2 + len(outage)
    decisions = [r for r in rows if r[1] == ACCESS_DECISION]
    assert sum(1 for r in decisions if r[2]) == 5
    assert Counter(r[3] for r in decisions if not r[2]) == {"unknown_credential": 2}
    assert sum(1 for r in rows if r[1] == CARD_ERROR) == 1

    # A delivered batch sent again (an answer lost on the way back) is all duplicates.
    client = ServerClient(server.url, enrolment["token"])
    try:
        answer = client.post_events(sent)
    finally:
        client.close()
    assert sorted(answer.duplicates) == sorted(str(e.key) for e in sent)
    assert answer.applied == [] and answer.rejected == []
    assert edge.journal.entries("event_rejected_by_server") == []
    assert len(server.events()) == len(earlier) + len(rows)
    print(
        f"\noutage figures: {len(outage)} cards read during the outage, "
        f"{waiting} events waiting, {len(rows) - before} delivered after the restart, "
        f"{len(rows)} events at the server, replay: {len(answer.duplicates)} duplicates, "
        f"{len(answer.applied)} applied"
    )


SITE_LOCKDOWN = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailwarden.server.settings")
django.setup()
from mailwarden.access import services as access
from mailwarden.core.actor import Actor
actor = Actor.job("outage-test")
if sys.argv[1] == "on":
    access.lockdown.lockdown_site(actor, "hq", True, reason="suspicious parcel at the dock")
else:
    access.lockdown.lift_lockdown(actor, "hq", reason="all clear")
print("ok")
"""


def test_a_lockdown_at_the_server_reaches_the_door_at_the_next_poll(tmp_path, site):
    server = site.server
    if server.proc is None:
        server.start()
    edge, wiring = start_edge(site.edge_config(tmp_path / "edge"))
    read = reader_of(wiring)
    io = edge.ios["mailroom"]
    try:
        wait_until(lambda: edge.engine.version is not None, "the rules from the server")
        assert read(ALICE) == GREEN
        assert io.locked is False  # a 60 s strike is running

        server.python(SITE_LOCKDOWN, "on")
        wait_until(lambda: edge.engine.door_locked_down("mailroom"), "the lockdown rules")
        # The strike in progress is cut short: the door locks at once.
        wait_until(lambda: io.locked is True, "the door locked by the lockdown")
        assert read(ALICE) == RED
        assert edge.journal.entries("access_denied")[-1]["reason"] == "lockdown"

        server.python(SITE_LOCKDOWN, "off")
        wait_until(lambda: not edge.engine.door_locked_down("mailroom"), "the lockdown lifted")
        assert read(BOB) == GREEN
    finally:
        edge.stop()
        wiring.close()


OPERATOR = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailwarden.server.settings")
django.setup()
from django.contrib.auth.models import User
from mailwarden.core.actor import Actor
from mailwarden.core.services import create_user
if not User.objects.filter(username="door-operator").exists():
    create_user(
        Actor.job("users"), "door-operator", password=sys.argv[1], roles=["security_operator"]
    )
print("ok")
"""


def test_a_card_at_the_reader_shows_in_the_console(tmp_path, site):
    """Reader → controller → LED → server → the access log page a person reads."""
    server = site.server
    if server.proc is None:
        server.start()
    password = "reader to console 7"
    server.python(OPERATOR, password)
    edge, wiring = start_edge(site.edge_config(tmp_path / "edge"))
    read = reader_of(wiring)
    try:
        wait_until(lambda: edge.engine.version is not None, "the rules from the server")
        assert read(BOB) == GREEN
        assert read(UNKNOWN) == RED
        wait_until(lambda: edge.outbox.pending_count() == 0, "the events delivered")
    finally:
        edge.stop()
        wiring.close()
    with httpx.Client(base_url=server.url, follow_redirects=True) as browser:
        browser.get("/login/")
        signed_in = browser.post(
            "/login/",
            data={
                "username": "door-operator",
                "password": password,
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
        )
        assert signed_in.status_code == 200
        log = browser.get("/access/log/")
    assert log.status_code == 200
    page = log.text
    assert "Bob" in page
    assert "Mailroom" in page
    assert "unknown card" in page.lower()
