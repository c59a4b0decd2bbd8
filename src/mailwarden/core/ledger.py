"""The append-only, hash-chained ledger (DESIGN rule 2).

Entry ``n`` stores ``hash = sha256(prev_hash + body)``, where ``body`` is the canonical JSON of its
sequence number, time, actor, action, subject and data. Changing, deleting, inserting or reordering
any row breaks either a hash or a link, and :func:`verify` names the first entry where that shows.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction

from mailwarden.core import canonical, clock
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerEntry, LedgerHead

GENESIS = "0" * 64


def _digest(prev_hash: str, body: str) -> str:
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


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
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger.append must run inside the change's transaction")
    head, _ = LedgerHead.objects.select_for_update().get_or_create(id=1)
    created_at = at or clock.now()
    seq = head.seq + 1
    body = canonical.dumps(
        {
            "seq": seq,
            "at": created_at.isoformat(),
            "actor": actor.label,
            "action": action,
            "subject": f"{subject_type}:{subject_id}",
            "data": data or {},
        }
    )
    entry_hash = _digest(head.hash, body)
    entry = LedgerEntry.objects.create(
        seq=seq,
        created_at=created_at,
        actor=actor.label,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        body=body,
        prev_hash=head.hash,
        hash=entry_hash,
    )
    head.seq, head.hash = seq, entry_hash
    head.save(update_fields=["seq", "hash"])
    return entry


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


Row = tuple[int, str, str, str, str, str, str, datetime]


def _rows(batch: int) -> Iterator[Row]:
    # Keyset pagination keeps memory flat on a million rows and works the same on both databases.
    last = 0
    fields = (
        "seq",
        "body",
        "prev_hash",
        "hash",
        "actor",
        "action",
        "subject_id",
        "created_at",
    )
    while True:
        chunk = list(
            LedgerEntry.objects.filter(seq__gt=last).order_by("seq").values_list(*fields)[:batch]
        )
        if not chunk:
            return
        yield from chunk  # type: ignore[misc]
        last = chunk[-1][0]


def verify(
    *, batch: int = 20_000, progress: Callable[[int], None] | None = None
) -> VerifyResult:
    head = LedgerHead.objects.filter(id=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    problem = check_chain(_rows(batch), progress=progress)
    checked = problem.seq if problem else head_seq
    if problem is None:
        last = LedgerEntry.objects.order_by("-seq").values_list("seq", "hash").first()
        last_seq, last_hash = last if last else (0, GENESIS)
        if last_seq != head_seq or last_hash != head_hash:
            problem = Problem(
                min(last_seq, head_seq) + 1,
                "deleted" if last_seq < head_seq else "inserted",
                f"the chain ends at entry {last_seq} but the recorded head is entry {head_seq}",
            )
    return VerifyResult(checked, head_seq, head_hash, problem)


def check_chain(
    rows: Iterable[Row], *, progress: Callable[[int], None] | None = None
) -> Problem | None:
    """Walk the rows in sequence order and return the first problem, if any."""
    expected_seq = 1
    prev_hash = GENESIS
    prev_prev_hash = GENESIS
    for seq, body, stored_prev, stored_hash, actor, action, subject_id, created_at in rows:
        if seq != expected_seq:
            if seq > expected_seq:
                return Problem(
                    expected_seq, "deleted", f"entry {expected_seq} is missing (next is {seq})"
                )
            return Problem(seq, "inserted", "sequence number repeats")
        if stored_prev != prev_hash:
            if stored_prev == prev_prev_hash:
                return Problem(
                    seq - 1, "inserted", "the entry before this one was not in the chain"
                )
            return Problem(seq, "reordered", "its link to the previous entry is broken")
        if _digest(stored_prev, body) != stored_hash:
            return Problem(seq, "changed", "its content does not match its hash")
        fields = json.loads(body)
        if (
            fields["seq"] != seq
            or fields["actor"] != actor
            or fields["action"] != action
            or not fields["subject"].endswith(f":{subject_id}")
            or datetime.fromisoformat(fields["at"]) != created_at
        ):
            return Problem(seq, "changed", "its columns differ from its hashed content")
        prev_prev_hash, prev_hash = prev_hash, stored_hash
        expected_seq += 1
        if progress and seq % 10_000 == 0:
            progress(seq)
    return None


def entries_for(subject_type: str, subject_id: str) -> list[LedgerEntry]:
    return list(
        LedgerEntry.objects.filter(subject_type=subject_type, subject_id=subject_id).order_by("seq")
    )


def entry_data(entry: LedgerEntry) -> dict[str, Any]:
    return json.loads(entry.body)["data"]
