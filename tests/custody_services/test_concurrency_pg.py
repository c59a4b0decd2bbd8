"""Two clerks changing the same item at once lose neither change (PostgreSQL row locks).

Each thread opens its own database connection, as two server workers would. SQLite takes a
database-wide write lock instead, so there is nothing to race there; these run on PostgreSQL.
"""

from __future__ import annotations

import pytest

from mailwarden.core import ledger
from mailwarden.core.models import LedgerEntry
from mailwarden.custody import services
from mailwarden.custody.models import MailItem
from mailwarden.custody.services import IllegalTransition
from mailwarden.custody.states import State
from tests.conftest import race
from tests.custody_services.conftest import item_in
from tests.factories import CLERK, SCREENER, make_recipient, make_site

pytestmark = pytest.mark.postgres


def test_two_moves_of_one_item_both_land(pg):
    item = item_in(make_site(), make_recipient(), State.AWAITING_SCREENING)

    results = race(
        lambda: services.move(CLERK, item.uid, "xray", reason="to the scanner"),
        lambda: services.move(CLERK, item.uid, "shelf-a", reason="put aside"),
    )

    assert [type(r) for r in results] == [MailItem, MailItem]
    stored = MailItem.objects.get(pk=item.pk)
    assert stored.version == item.version + 2
    moves = [
        e for e in ledger.entries_for("mailitem", item.uid) if e.action == "custody.item.moved"
    ]
    assert sorted(ledger.entry_data(e)["location"] for e in moves) == ["shelf-a", "xray"]
    # The item ends where the later of the two serialised moves put it.
    assert stored.location.code == ledger.entry_data(moves[-1])["location"]
    assert ledger.verify().ok


def test_clear_and_quarantine_at_once_exactly_one_wins(pg):
    item = item_in(make_site(), make_recipient(), State.AWAITING_SCREENING)

    results = race(
        lambda: services.transition(SCREENER, item.uid, "cleared", reason="x-ray clear"),
        lambda: services.transition(SCREENER, item.uid, "quarantined", reason="wires seen"),
    )

    winners = [r for r in results if isinstance(r, MailItem)]
    losers = [r for r in results if isinstance(r, Exception)]
    assert len(winners) == 1 and len(losers) == 1
    assert isinstance(losers[0], IllegalTransition)
    won = winners[0].state
    lost = "quarantined" if won == State.CLEARED else "cleared"
    assert f"is {won}; it cannot become {lost}" in losers[0].message
    stored = MailItem.objects.get(pk=item.pk)
    assert (stored.state, stored.version) == (won, item.version + 1)
    steps = [ledger.entry_data(e).get("to") for e in ledger.entries_for("mailitem", item.uid)]
    assert steps == [None, "awaiting_screening", won]  # intake, its step, the one winner
    assert ledger.verify().ok


def test_concurrent_intakes_keep_one_unbroken_chain(pg):
    site, recipient = make_site(), make_recipient()
    entries_before = LedgerEntry.objects.count()

    def five_intakes() -> list[str]:
        return [
            services.intake(
                CLERK,
                services.IntakeRequest(site=site.code, recipient_id=recipient.pk, kind="letter"),
            ).uid
            for _ in range(5)
        ]

    results = race(*[five_intakes] * 4)

    assert not [r for r in results if isinstance(r, Exception)]
    uids = {uid for batch in results for uid in batch}
    assert len(uids) == 20
    assert MailItem.objects.filter(uid__in=uids).count() == 20
    seqs = list(LedgerEntry.objects.order_by("seq").values_list("seq", flat=True))
    assert len(seqs) == entries_before + 40  # intake plus the step to screening, per item
    assert seqs == list(range(1, len(seqs) + 1))
    result = ledger.verify()
    assert result.ok and result.head_seq == len(seqs)
