"""Access control in the browser, against a real ``mailwarden serve``.

The door board's live updates are server-sent events from an async view, which need the ASGI
server the product runs (Django's test server is WSGI). So these tests start ``mailwarden
serve`` on a seeded demo data folder, like the edge outage test does, and send edge events the
way a controller does: ``POST /api/access/events`` with the demo controller's device token, into
the real ingestion service. Every page is watched for console errors and CSP violations.
"""

from __future__ import annotations

import csv
import io
import os
import re
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from mailwarden.access import demo
from tests.conftest import port_open
from tests.e2e.conftest import DESKTOP, SHOTS, TABLET, _record, follow, shot

pytestmark = pytest.mark.browser

VIEWPORTS = [pytest.param(DESKTOP, id="desktop"), pytest.param(TABLET, id="tablet")]
START_S = 240  # seeding the demo (migrations, X-ray scans, badge history) comes first


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


@dataclass
class Server:
    url: str
    data: Path
    password: str
    token: str

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(f"file:{self.data / 'mailwarden.sqlite3'}?mode=ro", uri=True) as db:
            return db.execute(sql, params).fetchall()

    def holder(self, name: str) -> tuple[int, int, int]:
        """A cardholder's id, and the id and number of their card in use."""
        rows = self.query(
            "SELECT h.id, c.id, c.card FROM access_cardholder h JOIN access_credential c "
            "ON c.holder_id = h.id WHERE h.name = ? AND c.revoked_at IS NULL AND c.kind = 'card'",
            name,
        )
        assert rows, f"no card for {name}"
        return rows[0]

    def send(self, *events: dict[str, Any]) -> None:
        """Deliver events as the demo controller does."""
        response = httpx.post(
            f"{self.url}/api/access/events",
            json={"events": list(events)},
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["rejected"] == [] and len(answer["applied"]) == len(events), answer


def edge_event(event_type: str, at: datetime, /, **fields: Any) -> dict[str, Any]:
    return {
        "key": str(uuid.uuid4()),
        "type": event_type,
        "event": {"occurred_at": at.isoformat(), **fields},
    }


def granted(
    server: Server, name: str, reader: str, door: str, at: datetime, companion: str | None = None
) -> dict[str, Any]:
    holder, credential, card = server.holder(name)
    other = f"H{server.holder(companion)[0]}" if companion else None
    return edge_event(
        "access.decision",
        at,
        reader_id=reader,
        door_id=door,
        granted=True,
        reason="granted_two_person" if companion else "granted",
        holder_id=f"H{holder}",
        credential_id=f"C{credential}",
        card={"format": "H10301", "facility": demo.FACILITY, "card": card, "bits": "0" * 26},
        snapshot_version=1,
        companion_id=other,
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("access-e2e")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MW_", "DJANGO_"))}
    env.update(MW_DATA_DIR=str(data), PYTHONUNBUFFERED="1")
    seeded = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailwarden.cli",
            "seed-demo",
            "--items",
            "10",
            "--recipients",
            "16",
            "--seed",
            "3",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_S,
    )
    assert seeded.returncode == 0, seeded.stderr[-3000:]
    port = free_port()
    log = (data / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailwarden.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(
            lambda: port_open("127.0.0.1", port) or proc.poll() is not None,
            "the server to listen",
            START_S,
        )
        assert proc.poll() is None, (data / "serve.log").read_text()[-3000:]
        yield Server(
            url=f"http://127.0.0.1:{port}",
            data=data,
            password=(data / "demo-password").read_text().strip(),
            token=(data / demo.FOLDER / demo.TOKEN_FILE).read_text().strip(),
        )
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.fixture
def open_page(browser, server) -> Iterator[Callable[..., Any]]:
    """A signed-in page per call, each in its own browser context; console errors fail the test."""
    contexts = []
    errors: list[str] = []

    def open_(username: str, viewport: dict[str, int] = DESKTOP) -> Any:
        context = browser.new_context(viewport=viewport, base_url=server.url, accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.on("console", lambda msg: _record(errors, msg))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto("/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", server.password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert errors == [], f"the browser reported errors: {errors}"


def dialog_shot(page: Any, name: str) -> None:
    """The screen as the person sees it: a modal's backdrop covers the window, not the page."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), caret="initial")


def size(viewport: dict[str, int]) -> str:
    return "desktop" if viewport == DESKTOP else "tablet"


def live_board(page: Any) -> None:
    page.goto("/access/")
    expect(page.locator("[data-live-state]")).to_have_text("Live")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_manager_issues_a_credential_for_a_cardholder(open_page, server, viewport):
    page = open_page("manager", viewport)
    name = f"Rosalind Franklin {size(viewport)}"
    number = "4242" if viewport == DESKTOP else "4343"
    follow(page, "nav >> text=Access control")
    follow(page, ".access-tabs >> text=Cardholders")
    follow(page, "text=Add cardholder")
    page.fill("#id_name", name)
    page.fill("#id_company", "King's College")
    page.click("button:text('Add cardholder')")
    expect(page.locator("h1")).to_have_text(name)
    expect(page.locator(".alert-success")).to_contain_text(f"{name} added")

    # A facility code out of range is refused by the service, next to that field.
    page.fill("#id_facility", "300")
    page.fill("#id_card", number)
    page.check("label.check-row:has-text('Quarantine team') input")
    page.click("button:text('Issue credential')")
    expect(page.locator("[data-field-error=facility]")).to_contain_text(
        "the facility code must be 0 to 255"
    )
    # The choice of level survives the refusal; the PIN input stays hidden for a card.
    expect(page.locator("label.check-row:has-text('Quarantine team') input")).to_be_checked()
    expect(page.locator("#id_pin")).to_be_hidden()
    shot(page, f"42-{size(viewport)}-access-credential-editor")

    page.fill("#id_facility", str(demo.FACILITY))
    page.click("button:text('Issue credential')")
    expect(page.locator(".alert-success")).to_contain_text(
        f"H10301 {demo.FACILITY}/{number} issued to {name}"
    )
    row = page.locator(f"#credentials tr:has-text('{demo.FACILITY}/{number}')")
    expect(row).to_contain_text("In use")
    expect(row).to_contain_text("Quarantine team")
    assert server.holder(name)[2] == int(number)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_events_from_the_controller_appear_on_the_live_board(open_page, server, viewport):
    page = open_page("operator", viewport)
    live_board(page)
    people = [
        row[0]
        for row in server.query(
            "SELECT h.name FROM access_cardholder h JOIN auth_user u ON u.id = h.user_id "
            "WHERE u.username IN ('screener', 'manager') ORDER BY u.username DESC"
        )
    ]
    # Each run shows a pair the board cannot be showing already.
    first, second = people if viewport == DESKTOP else people[::-1]
    pair = f"{first} with {second}"
    now = datetime.now(UTC)
    quarantine = page.locator("article[data-door=quarantine-room]")
    screening = page.locator("article[data-door=screening-room]")
    expect(quarantine.locator("[data-last-event]")).not_to_contain_text(pair)
    expect(quarantine.locator("[data-mode]")).not_to_have_text("Unlocked")
    page.evaluate("window.mwSamePage = true")
    server.send(
        edge_event(
            "reader.status",
            now - timedelta(seconds=3),
            reader_id="quarantine-in",
            online=True,
            secure=True,
        ),
        edge_event(
            "reader.status",
            now - timedelta(seconds=3),
            reader_id="quarantine-out",
            online=False,
            secure=False,
        ),
        granted(
            server,
            first,
            "quarantine-in",
            "quarantine-room",
            now - timedelta(seconds=2),
            companion=second,
        ),
        edge_event(
            "door.event", now - timedelta(seconds=1), door_id="quarantine-room", kind="unlocked"
        ),
        edge_event(
            "door.event", now - timedelta(seconds=1), door_id="quarantine-room", kind="opened"
        ),
        edge_event("door.event", now, door_id="screening-room", kind="forced_open"),
    )
    # No reload: the stream swaps the doors in as the server sees the events.
    expect(quarantine.locator("[data-last-event]")).to_contain_text(pair)
    expect(quarantine.locator("[data-mode]")).to_have_text("Unlocked")
    expect(quarantine.locator("[data-contact]")).to_have_text("Open")
    expect(quarantine.locator("[data-reader=quarantine-in]")).to_have_attribute(
        "data-online", "yes"
    )
    expect(quarantine.locator("[data-reader=quarantine-out]")).to_have_attribute(
        "data-online", "no"
    )
    expect(screening.locator("[data-contact]")).to_have_text("Forced open")
    expect(page.locator("#board-alarms")).to_contain_text("Door forced open")
    expect(page.locator("#board-feed")).to_contain_text(pair)
    assert page.evaluate("window.mwSamePage === true"), "the page was reloaded"
    shot(page, f"40-{size(viewport)}-access-board")

    # The doors close and relock, and the operator takes the alarm on: no reload needed either.
    later = datetime.now(UTC)
    server.send(
        edge_event("door.event", later, door_id="screening-room", kind="closed"),
        edge_event("door.event", later, door_id="quarantine-room", kind="closed"),
        edge_event("door.event", later, door_id="quarantine-room", kind="locked"),
    )
    expect(screening.locator("[data-contact]")).to_have_text("Closed")
    expect(quarantine.locator("[data-mode]")).to_have_text("Locked")
    alarm = page.locator("#board-alarms li:has-text('Door forced open')").first
    alarm.locator("button:text('Acknowledge')").click()
    expect(page.locator(".alert-success")).to_contain_text("Alarm acknowledged")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_lockdown_with_typed_confirmation_shows_on_every_open_board(open_page, server, viewport):
    watcher = open_page("auditor")
    live_board(watcher)
    page = open_page("manager", viewport)
    live_board(page)
    page.click("text=Lock down hq")
    dialog = page.locator("#lockdown-dialog")
    expect(dialog).to_be_visible()
    submit = dialog.locator("button:text('Lock down now')")
    expect(submit).to_be_disabled()
    dialog.locator("#id_confirm").fill("h")
    expect(submit).to_be_disabled()
    dialog.locator("#id_confirm").fill("hq")
    dialog.locator("#id_reason").fill("Suspicious parcel at the dock")
    expect(submit).to_be_enabled()
    dialog_shot(page, f"43-{size(viewport)}-access-lockdown-dialog")
    submit.click()
    expect(page.locator(".alert-warning")).to_contain_text("is in lockdown")
    expect(page.locator("#board-status")).to_have_attribute("data-lockdown", "on")
    expect(page.locator("[data-mode=lockdown]")).to_have_count(3)
    # The auditor's board, open all along, turns without a reload.
    expect(watcher.locator("#board-status")).to_have_attribute("data-lockdown", "on")
    expect(watcher.locator("article[data-door=quarantine-room] [data-mode]")).to_have_text(
        "Lockdown"
    )
    shot(page, f"44-{size(viewport)}-access-board-lockdown")

    page.click("text=Lift lockdown")
    page.locator("#lift-dialog #id_reason").fill("All clear")
    page.locator("#lift-dialog button:text('Lift lockdown')").click()
    expect(page.locator(".alert-success")).to_contain_text("Lockdown lifted")
    expect(watcher.locator("#board-status")).to_have_attribute("data-lockdown", "off")


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_report_lists_who_entered_the_quarantine_room(open_page, server, viewport, tmp_path):
    names = [
        row[0]
        for row in server.query(
            "SELECT h.name FROM access_cardholder h JOIN auth_user u ON u.id = h.user_id "
            "WHERE u.username IN ('operator', 'screener') ORDER BY u.username"
        )
    ]
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=7)
    server.send(
        granted(server, names[0], "quarantine-in", "quarantine-room", at, companion=names[1])
    )
    page = open_page("auditor", viewport)
    page.goto("/access/")
    follow(page, ".access-tabs >> text=Quarantine report")
    expect(page.locator("h1")).to_have_text("Who entered the quarantine room")
    entry = page.locator(f"tr:has-text('{names[0]}'):has-text('{names[1]}')").first
    expect(entry).to_be_visible()
    expect(entry).to_contain_text("Quarantine room")
    shot(page, f"45-{size(viewport)}-access-report")
    with page.expect_download() as download:
        page.click("[data-csv]")
    saved = tmp_path / "report.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text())))
    mine = [r for r in rows if r["time_utc"] == at.isoformat()]
    assert {(r["person"], r["with"]) for r in mine} == {(names[0], names[1]), (names[1], names[0])}


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_access_log_filters_as_you_choose(open_page, server, viewport):
    page = open_page("operator", viewport)
    page.goto("/access/log/")
    expect(page.locator("#log-rows tbody tr").first).to_be_visible()
    page.select_option("#id_result", "denied")
    # HTMX swaps the rows in and keeps the filter in the address.
    expect(page).to_have_url(re.compile(r"result=denied"))
    results = page.locator("#log-rows tbody tr .result")
    expect(results.first).to_have_text(re.compile(r"^(Refused|Waiting)"))
    for text in results.all_inner_texts():
        assert text.startswith(("Refused", "Waiting")), text
    shot(page, f"41-{size(viewport)}-access-log")
