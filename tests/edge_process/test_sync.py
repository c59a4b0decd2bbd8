"""The sync client against a stand-in server: snapshots and deltas, refusals, clock skew."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest

from mailwarden.edge.clock import ManualClock
from mailwarden.edge.decisions import DecisionEngine, Reason
from mailwarden.edge.edge_events import CLOCK_SKEW, RULES_REJECTED
from mailwarden.edge.outbox import Outbox
from mailwarden.edge.rules import Door, DoorMode, RuleDelta, RuleEntries
from mailwarden.edge.sync import (
    Journal,
    RuleStore,
    RuleSync,
    ServerClient,
    SkewMonitor,
    SyncStatus,
    restore_rules,
)
from mailwarden.edge.wiegand import WiegandFormat, decode, encode

from ..edge.rulebook import KEY_ID, KEYS, MONDAY_NOON, card, signed, snapshot
from .standin import TOKEN

ALICE = decode(encode(WiegandFormat.H10301, 10, 1001).value, 26)
FRANK = decode(encode(WiegandFormat.H10301, 10, 1007).value, 26)


class Rig:
    def __init__(self, server, tmp_path, *, token: str = TOKEN) -> None:
        self.server = server
        self.clock = ManualClock(MONDAY_NOON)
        self.journal = Journal(tmp_path / "journal.jsonl", clock=self.clock.now)
        self.outbox = Outbox(tmp_path / "outbox.sqlite3", clock=self.clock.now)
        self.skew = SkewMonitor(self.journal, self.outbox, clock=self.clock.now)
        # The skew check compares with the real time the stand-in stamps its Date with.
        self.client = ServerClient(server.url, token, on_skew=self.skew, timeout=5)
        self.engine = DecisionEngine(KEYS)
        self.store = RuleStore(tmp_path / "rules.json")
        self.sync = RuleSync(
            self.client, self.engine, self.store, self.journal, self.outbox, clock=self.clock.now
        )

    def outbox_kinds(self) -> list[str]:
        return [e.kind for e in self.outbox.due(1000)]

    def close(self) -> None:
        self.client.close()
        self.outbox.close()


@pytest.fixture
def rig(server, tmp_path):
    rig = Rig(server, tmp_path)
    yield rig
    rig.close()


FRANK_CARD = card("c-frank", "frank", 1007, "office-hours")


def delta_adding_frank(base: int = 1) -> RuleDelta:
    return RuleDelta(
        base_version=base,
        version=base + 1,
        issued_at=MONDAY_NOON,
        added=RuleEntries(credentials=(FRANK_CARD,)),
    )


def with_frank(version: int):
    base = snapshot()
    return snapshot(version, credentials=(*base.credentials, FRANK_CARD))


def test_first_poll_loads_the_full_snapshot_and_stores_it(rig, tmp_path):
    rig.server.publish(snapshot(1))
    outcome = rig.sync.poll()
    assert (outcome.status, outcome.version) == (SyncStatus.UPDATED, 1)
    assert rig.server.rule_requests == [0]
    assert rig.engine.decide("mailroom-in", ALICE, MONDAY_NOON).granted

    assert rig.sync.poll().status is SyncStatus.UP_TO_DATE
    assert rig.server.rule_requests == [0, 1]

    # A restart decides from the stored rules before the server has said anything.
    fresh = DecisionEngine(KEYS)
    assert restore_rules(fresh, RuleStore(tmp_path / "rules.json"), rig.journal) == 1
    assert fresh.decide("mailroom-in", ALICE, MONDAY_NOON).granted


def test_a_delta_moves_the_rules_one_version_and_the_chain_is_stored(rig, tmp_path):
    rig.server.publish(snapshot(1))
    rig.sync.poll()
    assert rig.engine.decide("mailroom-in", FRANK, MONDAY_NOON).reason is Reason.UNKNOWN_CREDENTIAL
    rig.server.publish(delta_adding_frank())
    outcome = rig.sync.poll()
    assert (outcome.status, outcome.version) == (SyncStatus.UPDATED, 2)
    assert rig.server.rule_requests == [0, 1]  # the delta came for since=1
    assert rig.engine.decide("mailroom-in", FRANK, MONDAY_NOON).granted
    assert len(RuleStore(tmp_path / "rules.json").load()) == 2  # snapshot + delta

    fresh = DecisionEngine(KEYS)
    assert restore_rules(fresh, RuleStore(tmp_path / "rules.json"), rig.journal) == 2
    assert fresh.decide("mailroom-in", FRANK, MONDAY_NOON).granted


def test_a_delta_for_another_base_falls_back_to_a_full_snapshot(rig):
    rig.server.publish(snapshot(1))
    rig.sync.poll()
    # The server has moved on to version 3 and sends a delta from 2, which this controller never
    # had: it must ask again with since=0.
    rig.server.publish(with_frank(3))
    wrong_base = rig.server.publish(delta_adding_frank(base=2))
    rig.server.serve_instead = lambda since: wrong_base if since == 1 else None
    outcome = rig.sync.poll()
    assert (outcome.status, outcome.version) == (SyncStatus.UPDATED, 3)
    assert rig.server.rule_requests == [0, 1, 0]
    assert rig.engine.decide("mailroom-in", FRANK, MONDAY_NOON).granted
    assert RULES_REJECTED not in rig.outbox_kinds()


def tampered(document: bytes) -> dict:
    envelope = json.loads(document)
    envelope["payload"]["credentials"].append(
        {
            "id": "c-mallory",
            "holder_id": "mallory",
            "format": "H10301",
            "facility": 10,
            "card": 666,
            "levels": ["office-hours"],
        }
    )
    return envelope


@pytest.mark.parametrize(
    ("make", "reason", "message"),
    [
        (lambda good: tampered(good), "signature", "signature does not match"),
        (lambda good: b"{not json", "signature", "document is not JSON"),
        (lambda good: {**json.loads(good), "key_id": "someone-else"}, "signature", "unknown key"),
        (lambda good: {**json.loads(good), "signature": "AAAA"}, "signature", "does not match"),
        (lambda good: {**json.loads(good), "alg": "none"}, "signature", "unsupported signature"),
    ],
)
def test_a_corrupt_or_unauthenticated_document_is_refused_and_the_last_good_kept(
    rig, make, reason, message
):
    rig.server.publish(snapshot(1))
    rig.sync.poll()
    good = rig.server.publish(with_frank(2))
    bad = make(good)
    rig.server.serve_instead = lambda since: bad
    outcome = rig.sync.poll()
    assert outcome.status is SyncStatus.REJECTED
    assert rig.engine.version == 1
    assert rig.engine.decide("mailroom-in", ALICE, MONDAY_NOON).granted
    assert not rig.engine.decide("mailroom-in", FRANK, MONDAY_NOON).granted

    (entry,) = rig.journal.entries("rules_rejected")
    assert entry["reason"] == reason
    assert message in entry["message"]
    assert (entry["offered_version"], entry["held_version"]) == (2, 1)
    rejected = [e for e in rig.outbox.due(100) if e.kind == RULES_REJECTED]
    assert [e.payload["reason"] for e in rejected] == [reason]

    # The server offers the same bad document at every poll; it is recorded once.
    rig.sync.poll()
    assert len(rig.journal.entries("rules_rejected")) == 1

    rig.server.serve_instead = None
    assert rig.sync.poll().version == 2


def test_a_document_signed_with_another_secret_is_refused(rig):
    rig.server.publish(snapshot(1), secret=secrets.token_bytes(32))
    assert rig.sync.poll().status is SyncStatus.REJECTED
    assert rig.engine.version is None
    assert rig.journal.entries("rules_rejected")[0]["message"].startswith("signature does not")


def test_a_replayed_older_snapshot_is_refused_as_stale(rig):
    old = rig.server.publish(snapshot(1))
    rig.server.publish(with_frank(2))
    rig.sync.poll()
    assert rig.engine.version == 2
    rig.server.serve_instead = lambda since: old
    assert rig.sync.poll().status is SyncStatus.REJECTED
    assert rig.journal.entries("rules_rejected")[0]["reason"] == "stale"
    assert rig.engine.decide("mailroom-in", FRANK, MONDAY_NOON).granted


def test_lockdown_arrives_as_a_door_mode_in_the_rules(rig):
    rig.server.publish(snapshot(1))
    rig.sync.poll()
    lockdown = RuleDelta(
        base_version=1,
        version=2,
        issued_at=MONDAY_NOON,
        changed=RuleEntries(
            doors=(Door(id="mailroom", mode=DoorMode.LOCKDOWN, lockdown_levels=("responder",)),)
        ),
    )
    rig.server.publish(lockdown)
    assert rig.sync.poll().version == 2
    assert rig.engine.door_locked_down("mailroom")
    assert rig.engine.decide("mailroom-in", ALICE, MONDAY_NOON).reason is Reason.LOCKDOWN


def test_server_down_keeps_the_rules_and_logs_the_outage_once(rig):
    rig.server.publish(snapshot(1))
    rig.sync.poll()
    rig.server.unavailable = True
    for _ in range(3):
        outcome = rig.sync.poll()
        assert (outcome.status, outcome.version) == (SyncStatus.FAILED, 1)
    assert "HTTP 503" in outcome.detail
    assert len(rig.journal.entries("server_unreachable")) == 1
    assert rig.engine.decide("mailroom-in", ALICE, MONDAY_NOON).granted
    rig.server.unavailable = False
    assert rig.sync.poll().status is SyncStatus.UP_TO_DATE
    assert len(rig.journal.entries("server_reachable")) == 1


def test_an_unreachable_server_is_a_failed_poll(tmp_path, server):
    server.close()  # nothing listens on the port any more
    rig = Rig(server, tmp_path)
    try:
        outcome = rig.sync.poll()
        assert outcome.status is SyncStatus.FAILED
        assert "ConnectError" in outcome.detail
    finally:
        rig.close()


def test_a_refused_token_is_reported(server, tmp_path):
    server.publish(snapshot(1))
    rig = Rig(server, tmp_path, token="mw_wrong")
    try:
        outcome = rig.sync.poll()
        assert outcome.status is SyncStatus.FAILED
        assert "refused the device token (401)" in outcome.detail
        assert rig.engine.version is None
    finally:
        rig.close()


def test_clock_skew_is_logged_and_reported_when_it_starts_and_when_it_ends(rig):
    rig.server.publish(snapshot(1))
    rig.sync.poll()
    assert rig.journal.entries("clock_skew") == []
    rig.server.clock_offset = timedelta(minutes=5)
    rig.sync.poll()
    rig.sync.poll()
    (entry,) = rig.journal.entries("clock_skew")
    assert "behind the server" in entry["reason"]
    assert 290 < entry["offset_s"] < 310
    skew_events = [e.payload for e in rig.outbox.due(100) if e.kind == CLOCK_SKEW]
    assert [e["exceeded"] for e in skew_events] == [True]
    assert rig.client.last_skew is not None and rig.client.last_skew.exceeded

    rig.server.clock_offset = timedelta(0)
    rig.sync.poll()
    skew_events = [e.payload for e in rig.outbox.due(100) if e.kind == CLOCK_SKEW]
    assert [e["exceeded"] for e in skew_events] == [True, False]
    # Decisions went on regardless: a skewed clock is reported, not a reason to stop.
    assert rig.engine.decide("mailroom-in", ALICE, MONDAY_NOON).granted


def test_a_corrupt_stored_chain_starts_without_rules_and_says_why(tmp_path):
    clock = ManualClock(MONDAY_NOON)
    journal = Journal(tmp_path / "journal.jsonl", clock=clock.now)
    store = RuleStore(tmp_path / "rules.json")
    store.path.write_text('{"documents": ["{}"]}')
    engine = DecisionEngine(KEYS)
    assert restore_rules(engine, store, journal) is None
    assert engine.version is None
    (entry,) = journal.entries("rules_restore_failed")
    assert entry["reason"] == "signature"
    store.path.write_text("garbage")
    assert restore_rules(engine, store, journal) is None
    assert journal.entries("rules_restore_failed")[1]["reason"] == "unreadable"


def test_rules_stored_before_a_rekey_do_not_load_under_the_new_secret(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl", clock=ManualClock(MONDAY_NOON).now)
    store = RuleStore(tmp_path / "rules.json")
    store.save([signed(snapshot(4))])
    assert restore_rules(DecisionEngine(KEYS), store, journal) == 4
    rekeyed = DecisionEngine({KEY_ID: secrets.token_bytes(32)})
    assert restore_rules(rekeyed, store, journal) is None
    assert rekeyed.version is None
    (entry,) = journal.entries("rules_restore_failed")
    assert entry["reason"] == "signature"
