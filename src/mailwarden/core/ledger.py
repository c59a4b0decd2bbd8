"""The append-only, hash-chained ledger (DESIGN rule 2).

Entry ``n`` stores ``hash = sha256(prev_hash + body)``, where ``body`` is the canonical JSON of its
sequence number, time, actor, action, subject and data. Changing, deleting, inserting or reordering
any row breaks either a hash or a link, and :func:`verify` names the first entry where that shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Generator, Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring as _json_str  # what canonical.dumps uses
from typing import Any

from django.db import connection, transaction

from mailwarden.core import canonical, clock, plainsql
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerEntry, LedgerHead

GENESIS = "0" * 64


def _digest(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def build_entry(
    *,
    seq: int,
    prev_hash: str,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str,
    data: dict[str, Any] | None,
    at: datetime,
) -> LedgerEntry:
    """The unsaved entry that follows ``prev_hash`` at ``seq``.

    :func:`append` is the way to add to the live ledger; this is separate so that bulk loaders
    (benchmarks, imports into an empty ledger) hash exactly as ``append`` does.
    """
    body = canonical.dumps(
        {
            "seq": seq,
            "at": at.isoformat(),
            "actor": actor.label,
            "action": action,
            "subject": f"{subject_type}:{subject_id}",
            "data": data or {},
        }
    )
    return LedgerEntry(
        seq=seq,
        created_at=at,
        actor=actor.label,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        body=body,
        prev_hash=prev_hash,
        hash=_digest(prev_hash, body),
    )


@dataclass(frozen=True)
class Record:
    """What one entry says, before it has a place in the chain."""

    action: str
    subject_type: str
    subject_id: str
    data: dict[str, Any] | None = None


def append(
    actor: Actor,
    action: str,
    subject_type: str,
    subject_id: str,
    data: dict[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> LedgerEntry:
    """Append one entry. Must run inside the caller's transaction so both commit together."""
    return append_many(actor, [Record(action, subject_type, subject_id, data)], at=at)[0]


def append_many(
    actor: Actor, records: Sequence[Record], *, at: datetime | None = None
) -> list[LedgerEntry]:
    """Append consecutive entries under one lock of the head, in the caller's transaction.

    Every audited change goes through here, so it speaks SQL directly (``core.plainsql``):
    three statements whatever the number of entries (two on PostgreSQL), instead of the ORM's
    five per entry.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.append must run inside the change's transaction")
    if not records:
        return []
    at = at or clock.now()
    head_table = connection.ops.quote_name(LedgerHead._meta.db_table)
    with plainsql.cursor() as cursor:
        seq, prev_hash = _locked_head(cursor, head_table)
        entries = []
        for record in records:
            seq += 1
            entry = build_entry(
                seq=seq,
                prev_hash=prev_hash,
                actor=actor,
                action=record.action,
                subject_type=record.subject_type,
                subject_id=record.subject_id,
                data=record.data,
                at=at,
            )
            entries.append(entry)
            prev_hash = entry.hash
        insert, params = plainsql.insert_many_statement(entries)
        update = f"UPDATE {head_table} SET seq = %s, hash = %s WHERE id = 1"
        if connection.vendor == "postgresql":
            # One round trip: a data-modifying WITH always runs, to completion, before the rest.
            cursor.execute(f"WITH appended AS ({insert}) {update}", [*params, seq, prev_hash])
        else:
            cursor.execute(insert, params)
            cursor.execute(update, [seq, prev_hash])
    return entries


def _locked_head(cursor: Any, head_table: str) -> tuple[int, str]:
    # The head's row lock serialises appenders, so two transactions never claim the same seq.
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    cursor.execute(f"SELECT seq, hash FROM {head_table} WHERE id = 1{lock}")
    tip = cursor.fetchone()
    if tip is None:
        # Only the first append into an empty ledger gets here; get_or_create settles a race.
        head, _ = LedgerHead.objects.select_for_update().get_or_create(id=1)
        return head.seq, head.hash
    return int(tip[0]), str(tip[1])


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # changed | deleted | inserted | reordered | head
    detail: str

    def __str__(self) -> str:
        return f"entry {self.seq}: {self.kind}: {self.detail}"


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    head_seq: int
    head_hash: str
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


# seq, body, prev_hash, hash, actor, action, subject_type, subject_id, created_at; created_at
# is UTC text ("2026-03-02 09:00:00[.ffffff]") from _rows, or a datetime from the ORM.
Row = tuple[int, str, str, str, str, str, str, str, datetime | str]

# Timestamps are compared as text: parsing a million of them costs more than the rest of the
# check. Django already stores them so in SQLite; PostgreSQL is asked for the same spelling.
_CREATED_AT_TEXT = {
    "sqlite": "CAST(created_at AS TEXT)",
    "postgresql": "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
}


def _table() -> str:
    return connection.ops.quote_name(LedgerEntry._meta.db_table)


def _rows(batch: int, upto: int) -> Generator[Row, None, None]:
    # Stopping at the head read before the walk ignores appends made meanwhile.
    created_at = _CREATED_AT_TEXT.get(connection.vendor, "created_at")
    columns = f"seq, body, prev_hash, hash, actor, action, subject_type, subject_id, {created_at}"
    if connection.vendor == "postgresql":
        # One COPY stream reads a million rows in about half the time of paged SELECTs.
        connection.ensure_connection()
        sql = f"COPY (SELECT {columns} FROM {_table()} WHERE seq <= %s ORDER BY seq) TO STDOUT"
        with connection.connection.cursor() as cursor, cursor.copy(sql, [upto]) as copy:
            copy.set_types(["int8", *["text"] * 8])
            yield from copy.rows()
        return
    # Raw keyset pages elsewhere: flat memory on a million rows, no model instances.
    sql = f"SELECT {columns} FROM {_table()} WHERE seq > %s AND seq <= %s ORDER BY seq LIMIT %s"
    last = 0
    with connection.cursor() as cursor:
        while True:
            cursor.execute(sql, [last, upto, batch])
            chunk = cursor.fetchall()
            if not chunk:
                return
            yield from chunk
            last = chunk[-1][0]


def _hash_exists(value: str) -> bool:
    # Only asked once a link is already broken, so a scan without an index is acceptable.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {_table()} WHERE hash = %s LIMIT 1", [value])
        return cursor.fetchone() is not None


def head() -> tuple[int, str]:
    """The recorded tip of the chain: its sequence number and hash."""
    tip = LedgerHead.objects.filter(id=1).values_list("seq", "hash").first()
    return tip if tip else (0, GENESIS)


def verify(*, batch: int = 50_000, progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Walk the whole chain up to the recorded head and report the first problem."""
    head_seq, head_hash = head()
    # Closing the reader when the walk stops early ends a PostgreSQL COPY still in progress.
    with closing(_rows(batch, head_seq)) as rows:
        problem = check_chain(rows, progress=progress, hash_exists=_hash_exists)
    if problem is None:
        problem = _check_tip(head_seq, head_hash)
    checked = problem.seq - 1 if problem else head_seq
    return VerifyResult(checked, head_seq, head_hash, problem)


def _check_tip(head_seq: int, head_hash: str) -> Problem | None:
    """The walk proved entries 1..n link up; now tie entry n to the recorded head."""
    tip = LedgerEntry.objects.filter(seq__lte=head_seq).order_by("-seq")
    last_seq, last_hash = tip.values_list("seq", "hash").first() or (0, GENESIS)
    if last_seq < head_seq:
        return Problem(
            last_seq + 1,
            "deleted",
            f"the chain ends at entry {last_seq} but the recorded head is entry {head_seq}",
        )
    if last_hash != head_hash:
        return Problem(head_seq, "head", "the last entry's hash is not the recorded head's hash")
    beyond = (
        LedgerEntry.objects.filter(seq__gt=head_seq).order_by("seq").values_list("seq", flat=True)
    ).first()
    # An append commits its entry and the head together, so a legitimate entry read here is
    # already covered by a re-read head.
    if beyond is not None and head()[0] < beyond:
        return Problem(beyond, "inserted", f"entry {beyond} lies beyond the recorded head")
    return None


def check_chain(
    rows: Iterable[Row],
    *,
    progress: Callable[[int], None] | None = None,
    hash_exists: Callable[[str], bool] | None = None,
) -> Problem | None:
    """Walk the rows in sequence order and return the first problem, if any.

    ``hash_exists`` tells whether any entry has a given hash; with it a broken link can be told
    apart as a reordering (the missing predecessor is elsewhere) or a deletion (it is gone).
    """
    remaining = iter(rows)
    expected_seq = 1
    prev_hash = prev_prev_hash = GENESIS
    for row in remaining:
        seq, body, stored_prev, stored_hash = row[0], row[1], row[2], row[3]
        if seq != expected_seq:
            return Problem(
                expected_seq, "deleted", f"entry {expected_seq} is missing (next is {seq})"
            )
        if stored_prev != prev_hash:
            following = next(remaining, None)
            # A reader still streaming (PostgreSQL's COPY) must let go of the connection before
            # hash_exists can query it.
            getattr(remaining, "close", lambda: None)()
            return _broken_link(row, following, prev_prev_hash, prev_hash, hash_exists)
        if _digest(stored_prev, body) != stored_hash:
            return Problem(seq, "changed", "its content does not match its hash")
        if not _columns_match(row):
            return Problem(seq, "changed", "its columns differ from its hashed content")
        prev_prev_hash, prev_hash = prev_hash, stored_hash
        expected_seq += 1
        if progress and seq % 10_000 == 0:
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
    if _digest(stored_prev, body) != stored_hash:
        return Problem(seq, "changed", "its link to the previous entry was edited")
    if json.loads(body)["seq"] == seq:
        return Problem(
            seq - 1,
            "changed",
            "it was rewritten with a new hash; the next entry still links to the original",
        )
    return Problem(seq, "deleted", "the entry it links to is missing")


def _columns_match(row: Row) -> bool:
    """Do the queryable columns still say what the hashed body says?

    The body is canonical JSON with sorted keys, so it must read exactly
    ``{"action":A,"actor":B,"at":"T","data":...,"seq":N,"subject":S}``. Comparing that prefix
    and suffix with the columns encoded the same way is exact (a JSON string token cannot end
    early or start late inside another), and several times faster than parsing the body.
    """
    seq, body, _, _, actor, action, subject_type, subject_id, created_at = row
    prefix = f'{{"action":{_json_str(action)},"actor":{_json_str(actor)},"at":"'
    suffix = f',"seq":{seq},"subject":{_json_str(f"{subject_type}:{subject_id}")}}}'
    if not (body.startswith(prefix) and body.endswith(suffix)):
        return False
    at = body[len(prefix) : body.find('"', len(prefix))]
    return _same_time(at, created_at)


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


def _as_row(entry: LedgerEntry) -> Row:
    return (
        entry.seq,
        entry.body,
        entry.prev_hash,
        entry.hash,
        entry.actor,
        entry.action,
        entry.subject_type,
        entry.subject_id,
        entry.created_at,
    )


def check_entries(entries: Sequence[LedgerEntry]) -> list[Problem]:
    """Check a subject's entries, which are scattered through the chain, one by one.

    Each must hash correctly, agree with its columns, and link to the entry that really precedes
    it in the ledger. This proves the entries are intact; only :func:`verify` proves the whole.
    """
    predecessors = dict(
        LedgerEntry.objects.filter(seq__in=[e.seq - 1 for e in entries]).values_list("seq", "hash")
    )
    problems = []
    for entry in entries:
        linked = predecessors.get(entry.seq - 1, GENESIS if entry.seq == 1 else None)
        if _digest(entry.prev_hash, entry.body) != entry.hash:
            problems.append(Problem(entry.seq, "changed", "its content does not match its hash"))
        elif not _columns_match(_as_row(entry)):
            problems.append(
                Problem(entry.seq, "changed", "its columns differ from its hashed content")
            )
        elif linked != entry.prev_hash:
            problems.append(
                Problem(entry.seq, "reordered", "it does not link to the entry before it")
            )
    return problems


def entries_for(subject_type: str, subject_id: str) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by("seq")
    )


def entry_data(entry: LedgerEntry) -> dict[str, Any]:
    return json.loads(entry.body)["data"]
