"""A ledger built by real service calls, and raw-SQL tampering with it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from django.db import connection

from mailwarden.cli import main
from mailwarden.core import ledger
from mailwarden.core.models import LedgerEntry
from mailwarden.custody import services
from tests.factories import CLERK, SCREENER, intake, make_recipient, make_site

TABLE = LedgerEntry._meta.db_table


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys):
    def run(*args: str) -> Outcome:
        code = main(list(args))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run


@pytest.fixture
def built_ledger(db, frozen_clock) -> int:
    """Directory set-up, two items taken through intake and screening. Returns the head seq."""
    return build_ledger(frozen_clock)


def build_ledger(frozen_clock) -> int:
    site = make_site()
    recipient = make_recipient()
    for _ in range(2):
        item = intake(site, recipient)
        frozen_clock.advance(minutes=5)
        services.transition(SCREENER, item.uid, "cleared", reason="x-ray clear")
        frozen_clock.advance(minutes=5)
        services.transition(CLERK, item.uid, "ready_for_pickup", reason="on the shelf")
    return ledger.verify().head_seq


def sql(statement: str, params: Sequence[object] = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement.replace("{t}", TABLE), list(params))


def row(seq: int) -> LedgerEntry:
    return LedgerEntry.objects.get(seq=seq)


def shift_up(from_seq: int) -> None:
    """Renumber entries ``from_seq``.. one higher, through negatives to dodge the unique index."""
    sql("UPDATE {t} SET seq = -(seq + 1) WHERE seq >= %s", [from_seq])
    sql("UPDATE {t} SET seq = -seq WHERE seq < 0")


def shift_down(after_seq: int) -> None:
    sql("UPDATE {t} SET seq = -(seq - 1) WHERE seq > %s", [after_seq])
    sql("UPDATE {t} SET seq = -seq WHERE seq < 0")


def insert_raw(entry: LedgerEntry) -> None:
    sql(
        "INSERT INTO {t} (seq, created_at, actor, action, subject_type, subject_id, body,"
        " prev_hash, hash) SELECT %s, created_at, %s, %s, %s, %s, %s, %s, %s FROM {t}"
        " WHERE seq = %s",
        [
            entry.seq,
            entry.actor,
            entry.action,
            entry.subject_type,
            entry.subject_id,
            entry.body,
            entry.prev_hash,
            entry.hash,
            entry.seq - 1,
        ],
    )


def as_json(outcome: Outcome) -> dict[str, object]:
    return json.loads(outcome.out)
