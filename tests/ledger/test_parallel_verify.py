"""Verifying in parts on worker processes names the same problem as one walk does.

Workers read through their own connections, so the ledger here is committed
(``transactional_db``). On SQLite the test database lives in memory, where no other process
can see it, so the workers read an exact copy written to a file.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from django.db import connection

from mailwarden.core import chain, ledger
from tests.ledger.conftest import build_ledger
from tests.ledger.test_verify_cli import CASES, middle

# The walk ends cleanly in these; verify's check of the recorded head names them.
FOUND_AT_THE_HEAD = {"last deleted", "appended behind the head's back"}


@pytest.fixture
def committed_ledger(transactional_db, frozen_clock) -> int:
    return build_ledger(frozen_clock)


def source_now(folder: Path) -> chain.Source:
    """Where workers can read the ledger as it stands in the test database now."""
    found = ledger.worker_source()
    if found is not None:
        return found
    copy = folder / "ledger-copy.sqlite3"
    copy.unlink(missing_ok=True)
    with closing(sqlite3.connect(copy)) as target:
        connection.connection.backup(target)
    return chain.Source("sqlite", ledger._table(), {"database": str(copy)})


def one_walk(source: chain.Source, head: int) -> chain.Problem | None:
    with source.connect() as conn:
        rows = chain.read_rows(conn, source.vendor, source.table, 1, head)
        with closing(rows):
            return chain.check_chain(
                rows,
                hash_exists=lambda value: chain.hash_exists(
                    conn, source.vendor, source.table, value
                ),
            )


@pytest.mark.parametrize("case", list(CASES))
def test_every_part_on_its_own_names_what_one_walk_names(committed_ledger, tmp_path, case):
    head = committed_ledger
    tamper, seq, kind = CASES[case](head)
    tamper(middle(head))
    source = source_now(tmp_path)

    expected = one_walk(source, head)
    if case not in FOUND_AT_THE_HEAD:
        assert expected is not None and (expected.seq, expected.kind) == (seq, kind)
    try:
        # One entry per part: every entry sits on a boundary between parts.
        found = chain.check_in_parallel(source, head, jobs=2, parts=head)
    except chain.WalkInstead:
        # Only where entries before a part were deleted or moved; verify then walks.
        assert kind in ("deleted", "inserted", "reordered")
    else:
        assert found == expected


def test_a_sound_ledger_passes_in_a_few_parts(committed_ledger, tmp_path):
    seen: list[int] = []
    source = source_now(tmp_path)
    found = chain.check_in_parallel(source, committed_ledger, jobs=2, parts=3, progress=seen.append)
    assert found is None
    # Progress is reported part by part, in order, up to the last entry.
    assert seen == sorted(seen) and seen[-1] == committed_ledger and len(seen) == 3


def test_verify_with_jobs_matches_one_walk(committed_ledger, monkeypatch):
    if ledger.worker_source() is None:
        pytest.skip("workers cannot reach an in-memory SQLite test database")
    monkeypatch.setattr(ledger, "PARALLEL_FROM", 1)
    assert ledger.verify(jobs=2) == ledger.verify(jobs=1)
    CASES["deleted, later entries renumbered"](committed_ledger)[0](middle(committed_ledger))
    walked = ledger.verify(jobs=1)
    assert not walked.ok
    assert ledger.verify(jobs=2) == walked


def test_workers_that_cannot_read_the_ledger_leave_it_to_one_walk(
    committed_ledger, tmp_path, monkeypatch
):
    unreachable = chain.Source("sqlite", ledger._table(), {"database": str(tmp_path / "gone")})
    with pytest.raises(chain.WalkInstead):
        chain.check_in_parallel(unreachable, committed_ledger, jobs=2, parts=2)

    monkeypatch.setattr(ledger, "PARALLEL_FROM", 1)
    monkeypatch.setattr(ledger, "worker_source", lambda: unreachable)
    result = ledger.verify(jobs=2)
    assert result.ok and result.checked == committed_ledger

    # The Merkle tree for the checkpoint check is rebuilt in one pass then, too.
    from mailwarden.core import checkpoints
    from mailwarden.core.actor import Actor

    size = checkpoints.write(Actor.job("test")).checkpoint.size
    result = ledger.verify(jobs=2)
    assert result.ok and result.checkpoint_size == size


def test_the_merkle_tree_rebuilt_in_parts_is_the_one_rebuilt_in_one_pass(
    committed_ledger, tmp_path
):
    from django.db import transaction

    from mailwarden.core import checkpoints
    from mailwarden.core.actor import Actor

    with transaction.atomic():
        records = [ledger.Record("core.test.appended", "test", str(i)) for i in range(1000)]
        ledger.append_many(Actor.job("test"), records)
    head = ledger.head()[0]
    in_parts = checkpoints._live_tree_in_parts(source_now(tmp_path), head, jobs=2)
    one_pass = checkpoints.live_tree(head)
    assert in_parts.size == one_pass.size == head
    assert in_parts.tiles == one_pass.tiles
    assert in_parts.root() == one_pass.root()
