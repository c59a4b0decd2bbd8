"""Items taken through every custody path that intake and screening offer: each event they leave
in the outbox is in the catalogue and parses as its model, and each ledger action they write
follows the naming scheme."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailwarden.contracts import events
from mailwarden.core import ledger, outbox
from mailwarden.core.errors import ServiceError
from mailwarden.core.models import LedgerEntry, OutboxEvent, OutboxStatus
from mailwarden.custody import pickup
from mailwarden.custody import services as custody
from mailwarden.screening import services
from mailwarden.screening.services import Checklist
from tests.factories import intake
from tests.screening.conftest import CLERK, MANAGER_A, SCREENER_A

APPS = {p.parent.name for p in Path(events.__file__).parents[1].glob("*/apps.py")}


def screen(uid: str, *indicators: str) -> None:
    services.screen_item(SCREENER_A, uid, Checklist(indicators=list(indicators)))


def test_every_event_and_action_of_the_custody_paths_is_catalogued(site, recipient, quarantined):
    # Cleared, shelved, collected with the code after one wrong try.
    collected = intake(site, recipient)
    screen(collected.uid)
    custody.move(CLERK, collected.uid, "xray", reason="to the scanner")
    custody.transition(CLERK, collected.uid, "ready_for_pickup")
    wrong = "000000" if pickup.pickup_code(collected.uid) != "000000" else "111111"
    with pytest.raises(ServiceError, match="wrong pickup code"):
        custody.hand_over(CLERK, collected.uid, method="code", proof=wrong)
    custody.hand_over(CLERK, collected.uid, method="code", proof=pickup.pickup_code(collected.uid))
    # Critical: stays where it is, raises the alarm.
    screen(intake(site, recipient).uid, "ticking-sloshing-buzzing")
    # Released by two people, then delivered to the desk.
    request = services.propose_quarantine_outcome(
        SCREENER_A, quarantined.uid, "released", "opened under supervision"
    )
    services.confirm_quarantine_outcome(MANAGER_A, request.pk)
    custody.transition(CLERK, quarantined.uid, "out_for_delivery")
    custody.hand_over(
        CLERK, quarantined.uid, method="qr", proof=pickup.qr_token(quarantined.uid), delivered=True
    )
    # Destroyed; and another returned to its sender.
    doomed = intake(site, recipient)
    custody.transition(SCREENER_A, doomed.uid, "quarantined", reason="leaking powder")
    request = services.propose_quarantine_outcome(SCREENER_A, doomed.uid, "destroyed", "powder")
    services.confirm_quarantine_outcome(MANAGER_A, request.pk)
    unwanted = intake(site, recipient)
    screen(unwanted.uid)
    custody.transition(CLERK, unwanted.uid, "ready_for_pickup")
    custody.transition(CLERK, unwanted.uid, "returned", reason="refused")

    stored = list(OutboxEvent.objects.order_by("id"))
    for row in stored:
        assert row.topic in events.CATALOGUE, row.topic
        parsed = events.parse(row.topic, row.payload)
        assert parsed.model_dump(mode="json") == row.payload
        assert row.key.startswith(f"{row.topic}:")
    assert {row.topic for row in stored} == {
        "custody.item.received",
        "screening.decision.recorded",
        "custody.item.queued_for_screening",
        "custody.item.cleared",
        "custody.item.quarantined",
        "custody.item.released",
        "custody.item.destroyed",
        "custody.item.made_ready_for_pickup",
        "custody.item.sent_out_for_delivery",
        "custody.item.delivered",
        "custody.item.picked_up",
        "custody.item.returned",
        "screening.alarm.raised",
    }
    # Every one is delivered to its handlers as its model; handlers may emit events of their
    # own (an alarm raised), which are delivered in their turn.
    for _ in range(5):
        if not outbox.dispatch_due():
            break
    assert set(OutboxEvent.objects.values_list("status", "last_error")) == {(OutboxStatus.DONE, "")}

    actions = set(LedgerEntry.objects.values_list("action", flat=True))
    assert "custody.pickup_code.rejected" in actions
    assert "screening.quarantine_outcome.confirmed" in actions
    for action in actions:
        assert events.naming_problem(action) is None, action
        assert action.split(".")[0] in APPS, action
        assert action not in ledger.LEGACY_ACTIONS, action
