"""The append-only, hash-chained ledger (docs/architecture.md rule 2).

Entry ``n`` stores ``hash = sha256(prev_hash + body)``, where ``body`` is the canonical JSON of its
sequence number, time, actor, action, subject and data. Changing, deleting, inserting or reordering
any row breaks either a hash or a link, and :func:`verify` names the first entry where that shows.

Actions are named ``<app>.<noun>.<verb>``, the verb in the past tense, as the outbox's topics are.
Entries are never rewritten, so older ledgers keep the names their entries were written with:
:data:`LEGACY_ACTIONS` maps each of those to its current name, and every reader of actions goes
through :func:`current_action` (to read an entry) or :func:`stored_as` (to filter on a name).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from django.db import connection, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteDatabase

from mailwarden.contracts.events import LedgerVerifyFailed
from mailwarden.core import canonical, chain, clock, outbox, plainsql
from mailwarden.core.actor import Actor
from mailwarden.core.chain import GENESIS, Problem, Row, columns_match, digest
from mailwarden.core.models import LedgerEntry, LedgerHead

# The names entries were written with before the ``<app>.<noun>.<verb>`` scheme, and the name
# each has now. The one list of them: entries carrying these are read as the current name.
LEGACY_ACTIONS: Mapping[str, str] = MappingProxyType(
    {
        "auth.locked_out": "core.user.locked_out",
        "auth.sign_in": "core.user.signed_in",
        "auth.sign_in_failed": "core.user.sign_in_failed",
        "auth.sign_out": "core.user.signed_out",
        "security.mfa_enrol": "core.user.mfa_enrolled",
        "security.mfa_policy": "core.mfa_policy.changed",
        "token.issue": "core.token.issued",
        "token.revoke": "core.token.revoked",
        "user.create": "core.user.created",
        "custody.escalated": "custody.item.escalated",
        "custody.intake": "custody.item.received",
        "custody.move": "custody.item.moved",
        "custody.photo": "custody.item.photo_attached",
        "custody.pickup_code_failed": "custody.pickup_code.rejected",
        "custody.reminder_sent": "custody.reminder.sent",
        "custody.transition": "custody.item.transitioned",
        "screening.confirm": "screening.decision.confirmed",
        "screening.decision": "screening.decision.recorded",
        "screening.policy": "screening.policy.updated",
        "screening.quarantine_confirm": "screening.quarantine_outcome.confirmed",
        "screening.quarantine_propose": "screening.quarantine_outcome.proposed",
        "screening.scan": "screening.scan.stored",
        "access.alarm": "access.alarm.raised",
        "access.alarm.acknowledge": "access.alarm.acknowledged",
        "access.alarm.thresholds": "access.alarm_thresholds.changed",
        "access.area.create": "access.area.created",
        "access.cardholder.create": "access.cardholder.created",
        "access.cardholder.update": "access.cardholder.updated",
        "access.controller.create": "access.controller.created",
        "access.controller.rekey": "access.controller.rekeyed",
        "access.credential.issue": "access.credential.issued",
        "access.credential.levels": "access.credential.levels_changed",
        "access.credential.revoke": "access.credential.revoked",
        "access.door.create": "access.door.created",
        "access.door.mode": "access.door.mode_changed",
        "access.door.rules": "access.door.rules_changed",
        "access.forced_open": "access.door.forced_open",
        "access.holiday.add": "access.holiday.added",
        "access.holiday.remove": "access.holiday.removed",
        "access.level.create": "access.level.created",
        "access.level.update": "access.level.updated",
        "access.lockdown": "access.lockdown.started",
        "access.lockdown.lift": "access.lockdown.lifted",
        "access.pin_policy.create": "access.pin_policy.created",
        "access.reader.create": "access.reader.created",
        "access.rules.publish": "access.rules.published",
        "access.rules_rejected": "access.controller.rules_rejected",
        "access.schedule.create": "access.schedule.created",
        "access.schedule.update": "access.schedule.updated",
        "access.tamper": "access.reader.tampered",
    }
)
_LEGACY_NAMES: dict[str, tuple[str, ...]] = {}
for _old, _new in LEGACY_ACTIONS.items():
    _LEGACY_NAMES[_new] = (*_LEGACY_NAMES.get(_new, ()), _old)


def current_action(action: str) -> str:
    """The current name of a stored action (itself, unless it is a legacy name)."""
    return LEGACY_ACTIONS.get(action, action)


def stored_as(*actions: str) -> list[str]:
    """Every name entries of these actions may carry: each current name and its legacy names.

    For filters: ``LedgerEntry.objects.filter(action__in=ledger.stored_as("custody.item.moved"))``.
    """
    names: list[str] = []
    for action in actions:
        current = current_action(action)
        names += [current, *_LEGACY_NAMES.get(current, ())]
    return names


# Below this many entries one walk ends before worker processes would have started.
PARALLEL_FROM = 100_000


def default_jobs() -> int:
    """Worker processes for checking a long ledger: one per core, at most 4."""
    return min(4, os.cpu_count() or 1)


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
        hash=digest(prev_hash, body),
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
class VerifyResult:
    checked: int
    head_seq: int
    head_hash: str
    problem: Problem | None
    # The signed checkpoints found in the checkpoint folder, the newest one's tree size, and
    # how many older ones were proved consistent with it (core.checkpoints).
    checkpoints: int = 0
    checkpoint_size: int | None = None
    consistent: int = 0

    @property
    def ok(self) -> bool:
        return self.problem is None


def _table() -> str:
    return connection.ops.quote_name(LedgerEntry._meta.db_table)


def _rows(batch: int, upto: int) -> Generator[Row, None, None]:
    # Stopping at the head read before the walk ignores appends made meanwhile. The reader is
    # returned, not wrapped in another generator, which would cost a resumption per row.
    connection.ensure_connection()
    return chain.read_rows(connection.connection, connection.vendor, _table(), 1, upto, batch)


def _hash_exists(value: str) -> bool:
    return chain.hash_exists(connection.connection, connection.vendor, _table(), value)


def head() -> tuple[int, str]:
    """The recorded tip of the chain: its sequence number and hash."""
    tip = LedgerHead.objects.filter(id=1).values_list("seq", "hash").first()
    return tip if tip else (0, GENESIS)


def verify(
    *,
    batch: int = 50_000,
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
    checkpoints: bool = True,
) -> VerifyResult:
    """Walk the whole chain up to the recorded head and report the first problem; then hold
    the ledger to its signed checkpoints (``core.checkpoints.check``), which is what catches a
    chain recomputed after an edit, or cut short with its head moved back.

    With ``jobs`` above 1, a long chain is checked in parts by that many worker processes,
    which gives the same answer as one walk (``chain.check_in_parallel``).
    """
    head_seq, head_hash = head()
    try:
        problem = _check_in_parts(head_seq, jobs, progress)
    except chain.WalkInstead:
        # Closing the reader when the walk stops early ends a PostgreSQL COPY still in progress.
        with closing(_rows(batch, head_seq)) as rows:
            problem = chain.check_chain(rows, progress=progress, hash_exists=_hash_exists)
    if problem is None:
        problem = _check_tip(head_seq, head_hash)
    if problem is not None or not checkpoints:
        checked = problem.seq - 1 if problem else head_seq
        return VerifyResult(checked, head_seq, head_hash, problem)
    from mailwarden.core import checkpoints as signed

    report = signed.check(head_seq, jobs)
    problem = report.problems[0] if report.problems else None
    checked = problem.seq - 1 if problem and problem.kind == "rewritten" else head_seq
    return VerifyResult(
        checked,
        head_seq,
        head_hash,
        problem,
        report.checkpoints,
        report.newest,
        report.consistent,
    )


VerifySource = Literal["cli", "api", "schedule"]


def verify_and_report(
    source: VerifySource,
    actor: Actor,
    *,
    batch: int = 50_000,
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
) -> VerifyResult:
    """:func:`verify`, then, when it found a problem, tell whoever listens (:func:`report`).

    The command, the API and any scheduled check call this, so no failed check goes unheard.
    """
    result = verify(batch=batch, progress=progress, jobs=jobs)
    if result.problem is not None:
        report(result, source, actor)
    return result


def report(result: VerifyResult, source: VerifySource, actor: Actor) -> None:
    """Emit ``LedgerVerifyFailed`` for a failed check, in a transaction of its own."""
    problem = result.problem
    if problem is None:
        return
    # Durable: a caller's transaction must not hold back, or roll back, the alarm.
    with transaction.atomic(durable=True):
        outbox.emit(
            LedgerVerifyFailed(
                source=source,
                actor=actor.label,
                checked=result.checked,
                head_seq=result.head_seq,
                head_hash=result.head_hash,
                problem_seq=problem.seq,
                problem_kind=problem.kind,
                problem_detail=problem.detail,
            )
        )


def _check_in_parts(
    head_seq: int, jobs: int, progress: Callable[[int], None] | None
) -> Problem | None:
    source = worker_source() if jobs > 1 and head_seq >= PARALLEL_FROM else None
    if source is None:
        raise chain.WalkInstead("one walk is quicker here, or workers cannot reach the database")
    return chain.check_in_parallel(source, head_seq, jobs=jobs, parts=jobs * 4, progress=progress)


def worker_source() -> chain.Source | None:
    """Where worker processes find the ledger, or None where they cannot reach it."""
    # The wrapper itself rather than the `connection` proxy, which no isinstance sees through.
    database = transaction.get_connection()
    if isinstance(database, SQLiteDatabase):
        if database.is_in_memory_db():
            return None
        return chain.Source("sqlite", _table(), {"database": str(database.settings_dict["NAME"])})
    if connection.vendor != "postgresql":
        return None
    # libpq's keywords only: not Django's cursor class and adapters, which stay in this process.
    params = {k: v for k, v in connection.get_connection_params().items() if type(v) in (str, int)}
    return chain.Source("postgresql", _table(), params)


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
        if digest(entry.prev_hash, entry.body) != entry.hash:
            problems.append(Problem(entry.seq, "changed", "its content does not match its hash"))
        elif not columns_match(_as_row(entry)):
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
