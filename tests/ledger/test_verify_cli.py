"""`mailwarden ledger verify` names the first entry that was tampered with, and how."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from django.db import transaction

from mailwarden.cli import main
from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.ledger import GENESIS
from mailwarden.core.models import LedgerEntry, LedgerHead
from tests.ledger.conftest import as_json, insert_raw, row, shift_down, shift_up, sql


def middle(head: int) -> int:
    return head // 2 + 1


def forged(seq: int, prev_hash: str) -> LedgerEntry:
    return ledger.build_entry(
        seq=seq,
        prev_hash=prev_hash,
        actor=Actor("user", "intruder"),
        action="custody.item.transitioned",
        subject_type="mailitem",
        subject_id="MW-FORGED00",
        data={"to": "picked_up"},
        at=row(seq - 1).created_at,
    )


# ----------------------------------------------------------------------------- tampering


def change_body(k: int) -> None:
    sql("UPDATE {t} SET body = REPLACE(body, 'parcel', 'letter') WHERE seq = %s", [k])


def change_body_and_rehash(k: int) -> None:
    entry = row(k)
    body = entry.body.replace("parcel", "letter")
    assert body != entry.body
    sql(
        "UPDATE {t} SET body = %s, hash = %s WHERE seq = %s",
        [body, ledger.digest(entry.prev_hash, body), k],
    )


def change_actor_column(k: int) -> None:
    sql("UPDATE {t} SET actor = 'user:someone-else' WHERE seq = %s", [k])


def change_subject_column(k: int) -> None:
    sql("UPDATE {t} SET subject_id = 'MW-OTHER000' WHERE seq = %s", [k])


def change_time_column(k: int) -> None:
    entry = row(k)
    LedgerEntry.objects.filter(seq=k).update(created_at=entry.created_at.replace(year=2020))


def change_hash_column(k: int) -> None:
    sql("UPDATE {t} SET hash = %s WHERE seq = %s", ["f" * 64, k])


def change_link_column(k: int) -> None:
    sql("UPDATE {t} SET prev_hash = %s WHERE seq = %s", ["e" * 64, k])


def delete_one(k: int) -> None:
    sql("DELETE FROM {t} WHERE seq = %s", [k])


def delete_and_renumber(k: int) -> None:
    delete_one(k)
    shift_down(k)


def insert_chained(k: int) -> None:
    entry = forged(k, row(k - 1).hash)
    shift_up(k)
    insert_raw(entry)


def insert_unchained(k: int) -> None:
    entry = forged(k, "a" * 64)
    shift_up(k)
    insert_raw(entry)


def swap(a: int, b: int) -> None:
    sql("UPDATE {t} SET seq = -1 WHERE seq = %s", [a])
    sql("UPDATE {t} SET seq = %s WHERE seq = %s", [a, b])
    sql("UPDATE {t} SET seq = %s WHERE seq = -1", [b])


TamperCase = tuple[Callable[[int], None], int, str]

CASES: dict[str, Callable[[int], TamperCase]] = {
    # name: head -> (tamper, expected reported seq, expected kind)
    "body edited": lambda h: (change_body, middle(h), "changed"),
    "body edited, hash recomputed": lambda h: (change_body_and_rehash, middle(h), "changed"),
    "actor column edited": lambda h: (change_actor_column, middle(h), "changed"),
    "subject column edited": lambda h: (change_subject_column, middle(h), "changed"),
    "time column edited": lambda h: (change_time_column, middle(h), "changed"),
    "hash column edited": lambda h: (change_hash_column, middle(h), "changed"),
    "link column edited": lambda h: (change_link_column, middle(h), "changed"),
    "deleted": lambda h: (delete_one, middle(h), "deleted"),
    "deleted, later entries renumbered": lambda h: (delete_and_renumber, middle(h), "deleted"),
    "first deleted": lambda h: (lambda _k: delete_one(1), 1, "deleted"),
    "last deleted": lambda h: (lambda _k: delete_one(h), h, "deleted"),
    "inserted, chained to its predecessor": lambda h: (insert_chained, middle(h), "inserted"),
    "inserted with a made-up link": lambda h: (insert_unchained, middle(h), "inserted"),
    "appended behind the head's back": lambda h: (
        lambda _k: insert_raw(forged(h + 1, row(h).hash)),
        h + 1,
        "inserted",
    ),
    "neighbours swapped": lambda h: (lambda k: swap(k, k + 1), middle(h), "reordered"),
    "distant entries swapped": lambda h: (lambda k: swap(k, k + 3), middle(h), "reordered"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tampering_is_named_by_entry_and_kind(built_ledger, run_cli, case):
    tamper, seq, kind = CASES[case](built_ledger)
    assert run_cli("ledger", "verify").code == 0
    tamper(middle(built_ledger))

    text = run_cli("ledger", "verify")
    assert text.code == 1
    assert text.out == ""
    assert text.err.startswith(f"ledger BROKEN at entry {seq}: {kind}: ")

    report = run_cli("ledger", "verify", "--json")
    assert report.code == 1
    assert as_json(report)["ok"] is False
    problem = as_json(report)["problem"]
    assert (problem["seq"], problem["kind"]) == (seq, kind)
    assert as_json(report)["checked"] == seq - 1


def test_column_edit_is_caught_though_body_and_hashes_are_intact(built_ledger, run_cli):
    k = middle(built_ledger)
    before = row(k)
    change_actor_column(k)
    after = row(k)
    assert (after.body, after.hash, after.prev_hash) == (before.body, before.hash, before.prev_hash)

    problem = as_json(run_cli("ledger", "verify", "--json"))["problem"]
    assert problem == {
        "seq": k,
        "kind": "changed",
        "detail": "its columns differ from its hashed content",
    }


def test_clean_ledger_verifies(built_ledger, run_cli):
    outcome = run_cli("ledger", "verify")
    head = LedgerHead.objects.get()
    assert outcome.code == 0
    assert outcome.out == (
        f"ledger OK: {built_ledger:,} entries, head {head.hash}\n"
        "no signed checkpoint yet: run mailwarden ledger checkpoint\n"
    )
    assert outcome.err == ""


def test_json_output_shape(built_ledger, run_cli):
    outcome = run_cli("ledger", "verify", "--json")
    head = LedgerHead.objects.get()
    assert outcome.code == 0
    assert as_json(outcome) == {
        "ok": True,
        "checked": built_ledger,
        "head_seq": built_ledger,
        "head_hash": head.hash,
        "checkpoints": 0,
        "checkpoint_size": None,
        "consistent": 0,
        "problem": None,
    }


@pytest.mark.django_db
def test_empty_ledger_verifies(run_cli):
    assert as_json(run_cli("ledger", "verify", "--json")) == {
        "ok": True,
        "checked": 0,
        "head_seq": 0,
        "head_hash": GENESIS,
        "checkpoints": 0,
        "checkpoint_size": None,
        "consistent": 0,
        "problem": None,
    }


def test_edited_head_is_reported(built_ledger, run_cli):
    LedgerHead.objects.update(hash="b" * 64)
    problem = as_json(run_cli("ledger", "verify", "--json"))["problem"]
    assert (problem["seq"], problem["kind"]) == (built_ledger, "head")


def test_chain_links_every_entry_to_the_one_before(built_ledger):
    entries = list(LedgerEntry.objects.order_by("seq"))
    assert [e.seq for e in entries] == list(range(1, built_ledger + 1))
    assert entries[0].prev_hash == GENESIS
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    assert LedgerHead.objects.get().hash == entries[-1].hash


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the change's transaction"):
        ledger.append(Actor.job("tests"), "test.event", "test", "1")
    assert not LedgerEntry.objects.exists()
    with transaction.atomic():
        ledger.append(Actor.job("tests"), "test.event", "test", "1")
    assert ledger.verify().ok


def test_jobs_must_be_a_positive_whole_number(built_ledger, run_cli, capsys):
    for bad, reason in (("0", "must be at least 1"), ("two", "'two' is not a whole number")):
        with pytest.raises(SystemExit) as exit_:
            main(["ledger", "verify", "--jobs", bad])
        assert exit_.value.code == 2
        assert f"argument --jobs: {reason}" in capsys.readouterr().err
    assert run_cli("ledger", "verify", "--jobs", "2").code == 0
