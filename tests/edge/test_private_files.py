"""What the controller keeps on disk (card data, PIN hashes, signed rules) is owner-only, even
under a permissive umask and over files an earlier release left readable."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailwarden.edge.outbox import Outbox
from mailwarden.edge.sync import Journal, RuleStore


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_the_journal_is_owner_only_when_made_and_after_rotation(tmp_path):
    journal = Journal(tmp_path / "journal.jsonl", max_bytes=200)
    for n in range(5):
        journal.record("card_rejected", "parity", data_hex="ab" * 40, n=n)
    assert (tmp_path / "journal.jsonl.1").exists(), "the journal rotated"
    assert mode(tmp_path / "journal.jsonl") == 0o600
    assert mode(tmp_path / "journal.jsonl.1") == 0o600


def test_an_old_readable_journal_is_made_owner_only(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text("")
    path.chmod(0o644)
    Journal(path)
    assert mode(path) == 0o600


def test_stored_rules_are_owner_only(tmp_path):
    store = RuleStore(tmp_path / "rules.json")
    (tmp_path / "rules.json.tmp").write_text("left by a crash")
    (tmp_path / "rules.json.tmp").chmod(0o644)
    store.save([b'{"signed": "document"}'])
    assert mode(tmp_path / "rules.json") == 0o600
    assert store.load() == [b'{"signed": "document"}']


def test_the_outbox_and_its_wal_are_owner_only(tmp_path):
    path = tmp_path / "outbox.sqlite3"
    path.touch(mode=0o644)
    outbox = Outbox(path)
    try:
        assert outbox.pending_count() == 0
        assert mode(path) == 0o600
        assert mode(tmp_path / "outbox.sqlite3-wal") == 0o600
    finally:
        outbox.close()
