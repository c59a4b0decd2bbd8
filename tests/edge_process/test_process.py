"""The edge process end to end with a stand-in server: real libosdp readers on Secure Channel,
rules from the server, decisions at the door, events delivered, bad input refused with reasons."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import osdp as libosdp
import pytest
import yaml

from mailwarden.edge.edge_events import ACCESS_DECISION, CARD_ERROR
from mailwarden.edge.rules import Door, DoorMode, RuleDelta, RuleEntries
from mailwarden.edge.sync import Journal
from mailwarden.edge.wiegand import Bits, WiegandFormat, encode

from ..edge.conftest import SETTLE_S, WAIT
from ..edge.rulebook import MONDAY_NOON, snapshot
from .conftest import build_edge, start_edge, wait_until, write_config

GREEN = libosdp.CommandLEDColor.Green
RED = libosdp.CommandLEDColor.Red
ALICE, UNKNOWN = 1001, 4242

# The rulebook's schedules are for Monday 1 June 2026; an always-open level keeps these tests
# independent of the wall clock they run at.
ALWAYS = snapshot().model_copy(
    update={
        "levels": tuple(lv.model_copy(update={"schedule_id": "always"}) for lv in snapshot().levels)
    }
)


def rules(version: int = 1, **over):
    return ALWAYS.model_copy(update={"version": version, **over})


class Edge:
    def __init__(self, tmp_path: Path, server, path: Path | None = None) -> None:
        self.server = server
        self.path = path or write_config(tmp_path, server.url)
        self.process, self.wiring = start_edge(self.path)

    def present(self, reader_id: str, bits: Bits) -> dict:
        reader = self.wiring.readers[reader_id]
        mark = reader.mark()
        assert reader.present_card(bits)
        led = reader.wait_for_led(WAIT, after=mark)
        assert led is not None, "the reader got no LED command"
        return led

    def card(self, number: int, reader_id: str = "mailroom-in") -> dict:
        return self.present(reader_id, encode(WiegandFormat.H10301, 10, number))

    def delivered(self, kind: str) -> list[dict]:
        return [e["event"] for e in self.server.events.values() if e["type"] == kind]

    def stop(self) -> None:
        self.process.stop()
        self.wiring.close()


@pytest.fixture
def edge(tmp_path, server):
    server.publish(rules())
    edge = Edge(tmp_path, server)
    wait_until(lambda: edge.process.engine.version == 1, "the first rules")
    yield edge
    edge.stop()


def test_cards_are_decided_at_the_door_and_the_events_reach_the_server(edge):
    io = edge.process.ios["mailroom"]
    assert edge.card(ALICE)["on_color"] == GREEN
    assert io.locked is False
    assert edge.card(UNKNOWN, "vault-in")["on_color"] == RED

    decisions = wait_until(
        lambda: len(edge.delivered(ACCESS_DECISION)) == 2 and edge.delivered(ACCESS_DECISION),
        "both decisions at the server",
    )
    by_holder = {d["holder_id"]: d for d in decisions}
    assert by_holder["alice"]["granted"] is True
    assert by_holder["alice"]["snapshot_version"] == 1
    assert by_holder[None]["reason"] == "unknown_credential"
    denied = edge.process.journal.entries("access_denied")
    assert [d["reason"] for d in denied] == ["unknown_credential"]
    wait_until(lambda: edge.process.outbox.pending_count() == 0, "an empty outbox")


def test_a_card_read_while_the_edge_was_stopped_never_opens_the_door(tmp_path, server):
    # The reproduction: the edge is down, an enrolled card is presented and its holder
    # walks away; the edge starts later, and the reader hands the card over.
    server.publish(rules())
    process, wiring, clock = build_edge(write_config(tmp_path, server.url))
    try:
        reader = wiring.readers["mailroom-in"]
        assert reader.present_card(encode(WiegandFormat.H10301, 10, ALICE))
        process.start()
        led = reader.wait_for_led(WAIT)
        assert led is not None and led["on_color"] == RED
        io = process.ios["mailroom"]
        assert io.locked is True
        # The journal line is written just after the reader is answered.
        [denied] = wait_until(
            lambda: process.journal.entries("access_denied"), "the journal's refusal"
        )
        assert (denied["reason"], denied["holder_id"]) == ("stale_read", "alice")
        decisions = wait_until(
            lambda: [d for d in server_decisions(server) if d["reason"] == "stale_read"],
            "the stale read at the server",
        )
        assert decisions[0]["granted"] is False

        # Alice comes back and badges once the reader has settled: the door opens.
        wait_until(lambda: process.engine.version == 1, "the first rules")
        clock.advance(SETTLE_S)
        mark = reader.mark()
        assert reader.present_card(encode(WiegandFormat.H10301, 10, ALICE))
        assert reader.wait_for_led(WAIT, after=mark)["on_color"] == GREEN
        assert io.locked is False
    finally:
        process.stop()
        wiring.close()


def server_decisions(server) -> list[dict]:
    return [e["event"] for e in server.events.values() if e["type"] == ACCESS_DECISION]


@pytest.mark.parametrize(
    ("bits", "reason"),
    [
        (encode(WiegandFormat.H10301, 10, ALICE).flipped(5), "parity"),
        (Bits(0x2AAAAAA, 30), "unknown_length"),
    ],
    ids=["wrong-parity", "unknown-format"],
)
def test_bad_card_data_is_refused_with_its_reason_and_the_process_goes_on(edge, bits, reason):
    assert edge.present("mailroom-in", bits)["on_color"] == RED
    (entry,) = edge.process.journal.entries("card_rejected")
    assert (entry["reason"], entry["reader_id"], entry["bit_length"]) == (
        reason,
        "mailroom-in",
        bits.length,
    )
    errors = wait_until(lambda: edge.delivered(CARD_ERROR), "the card error at the server")
    assert errors[0]["error"] == reason
    assert edge.card(ALICE)["on_color"] == GREEN


def test_lockdown_from_the_server_is_applied_at_the_door(edge):
    io = edge.process.ios["mailroom"]
    assert edge.card(ALICE)["on_color"] == GREEN
    assert io.locked is False  # a 60 s strike is running

    edge.server.publish(
        RuleDelta(
            base_version=1,
            version=2,
            issued_at=MONDAY_NOON,
            changed=RuleEntries(
                doors=(Door(id="mailroom", mode=DoorMode.LOCKDOWN, lockdown_levels=("responder",)),)
            ),
        )
    )
    edge.process.sync_now()
    wait_until(lambda: edge.process.engine.version == 2, "the lockdown rules")
    # The running grant is cancelled at once, not when its strike time runs out.
    wait_until(lambda: io.locked is True, "the door relocked by the lockdown")
    assert edge.card(ALICE)["on_color"] == RED
    reasons = [d["reason"] for d in edge.process.journal.entries("access_denied")]
    assert reasons == ["lockdown"]
    # A responder (the door's lockdown level) still gets in.
    assert edge.card(1006)["on_color"] == GREEN


def test_a_corrupt_document_from_the_server_is_refused_and_decisions_go_on(edge):
    good = edge.server.publish(rules(2, credentials=()))  # would revoke everyone
    envelope = json.loads(good)
    envelope["payload"]["site_id"] = "elsewhere"
    edge.server.serve_instead = lambda since: envelope
    edge.process.sync_now()
    entry = wait_until(lambda: edge.process.journal.entries("rules_rejected"), "the rejection")
    assert entry[0]["reason"] == "signature"
    assert edge.process.engine.version == 1
    assert edge.card(ALICE)["on_color"] == GREEN
    wait_until(lambda: edge.delivered("edge.rules_rejected"), "the rejection at the server")


def test_a_restart_with_the_server_down_decides_from_the_stored_rules(tmp_path, server):
    server.publish(rules())
    first = Edge(tmp_path, server)
    try:
        wait_until(lambda: first.process.engine.version == 1, "the first rules")
    finally:
        first.stop()
    server.unavailable = True
    second = Edge(tmp_path, server, first.path)
    try:
        assert second.process.engine.version == 1  # from disk, before any poll succeeded
        assert second.card(ALICE)["on_color"] == GREEN
        assert second.process.outbox.pending_count() >= 1
        server.unavailable = False
        wait_until(lambda: second.delivered(ACCESS_DECISION), "the decision at the server")
        wait_until(lambda: second.process.outbox.pending_count() == 0, "an empty outbox")
    finally:
        second.stop()


def test_sigterm_stops_the_edge_command_cleanly(tmp_path, server):
    server.publish(rules())
    # A reader behind a TCP bridge that accepts and stays silent: the process must still start,
    # sync and stop.
    bridge = socket.create_server(("127.0.0.1", 0))
    port = bridge.getsockname()[1]
    path = write_config(tmp_path, server.url, readers=("vault-in",))
    config = yaml.safe_load(path.read_text())
    config["readers"][0]["channel"] = f"tcp://127.0.0.1:{port}"
    path.write_text(yaml.safe_dump(config))
    code = (
        "import argparse, sys\n"
        "from mailwarden.edge.cli import add_edge_commands\n"
        "p = argparse.ArgumentParser(); add_edge_commands(p.add_subparsers())\n"
        "a = p.parse_args(sys.argv[1:]); sys.exit(a.fn(a))\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "edge", "--config", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    journal = Journal(tmp_path / "data" / "journal.jsonl")
    try:
        wait_until(
            lambda: journal.entries("rules_updated") or proc.poll() is not None,
            "the edge process to sync",
            timeout=60,
        )
        assert proc.poll() is None, proc.stdout.read()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=WAIT) == 0
        output = proc.stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
        bridge.close()
    assert journal.entries("stopped")
    # Its own INFO lines are logged; the HTTP client's line per request is not.
    assert "mailwarden.edge" in output and "HTTP Request" not in output
    assert (tmp_path / "data" / "rules.json").exists()
