"""Appending: several entries under one lock, stored exactly as verification reads them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import transaction

from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.models import LedgerEntry, LedgerHead

ACTOR = Actor.job("tests")


@pytest.mark.django_db
def test_append_many_chains_consecutive_entries_and_moves_the_head(frozen_clock):
    with transaction.atomic():
        first = ledger.append(ACTOR, "test.one", "thing", "1", {"n": 1})
        batch = ledger.append_many(
            ACTOR,
            [
                ledger.Record("test.two", "thing", "1", {"n": 2}),
                ledger.Record("test.three", "thing", "2"),
            ],
        )
    assert [e.seq for e in batch] == [first.seq + 1, first.seq + 2]
    assert batch[0].prev_hash == first.hash and batch[1].prev_hash == batch[0].hash
    head = LedgerHead.objects.get(id=1)
    assert (head.seq, head.hash) == (batch[1].seq, batch[1].hash)
    stored = LedgerEntry.objects.get(seq=batch[1].seq)
    assert stored.hash == batch[1].hash and stored.action == "test.three"
    assert stored.created_at == frozen_clock()
    assert '"data":{}' in stored.body
    result = ledger.verify()
    assert result.ok and result.head_seq == batch[1].seq


@pytest.mark.django_db
def test_entries_stored_at_a_given_time_verify(frozen_clock):
    at = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    with transaction.atomic():
        entries = ledger.append_many(ACTOR, [ledger.Record("test.at", "thing", "1")], at=at)
    assert LedgerEntry.objects.get(seq=entries[0].seq).created_at == at
    assert ledger.verify().ok


@pytest.mark.django_db
def test_the_first_append_creates_the_head():
    LedgerHead.objects.all().delete()
    with transaction.atomic():
        entry = ledger.append(ACTOR, "test.first", "thing", "1")
    assert entry.seq == 1 and entry.prev_hash == ledger.GENESIS
    assert LedgerHead.objects.get(id=1).hash == entry.hash


@pytest.mark.django_db
def test_appending_nothing_changes_nothing():
    before = ledger.head()
    with transaction.atomic():
        assert ledger.append_many(ACTOR, []) == []
    assert ledger.head() == before


@pytest.mark.django_db(transaction=True)
def test_append_outside_a_transaction_is_refused():
    with pytest.raises(RuntimeError, match="inside the change's transaction"):
        ledger.append_many(ACTOR, [ledger.Record("test.loose", "thing", "1")])
    assert not LedgerEntry.objects.filter(action="test.loose").exists()
