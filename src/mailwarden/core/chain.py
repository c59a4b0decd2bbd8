"""Checking the ledger's hash chain: pure code over rows read straight from the database.

Nothing here imports Django, so worker processes can check parts of a long chain in parallel
(:func:`check_in_parallel`): each opens its own connection from a :class:`Source` and starts
from the two entries before its part, as a single walk would arrive there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
from collections.abc import Callable, Generator, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring as _json_str  # what canonical.dumps uses
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

GENESIS = "0" * 64

# seq, body, prev_hash, hash, actor, action, subject_type, subject_id, created_at; created_at
# is UTC text ("2026-03-02 09:00:00[.ffffff]") from read_rows, or a datetime from the ORM.
Row = tuple[int, str, str, str, str, str, str, str, datetime | str]

# Timestamps are compared as text: parsing a million of them costs more than the rest of the
# check. Django already stores them so in SQLite; PostgreSQL is asked for the same spelling.
_CREATED_AT_TEXT = {
    "sqlite": "CAST(created_at AS TEXT)",
    "postgresql": "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
}


def digest(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


@dataclass(frozen=True)
class Problem:
    seq: int
    # changed | deleted | inserted | reordered | head; against the signed checkpoints
    # (core.checkpoints): rewritten | truncated | inconsistent | checkpoint
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class Walk:
    """Where a walk stands before an entry: the seq it expects and the last two hashes."""

    seq: int = 1
    prev_hash: str = GENESIS
    prev_prev_hash: str = GENESIS


def check_chain(
    rows: Iterable[Row],
    *,
    progress: Callable[[int], None] | None = None,
    hash_exists: Callable[[str], bool] | None = None,
    start: Walk = Walk(),
    stop: int | None = None,
) -> Problem | None:
    """Walk the rows in sequence order from ``start`` up to ``stop`` and return the first problem.

    ``hash_exists`` tells whether any entry has a given hash; with it a broken link can be told
    apart as a reordering (the missing predecessor is elsewhere) or a deletion (it is gone).
    A row past ``stop`` is only read as the one that follows a broken link.
    """
    remaining = iter(rows)
    expected_seq, prev_hash, prev_prev_hash = start.seq, start.prev_hash, start.prev_prev_hash
    # No real chain reaches this seq, so a walk without a stop never stops early.
    limit = stop if stop is not None else 1 << 62
    # A million rows pass through here: the per-row work is inlined, with the hash function
    # and the body prefixes of the (action, actor) pairs met so far held locally.
    sha256 = hashlib.sha256
    prefixes: dict[tuple[str, str], str] = {}
    for row in remaining:
        seq, body, stored_prev, stored_hash, actor, action, subject_type, subject_id, at = row
        if seq != expected_seq:
            return Problem(
                expected_seq, "deleted", f"entry {expected_seq} is missing (next is {seq})"
            )
        if seq > limit:
            return None
        if stored_prev != prev_hash:
            following = next(remaining, None)
            # A reader still streaming (PostgreSQL's COPY) must let go of the connection before
            # hash_exists can query it.
            getattr(remaining, "close", lambda: None)()
            return _broken_link(row, following, prev_prev_hash, prev_hash, hash_exists)
        if sha256((stored_prev + body).encode()).hexdigest() != stored_hash:
            return Problem(seq, "changed", "its content does not match its hash")
        prefix = prefixes.get((action, actor))
        if prefix is None:
            prefix = prefixes[(action, actor)] = _body_prefix(action, actor)
        # The common case, decided in two comparisons: the body opens with the prefix and the
        # stored time spelt as the body spells it. Whatever fails that is judged in full by
        # columns_match, so the fast path only ever accepts what columns_match accepts.
        if not (
            type(at) is str
            and "T" not in at
            and '"' not in at
            and body.startswith(f'{prefix}{at.replace(" ", "T", 1)}+00:00"')
            and body.endswith(
                f',"seq":{seq},"subject":{_json_str(f"{subject_type}:{subject_id}")}}}'
            )
        ) and not columns_match(row):
            return Problem(seq, "changed", "its columns differ from its hashed content")
        prev_prev_hash, prev_hash = prev_hash, stored_hash
        expected_seq += 1
        if progress is not None and seq % 10_000 == 0:
            progress(seq)
    return None


def _broken_link(
    row: Row,
    following: Row | None,
    prev_prev_hash: str,
    prev_hash: str,
    hash_exists: Callable[[str], bool] | None,
) -> Problem:
    """Say why entry ``row`` does not link to the entry before it.

    Each test looks for the trace a kind of tampering leaves: an inserted entry that the next
    one skips over, a predecessor that still exists elsewhere, a link column edited in place,
    an entry rewritten with a fresh hash, or a predecessor that is simply gone.
    """
    seq, body, stored_prev, stored_hash = row[0], row[1], row[2], row[3]
    if stored_prev == prev_prev_hash:
        return Problem(seq - 1, "inserted", "the next entry links past it to the one before")
    if (following is not None and following[3] == stored_prev) or (
        hash_exists is not None and hash_exists(stored_prev)
    ):
        return Problem(seq, "reordered", "the entry it links to sits elsewhere in the chain")
    if following is not None and following[2] == prev_hash:
        return Problem(seq, "inserted", "the next entry links past it to the one before")
    if digest(stored_prev, body) != stored_hash:
        return Problem(seq, "changed", "its link to the previous entry was edited")
    if json.loads(body)["seq"] == seq:
        return Problem(
            seq - 1,
            "changed",
            "it was rewritten with a new hash; the next entry still links to the original",
        )
    return Problem(seq, "deleted", "the entry it links to is missing")


def columns_match(row: Row) -> bool:
    """Do the queryable columns still say what the hashed body says?

    The body is canonical JSON with sorted keys, so it must read exactly
    ``{"action":A,"actor":B,"at":"T","data":...,"seq":N,"subject":S}``. Comparing that prefix
    and suffix with the columns encoded the same way is exact (a JSON string token cannot end
    early or start late inside another), and several times faster than parsing the body.
    """
    seq, body, _, _, actor, action, subject_type, subject_id, created_at = row
    prefix = _body_prefix(action, actor)
    suffix = f',"seq":{seq},"subject":{_json_str(f"{subject_type}:{subject_id}")}}}'
    if not (body.startswith(prefix) and body.endswith(suffix)):
        return False
    start = len(prefix)
    return _same_time(body[start : body.find('"', start)], created_at)


@lru_cache(maxsize=4096)
def _body_prefix(action: str, actor: str) -> str:
    # A ledger holds few (action, actor) pairs, and a walk meets each of them many times.
    return f'{{"action":{_json_str(action)},"actor":{_json_str(actor)},"at":"'


def _same_time(at: str, stored: datetime | str) -> bool:
    if isinstance(stored, str):
        if at.endswith("+00:00"):
            utc = at[:-6].replace("T", " ", 1)
            if stored in (utc, utc + ".000000"):
                return True
        stored = datetime.fromisoformat(stored)
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=UTC)
    try:
        return datetime.fromisoformat(at) == stored
    except ValueError:
        return False


def _read(
    conn: Any,
    vendor: str,
    table: str,
    columns: str,
    types: list[str],
    first: int,
    upto: int,
    batch: int,
) -> Generator[Any, None, None]:
    """``columns`` of entries ``first``..``upto`` in sequence order, from a DB-API connection
    (not Django's); ``types`` are the columns' PostgreSQL types for COPY."""
    if vendor == "postgresql":
        # One COPY stream reads a million rows in about half the time of paged SELECTs.
        sql = (
            f"COPY (SELECT {columns} FROM {table} WHERE seq >= %s AND seq <= %s ORDER BY seq)"
            " TO STDOUT"
        )
        with conn.cursor() as cursor, cursor.copy(sql, [first, upto]) as copy:
            copy.set_types(types)
            yield from copy.rows()
        return
    # Raw keyset pages elsewhere: flat memory on a million rows, no model instances.
    mark = "?" if vendor == "sqlite" else "%s"
    sql = (
        f"SELECT {columns} FROM {table} WHERE seq > {mark} AND seq <= {mark}"
        f" ORDER BY seq LIMIT {mark}"
    )
    last = first - 1
    cursor = conn.cursor()
    try:
        while True:
            cursor.execute(sql, [last, upto, batch])
            chunk = cursor.fetchall()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1][0]
    finally:
        cursor.close()


def read_rows(
    conn: Any, vendor: str, table: str, first: int, upto: int, batch: int = 50_000
) -> Generator[Row, None, None]:
    """Entries ``first``..``upto`` in sequence order, from a DB-API connection (not Django's)."""
    created_at = _CREATED_AT_TEXT.get(vendor, "created_at")
    columns = f"seq, body, prev_hash, hash, actor, action, subject_type, subject_id, {created_at}"
    # The reader itself, not a generator around it: each level of ``yield from`` costs a
    # resumption per row, on a million rows.
    return _read(conn, vendor, table, columns, ["int8", *["text"] * 8], first, upto, batch)


def read_bodies(
    conn: Any, vendor: str, table: str, first: int, upto: int, batch: int = 50_000
) -> Generator[tuple[int, str], None, None]:
    """``(seq, body)`` of entries ``first``..``upto`` in sequence order: what the Merkle tree of
    the ledger (``core.merkle``, ``core.checkpoints``) is built from."""
    return _read(conn, vendor, table, "seq, body", ["int8", "text"], first, upto, batch)


def leaf_hashes(rows: Iterable[tuple[int, str]], first: int) -> list[bytes]:
    """The Merkle leaf hashes of rows that must be entries ``first``, ``first + 1``, ... in turn.

    Raises ValueError naming the first entry missing from the run.
    """
    from mailwarden.core.merkle import leaf_hash

    leaves: list[bytes] = []
    for seq, body in rows:
        if seq != first + len(leaves):
            raise ValueError(f"entry {first + len(leaves)} is missing")
        leaves.append(leaf_hash(body.encode()))
    return leaves


def leaf_part(source: Source, first: int, last: int) -> tuple[bytes, bytes]:
    """For a worker process: the leaf hashes of entries ``first``..``last`` (``first - 1`` a
    multiple of 256) and the roots of the complete 256-leaf tiles they make, both concatenated."""
    from mailwarden.core.merkle import tile_roots

    with source.connect() as conn:
        rows = read_bodies(conn, source.vendor, source.table, first, last)
        with closing(rows):
            leaves = leaf_hashes(rows, first)
    if len(leaves) != last - first + 1:
        raise ValueError(f"entry {first + len(leaves)} is missing")
    return b"".join(leaves), b"".join(tile_roots(leaves))


def worker_pool(source: Source, jobs: int) -> ProcessPoolExecutor:
    # forkserver: workers start from a clean interpreter that has imported only this module,
    # not from a copy of a process holding database connections and their threads.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if context.get_start_method() == "forkserver":
        driver = "psycopg" if source.vendor == "postgresql" else "sqlite3"
        context.set_forkserver_preload([__name__, driver])
    return ProcessPoolExecutor(max_workers=jobs, mp_context=context)


def hash_exists(conn: Any, vendor: str, table: str, value: str) -> bool:
    # Only asked once a link is already broken, so a scan without an index is acceptable.
    mark = "?" if vendor == "sqlite" else "%s"
    cursor = conn.cursor()
    try:
        cursor.execute(f"SELECT 1 FROM {table} WHERE hash = {mark} LIMIT 1", [value])
        return cursor.fetchone() is not None
    finally:
        cursor.close()


@dataclass(frozen=True)
class Source:
    """How a worker process reaches the ledger: SQLite's file, or PostgreSQL's libpq keywords."""

    vendor: str
    table: str
    params: dict[str, str | int] = field(repr=False)

    @contextmanager
    def connect(self) -> Iterator[Any]:
        if self.vendor == "sqlite":
            import sqlite3

            path = Path(str(self.params["database"])).resolve()
            conn: Any = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        else:
            import psycopg

            conn = psycopg.connect(**self.params)  # type: ignore[arg-type]
        try:
            yield conn
        finally:
            conn.close()


class WalkInstead(Exception):
    """Checking in parts cannot give one walk's answer here; walk the chain in one pass."""


# What a part answers when it cannot start where one walk would arrive: its predecessors are
# not the two entries just before it (entries were deleted or moved there).
UNANCHORED = Problem(0, "unanchored", "the entries before this part are not in order")


def check_part(source: Source, first: int, last: int, upto: int) -> Problem | None:
    """Check entries ``first``..``last`` of a chain whose walk stops at ``upto``.

    The two entries before ``first`` set the walk's start; the one after ``last`` is read only
    to explain a broken link, as a single walk would.
    """
    with source.connect() as conn:
        lead = max(1, first - 2)
        rows = read_rows(conn, source.vendor, source.table, lead, min(last + 1, upto))
        with closing(rows):
            before = [next(rows, None) for _ in range(first - lead)]
            hashes = [row[3] for row in before if row is not None]
            if [row[0] if row else None for row in before] != list(range(lead, first)):
                return UNANCHORED
            start = Walk(first, *([*reversed(hashes), GENESIS, GENESIS][:2]))
            return check_chain(
                rows,
                hash_exists=lambda value: hash_exists(conn, source.vendor, source.table, value),
                start=start,
                stop=last,
            )


def check_in_parallel(
    source: Source,
    upto: int,
    *,
    jobs: int,
    parts: int,
    progress: Callable[[int], None] | None = None,
) -> Problem | None:
    """Check entries 1..``upto`` in ``parts`` consecutive parts on ``jobs`` worker processes.

    The first part with a problem holds the problem one walk would find first: every part
    before it is sound, so it began exactly where that walk would have. Raises
    :class:`WalkInstead` when that part could not start so, or when the workers fail (a
    connection refused, say): one walk then gives the answer, only more slowly.
    """
    size = -(-upto // parts)
    bounds = [(first, min(first + size - 1, upto)) for first in range(1, upto + 1, size)]
    try:
        with worker_pool(source, jobs) as pool:
            futures: list[Future[Problem | None]] = [
                pool.submit(check_part, source, first, last, upto) for first, last in bounds
            ]
            try:
                for (first, last), future in zip(bounds, futures, strict=True):
                    problem = future.result()
                    if problem == UNANCHORED:
                        raise WalkInstead(f"the entries before {first} are out of order")
                    if problem is not None:
                        return problem
                    if progress:
                        progress(last)
            finally:
                for future in futures:
                    future.cancel()
    except WalkInstead:
        raise
    except Exception as exc:
        log.warning("checking the ledger in parts failed (%s); walking it in one pass", exc)
        raise WalkInstead(str(exc)) from exc
    return None
