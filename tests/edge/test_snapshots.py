"""Signed snapshots and deltas: what is accepted, what is refused, and that a refusal changes
nothing."""

from __future__ import annotations

import json
import secrets
from datetime import timedelta

import pytest

from mailwarden.edge.decisions import DecisionEngine, Reason, RejectReason, SnapshotRejected
from mailwarden.edge.rules import Collection, RuleDelta, RuleEntries
from mailwarden.edge.signing import DocumentKind, sign_document
from mailwarden.edge.wiegand import WiegandFormat, decode, encode

from .rulebook import KEY_ID, KEYS, MONDAY_NOON, SECRET, card, signed, snapshot

ALICE_CARD = decode(encode(WiegandFormat.H10301, 10, 1001).value, 26)
NEW_CARD = decode(encode(WiegandFormat.H10301, 10, 3001).value, 26)


@pytest.fixture
def engine() -> DecisionEngine:
    engine = DecisionEngine(KEYS)
    assert engine.load_snapshot(signed(snapshot())) == 1
    return engine


def assert_still_version_1(engine: DecisionEngine) -> None:
    assert engine.version == 1
    assert engine.decide("mailroom-in", ALICE_CARD, MONDAY_NOON).granted
    engine.forgive_anti_passback()


def tamper(document: bytes, edit) -> bytes:
    envelope = json.loads(document)
    edit(envelope)
    return json.dumps(envelope).encode()


def delta(**fields) -> RuleDelta:
    return RuleDelta(base_version=1, version=2, issued_at=MONDAY_NOON, **fields)


class TestRejectedSnapshots:
    def test_altered_payload(self, engine):
        def grant_everyone(env):
            env["payload"]["version"] = 2
            env["payload"]["credentials"][0]["levels"] = ["office-hours", "vault"]

        with pytest.raises(SnapshotRejected) as caught:
            engine.load_snapshot(tamper(signed(snapshot(version=2)), grant_everyone))
        assert caught.value.reason is RejectReason.SIGNATURE
        assert "signature does not match" in str(caught.value)
        assert_still_version_1(engine)

    def test_signed_with_another_secret(self, engine):
        forged = signed(snapshot(version=2), secret=secrets.token_bytes(32))
        with pytest.raises(SnapshotRejected) as caught:
            engine.load_snapshot(forged)
        assert caught.value.reason is RejectReason.SIGNATURE
        assert_still_version_1(engine)

    def test_unknown_key_id(self, engine):
        with pytest.raises(SnapshotRejected, match="unknown key 'other'"):
            engine.load_snapshot(signed(snapshot(version=2), key_id="other"))
        assert_still_version_1(engine)

    @pytest.mark.parametrize(
        "document",
        [
            b"",
            b"not json",
            b"[]",
            b'{"kind": "rule-snapshot"}',
            json.dumps({"payload": {"version": 2}}).encode(),
        ],
    )
    def test_corrupt_or_unsigned(self, engine, document):
        with pytest.raises(SnapshotRejected) as caught:
            engine.load_snapshot(document)
        assert caught.value.reason is RejectReason.SIGNATURE
        assert_still_version_1(engine)

    def test_truncated(self, engine):
        document = signed(snapshot(version=2))
        with pytest.raises(SnapshotRejected):
            engine.load_snapshot(document[: len(document) // 2])
        assert_still_version_1(engine)

    def test_a_delta_cannot_pose_as_a_snapshot(self, engine):
        document = sign_document(DocumentKind.DELTA, snapshot(version=2), SECRET, KEY_ID)
        with pytest.raises(SnapshotRejected, match="expected a rule-snapshot"):
            engine.load_snapshot(document)

    def test_relabelling_the_kind_breaks_the_signature(self, engine):
        document = sign_document(DocumentKind.DELTA, snapshot(version=2), SECRET, KEY_ID)

        def relabel(env):
            env["kind"] = "rule-snapshot"

        with pytest.raises(SnapshotRejected, match="signature does not match"):
            engine.load_snapshot(tamper(document, relabel))

    def test_signed_but_invalid_names_the_field(self, engine):
        body = snapshot(version=2).model_dump(mode="json")
        body["credentials"][0]["facility"] = 999  # H10301 facility codes stop at 255
        with pytest.raises(SnapshotRejected) as caught:
            engine.load_snapshot(sign_document(DocumentKind.SNAPSHOT, body, SECRET, KEY_ID))
        assert caught.value.reason is RejectReason.INVALID
        assert "credentials.0" in str(caught.value) and "facility" in str(caught.value)
        assert_still_version_1(engine)

    def test_signed_but_with_a_dangling_reference(self, engine):
        body = snapshot(version=2).model_dump(mode="json")
        body["credentials"][0]["levels"] = ["no-such-level"]
        with pytest.raises(SnapshotRejected) as caught:
            engine.load_snapshot(sign_document(DocumentKind.SNAPSHOT, body, SECRET, KEY_ID))
        assert caught.value.reason is RejectReason.INVALID
        assert "unknown level 'no-such-level'" in str(caught.value)

    def test_an_older_snapshot_is_not_a_rollback_path(self, engine):
        engine.load_snapshot(signed(snapshot(version=3)))
        with pytest.raises(SnapshotRejected) as caught:
            engine.load_snapshot(signed(snapshot(version=2)))
        assert caught.value.reason is RejectReason.STALE
        assert engine.version == 3

    def test_reloading_the_same_snapshot_is_harmless(self, engine):
        assert engine.load_snapshot(signed(snapshot())) == 1


def test_key_order_and_whitespace_do_not_matter(engine):
    envelope = json.loads(signed(snapshot(version=2)))
    reordered = json.dumps(dict(reversed(list(envelope.items()))), indent=2).encode()
    assert engine.load_snapshot(reordered) == 2


class TestDeltas:
    def test_add_change_remove(self, engine):
        added = delta(added=RuleEntries(credentials=(card("c-new", "nora", 3001, "office-hours"),)))
        assert engine.apply_delta(signed(added)) == 2
        assert engine.decide("mailroom-in", NEW_CARD, MONDAY_NOON).granted

        changed = RuleDelta(
            base_version=2,
            version=3,
            issued_at=MONDAY_NOON,
            changed=RuleEntries(
                credentials=(card("c-new", "nora", 3001, "office-hours", enabled=False),)
            ),
        )
        engine.apply_delta(signed(changed))
        later = MONDAY_NOON + timedelta(minutes=1)
        assert engine.decide("mailroom-out", NEW_CARD, later).reason is Reason.CREDENTIAL_DISABLED

        removed = RuleDelta(
            base_version=3,
            version=4,
            issued_at=MONDAY_NOON,
            removed={Collection.CREDENTIALS: ("c-alice",)},
        )
        assert engine.apply_delta(signed(removed)) == 4
        assert engine.decide("mailroom-out", ALICE_CARD, later).reason is (
            Reason.UNKNOWN_CREDENTIAL
        )

    def test_a_delta_for_another_base_is_refused(self, engine):
        engine.load_snapshot(signed(snapshot(version=5)))
        with pytest.raises(SnapshotRejected) as caught:
            engine.apply_delta(signed(delta()))
        assert caught.value.reason is RejectReason.BASE_MISMATCH
        assert "fetch a full snapshot" in str(caught.value)
        assert engine.version == 5

    def test_a_delta_must_move_exactly_one_version(self):
        with pytest.raises(ValueError, match="base_version \\+ 1"):
            RuleDelta(base_version=1, version=3, issued_at=MONDAY_NOON)

    def test_without_a_snapshot(self):
        with pytest.raises(SnapshotRejected) as caught:
            DecisionEngine(KEYS).apply_delta(signed(delta()))
        assert caught.value.reason is RejectReason.BASE_MISMATCH

    @pytest.mark.parametrize(
        ("fields", "message"),
        [
            (
                {"added": RuleEntries(credentials=(card("c-alice", "alice", 7, "vault"),))},
                "adds credentials 'c-alice', which exists",
            ),
            (
                {"changed": RuleEntries(credentials=(card("c-ghost", "gus", 8, "vault"),))},
                "changes credentials 'c-ghost', which does not exist",
            ),
            ({"removed": {Collection.DOORS: ("garage",)}}, "removes doors 'garage'"),
        ],
    )
    def test_conflicts_are_refused_whole(self, engine, fields, message):
        # Every delta here also adds a card, which must not appear when the delta is refused.
        extra = card("c-new", "nora", 3001, "office-hours")
        fields.setdefault("added", RuleEntries())
        fields["added"] = RuleEntries(credentials=(*fields["added"].credentials, extra))
        with pytest.raises(SnapshotRejected) as caught:
            engine.apply_delta(signed(delta(**fields)))
        assert caught.value.reason is RejectReason.CONFLICT
        assert message in str(caught.value)
        assert engine.version == 1
        assert engine.decide("mailroom-in", NEW_CARD, MONDAY_NOON).reason is (
            Reason.UNKNOWN_CREDENTIAL
        )

    def test_removing_something_still_referenced_is_refused(self, engine):
        broken = delta(removed={Collection.LEVELS: ("vault",)})
        with pytest.raises(SnapshotRejected) as caught:
            engine.apply_delta(signed(broken))
        assert caught.value.reason is RejectReason.INVALID
        assert "unknown level 'vault'" in str(caught.value)
        assert_still_version_1(engine)

    def test_an_altered_delta_is_refused(self, engine):
        def sneak_in(env):
            env["payload"]["added"]["credentials"][0]["levels"] = ["vault"]

        document = signed(
            delta(added=RuleEntries(credentials=(card("c-new", "nora", 3001, "office-hours"),)))
        )
        with pytest.raises(SnapshotRejected) as caught:
            engine.apply_delta(tamper(document, sneak_in))
        assert caught.value.reason is RejectReason.SIGNATURE
        assert engine.version == 1

    def test_holidays_can_be_replaced(self, engine):
        engine.apply_delta(signed(delta(holidays=(MONDAY_NOON.date(),))))
        assert engine.decide("mailroom-in", ALICE_CARD, MONDAY_NOON).reason is (
            Reason.OUTSIDE_SCHEDULE
        )


def test_the_document_chain_restores_the_same_rules(engine):
    engine.apply_delta(
        signed(delta(added=RuleEntries(credentials=(card("c-new", "nora", 3001, "office-hours"),))))
    )
    restored = DecisionEngine(KEYS)
    assert restored.restore(engine.documents) == 2
    assert restored.decide("mailroom-in", NEW_CARD, MONDAY_NOON).granted
    assert restored.rules is not None and engine.rules is not None
    assert restored.rules.snapshot == engine.rules.snapshot


def test_short_device_secrets_are_refused():
    with pytest.raises(ValueError, match="32\\+ bytes"):
        sign_document(DocumentKind.SNAPSHOT, snapshot(), b"short", "k")
