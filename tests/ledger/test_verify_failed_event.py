"""A failed ledger check is an event (``core.ledger.verification_failed``), written in a
transaction of its own, so an alarm rule or a notification can follow it."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from mailwarden.contracts.events import LedgerVerifyFailed
from mailwarden.core import ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.models import OutboxEvent, OutboxStatus
from tests.ledger.conftest import build_ledger, row, sql

TOPIC = LedgerVerifyFailed.TOPIC


def failures() -> list[LedgerVerifyFailed]:
    rows = OutboxEvent.objects.filter(topic=TOPIC).order_by("id")
    return [LedgerVerifyFailed.model_validate(r.payload) for r in rows]


def test_a_passing_check_says_nothing(built_ledger, run_cli):
    assert run_cli("ledger", "verify").code == 0
    assert failures() == []


def test_the_command_reports_the_problem_it_found(built_ledger, run_cli):
    k = built_ledger // 2
    sql("UPDATE {t} SET body = REPLACE(body, '\"seq\":', '\"seq\": ') WHERE seq = %s", [k])
    assert run_cli("ledger", "verify", "--json").code == 1
    (failed,) = failures()
    assert failed.source == "cli" and failed.actor == "job:cli"
    assert (failed.problem_seq, failed.problem_kind) == (k, "changed")
    assert failed.checked == k - 1
    assert (failed.head_seq, failed.head_hash) == ledger.head()
    assert "does not match its hash" in failed.problem_detail
    # Each failed check is its own occurrence.
    assert run_cli("ledger", "verify").code == 1
    assert len(failures()) == 2


def test_a_deleted_entry_is_reported_too(built_ledger, run_cli):
    sql("DELETE FROM {t} WHERE seq = %s", [built_ledger])
    assert run_cli("ledger", "verify").code == 1
    (failed,) = failures()
    assert (failed.problem_seq, failed.problem_kind) == (built_ledger, "deleted")


@pytest.mark.django_db(transaction=True)
def test_the_event_is_committed_in_its_own_transaction(frozen_clock, run_cli):
    head = build_ledger(frozen_clock)
    sql("UPDATE {t} SET actor = 'user:someone-else' WHERE seq = %s", [head])
    assert run_cli("ledger", "verify").code == 1
    assert not connection.in_atomic_block
    (stored,) = OutboxEvent.objects.filter(topic=TOPIC)
    assert stored.status == OutboxStatus.PENDING
    # The dispatcher reads it back as its model like any other event.
    assert outbox.dispatch_due() >= 1
    stored.refresh_from_db()
    assert stored.status == OutboxStatus.DONE


@pytest.mark.django_db(transaction=True)
def test_a_callers_transaction_cannot_swallow_the_report(frozen_clock):
    head = build_ledger(frozen_clock)
    sql("UPDATE {t} SET subject_id = 'MW-OTHER000' WHERE seq = %s", [head])
    result = ledger.verify()
    assert result.problem is not None and result.problem.seq == head
    with pytest.raises(RuntimeError, match="durable"), transaction.atomic():
        ledger.report(result, "schedule", Actor.job("ledger-check"))
    assert failures() == []
    ledger.report(result, "schedule", Actor.job("ledger-check"))
    (failed,) = failures()
    assert (failed.source, failed.actor) == ("schedule", "job:ledger-check")
    assert row(head).subject_id == "MW-OTHER000"  # the check and its report write nothing else
