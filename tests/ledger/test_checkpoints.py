"""Signed checkpoints hold the ledger to a record outside its database (docs/ledger.md).

The two attacks a database writer could make unseen by the hash chain alone, recomputing every
hash after an edit and cutting the ledger short with its head moved back, both fail
`mailwarden ledger verify` once a checkpoint was signed, and each is named.
"""

from __future__ import annotations

import os
import stat
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.db import transaction

from mailwarden.config import get_settings
from mailwarden.core import checkpoints, ledger, merkle, outbox, tasks
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerEntry, LedgerHead, Notification
from mailwarden.core.signednote import Checkpoint, open_checkpoint
from tests.ledger.conftest import as_json, row, sql

JOB = Actor.job("test")


def rewrite_from(k: int, old: str = "x-ray clear", new: str = "waved through") -> None:
    """Attack (a): edit entry k's body, then recompute every hash from it to the head."""
    head_seq = LedgerHead.objects.get(id=1).seq
    prev_hash = row(k - 1).hash if k > 1 else ledger.GENESIS
    for seq in range(k, head_seq + 1):
        entry = row(seq)
        body = entry.body.replace(old, new) if seq == k else entry.body
        assert seq != k or body != entry.body
        new_hash = ledger.digest(prev_hash, body)
        sql(
            "UPDATE {t} SET body = %s, prev_hash = %s, hash = %s WHERE seq = %s",
            [body, prev_hash, new_hash, seq],
        )
        prev_hash = new_hash
    sql("UPDATE core_ledgerhead SET hash = %s WHERE id = 1", [prev_hash])


def truncate_after(n: int) -> None:
    """Attack (b): delete the entries after n and move the head back to n."""
    sql("DELETE FROM {t} WHERE seq > %s", [n])
    sql("UPDATE core_ledgerhead SET seq = %s, hash = %s WHERE id = 1", [n, row(n).hash])


def grow(n: int) -> None:
    for i in range(n):
        with transaction.atomic():
            ledger.append(JOB, "core.test.appended", "test", str(i))


def clearing_entry() -> int:
    return LedgerEntry.objects.filter(body__contains="x-ray clear").order_by("seq")[0].seq


@pytest.fixture
def checkpointed(built_ledger) -> int:
    """The built ledger, with a signed checkpoint of it. Returns the checkpoint's size."""
    written = checkpoints.write(JOB)
    assert written.new and written.checkpoint.size == built_ledger
    return built_ledger


def test_a_checkpoint_is_a_signed_c2sp_note_named_by_its_size(checkpointed):
    path = checkpoints.file_for(checkpointed)
    note = path.read_text()
    origin, size, _root, blank, signature, end = note.split("\n")
    assert (size, blank, end) == (str(checkpointed), "", "")
    assert signature.startswith(f"\u2014 {origin} ")
    opened = open_checkpoint(note, checkpoints.verifier())
    leaves = [checkpoints.leaf(e.body) for e in LedgerEntry.objects.filter(seq__lte=checkpointed)]
    assert opened == Checkpoint(origin, checkpointed, merkle.root_of(leaves))
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    # The checkpoint is itself on the ledger, as its last entry.
    last = LedgerEntry.objects.order_by("-seq").first()
    assert (last.action, last.subject_id) == ("core.ledger.checkpointed", str(checkpointed))


def test_the_key_is_made_once_with_owner_only_permissions(db):
    path = get_settings().ledger_key_path()
    key = checkpoints.signer()
    assert path.exists() and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert checkpoints.signer() == key


def test_a_checkpoint_is_never_overwritten(checkpointed, frozen_clock):
    again = checkpoints.write(JOB)  # only the checkpoint's own entry is new
    assert again.new and again.checkpoint.size == checkpointed + 1
    assert checkpoints.write(JOB).new is True  # its entry, again
    first = checkpoints.file_for(checkpointed)
    before = first.read_text()
    assert checkpoints._write_once(first, "forged") is False
    assert first.read_text() == before


def test_verify_passes_and_says_which_checkpoint_it_matched(checkpointed, run_cli):
    checkpoints.write(JOB)
    outcome = run_cli("ledger", "verify", "--json")
    assert outcome.code == 0, outcome.err
    result = as_json(outcome)
    assert (result["checkpoints"], result["checkpoint_size"], result["consistent"]) == (
        2,
        checkpointed + 1,
        1,
    )


def test_attack_a_a_rewritten_and_rehashed_entry_is_named(checkpointed, run_cli):
    target = clearing_entry()
    rewrite_from(target)
    assert ledger.verify(checkpoints=False).ok  # the chain alone cannot see it
    outcome = run_cli("ledger", "verify", "--json")
    assert outcome.code == 1
    problem = as_json(outcome)["problem"]
    assert (problem["seq"], problem["kind"]) == (target, "rewritten")
    assert f"entry {target} is not the entry checkpoint {checkpointed} signed" in problem["detail"]


def test_attack_a_is_named_even_after_later_appends(checkpointed, frozen_clock, run_cli):
    grow(5)  # more entries after the checkpoint
    target = clearing_entry()
    rewrite_from(target)
    outcome = run_cli("ledger", "verify")
    assert outcome.code == 1
    assert f"entry {target}: rewritten" in outcome.err


def test_attack_a_with_the_tree_cache_rewritten_too_still_fails_with_a_range(checkpointed, run_cli):
    target = clearing_entry()
    rewrite_from(target)
    sql("DELETE FROM core_ledgertile")
    sql("UPDATE core_ledgertree SET size = 0")
    checkpoints.extend_cache()  # the cache now holds the rewritten history
    outcome = run_cli("ledger", "verify", "--json")
    assert outcome.code == 1
    problem = as_json(outcome)["problem"]
    assert (problem["kind"], problem["seq"]) == ("rewritten", 1)
    assert f"among 1..{checkpointed}" in problem["detail"]


def test_attack_b_a_truncated_ledger_is_named_with_the_missing_range(checkpointed, run_cli):
    keep = checkpointed - 3
    truncate_after(keep)
    assert ledger.verify(checkpoints=False).ok  # the chain alone cannot see it
    outcome = run_cli("ledger", "verify", "--json")
    assert outcome.code == 1
    problem = as_json(outcome)["problem"]
    assert (problem["seq"], problem["kind"]) == (keep + 1, "truncated")
    assert f"entries {keep + 1}..{checkpointed} are missing" in problem["detail"]


def test_attack_b_then_regrown_to_the_same_length_is_a_rewrite(checkpointed, run_cli):
    # Cut short, then appended to again past the checkpoint: the history differs at the cut.
    keep = checkpointed - 2
    truncate_after(keep)
    grow(4)
    outcome = run_cli("ledger", "verify", "--json")
    assert outcome.code == 1
    problem = as_json(outcome)["problem"]
    assert (problem["seq"], problem["kind"]) == (keep + 1, "rewritten")


def test_a_checkpoint_is_refused_over_a_rewritten_ledger(checkpointed, run_cli):
    truncate_after(checkpointed - 1)
    outcome = run_cli("ledger", "checkpoint")
    assert outcome.code == 1
    assert "refused" in outcome.err


def test_a_forged_checkpoint_file_is_reported(checkpointed, run_cli):
    forged = checkpoints.file_for(checkpointed + 5)
    forged.write_text(checkpoints.file_for(checkpointed).read_text().replace("\n\n", "\nx\n\n"))
    outcome = run_cli("ledger", "verify", "--json")
    assert outcome.code == 1
    assert as_json(outcome)["problem"]["kind"] == "checkpoint"


def test_the_schedule_checkpoints_when_due_and_only_when_the_ledger_grew(
    built_ledger, frozen_clock
):
    interval = get_settings().ledger_checkpoint_interval_s
    assert tasks.tick(frozen_clock()).jobs["ledger-checkpoint"] == 1
    grow(3)
    frozen_clock.advance(seconds=1)
    assert tasks.tick(frozen_clock()).jobs["ledger-checkpoint"] == 0  # not due yet
    frozen_clock.advance(seconds=interval)
    assert tasks.tick(frozen_clock()).jobs["ledger-checkpoint"] == 1
    frozen_clock.advance(seconds=interval * 2)
    # Only the last checkpoint's own entry since: nothing to sign.
    assert tasks.tick(frozen_clock()).jobs["ledger-checkpoint"] == 0
    assert len(checkpoints.valid()) == 2


def test_witnesses_get_each_checkpoint_and_a_failure_is_retried(
    checkpointed, frozen_clock, monkeypatch
):
    from mailwarden.core.models import OutboxEvent

    event = OutboxEvent.objects.get(topic="core.ledger.checkpointed")
    assert event.key == f"core.ledger.checkpointed:{checkpointed}"
    assert checkpoints.file_for(checkpointed).read_text() == event.payload["checkpoint"]
    received: list[bytes] = []
    up = threading.Event()

    class Witness(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(200 if up.is_set() else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Witness)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/add-checkpoint"
        monkeypatch.setattr(get_settings(), "ledger_witness_urls", [url])
        outbox.dispatch_due(frozen_clock())
        event.refresh_from_db()
        assert event.status == "pending" and "witness delivery failed" in event.last_error
        up.set()
        outbox.dispatch_due(frozen_clock.advance(hours=1))
        event.refresh_from_db()
        assert event.status == "done"
        assert received[-1].decode() == event.payload["checkpoint"] and len(received) == 2
    finally:
        server.shutdown()


def test_auditors_are_emailed_each_checkpoint(built_ledger, monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "ledger_auditor_emails", ["audit@example.org"])
    written = checkpoints.write(JOB)
    mail = Notification.objects.get(kind="ledger_checkpoint")
    assert mail.to_address == "audit@example.org"
    assert written.note in mail.body


def test_in_production_a_missing_key_is_never_made_and_verify_says_so(
    built_ledger, monkeypatch, tmp_path, run_cli
):
    settings = get_settings()
    monkeypatch.setattr(settings, "env", "production")
    monkeypatch.setattr(settings, "ledger_key_file", tmp_path / "absent.key")
    outcome = run_cli("ledger", "verify", "--json")
    assert outcome.code == 1
    problem = as_json(outcome)["problem"]
    assert problem["kind"] == "checkpoint" and "cannot read the ledger key" in problem["detail"]
    assert not (tmp_path / "absent.key").exists()
    assert tasks.tick().jobs["ledger-checkpoint"] == 0
    monkeypatch.setattr(settings, "ledger_key_file", None)
    assert run_cli("ledger", "checkpoint").code == 2  # MW_LEDGER_KEY_FILE must be set


def test_checkpoints_written_at_once_all_hold(pg, frozen_clock):
    from tests.conftest import race
    from tests.ledger.conftest import build_ledger

    build_ledger(frozen_clock)
    results = race(*[lambda: checkpoints.write(JOB)] * 4)
    assert not [r for r in results if isinstance(r, Exception)], results
    files = checkpoints.found()
    assert files and all(f.checkpoint is not None for f in files)
    result = ledger.verify()
    assert result.ok and result.checkpoints == len(files), result.problem


def test_a_checkpoint_written_but_not_recorded_is_recorded_by_the_next_write(built_ledger):
    from mailwarden.core.models import OutboxEvent

    key = checkpoints.signer()
    tree = checkpoints.extend_cache()
    note = checkpoints.sign_checkpoint(Checkpoint(key.name, tree.size, tree.root()), key)
    # The file was written, then the database failed before the ledger recorded it.
    assert checkpoints._write_once(checkpoints.file_for(tree.size), note)
    written = checkpoints.write(JOB)
    assert written.new and written.checkpoint.size == built_ledger
    assert OutboxEvent.objects.filter(topic="core.ledger.checkpointed").count() == 1
    assert checkpoints.write(JOB).checkpoint.size == built_ledger + 1
    assert LedgerEntry.objects.filter(action="core.ledger.checkpointed").count() == 2
