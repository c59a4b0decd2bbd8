"""The custody state machine, through the services: legal steps work, illegal ones are refused."""

from __future__ import annotations

import pytest

from mailwarden.core import ledger
from mailwarden.core.errors import Conflict, ServiceError
from mailwarden.custody import services
from mailwarden.custody.models import MailItem
from mailwarden.custody.services import IllegalTransition
from mailwarden.custody.states import (
    HANDOVER_STATES,
    QUARANTINE_EXITS,
    TRANSITIONS,
    State,
    allowed_after,
)
from tests.custody_services.conftest import advance, item_in, snapshot
from tests.factories import CLERK, MANAGER, SCREENER

LEGAL = [
    (src, dst)
    for src, targets in TRANSITIONS.items()
    if src != State.RECEIVED  # intake leaves RECEIVED itself; see the intake test
    for dst in sorted(targets)
]
# Targets that transition() itself carries out; hand-overs and quarantine exits have their own.
PLAIN_TARGETS = [s for s in State if s not in HANDOVER_STATES | QUARANTINE_EXITS]
ILLEGAL = [
    (src, dst)
    for src in State
    if src != State.RECEIVED
    for dst in PLAIN_TARGETS
    if dst not in TRANSITIONS[src]
]


@pytest.mark.parametrize(("src", "dst"), LEGAL, ids=[f"{s}->{d}" for s, d in LEGAL])
def test_every_legal_transition_works_and_is_on_the_ledger(site, recipient, frozen_clock, src, dst):
    item = item_in(site, recipient, src)
    frozen_clock.advance(minutes=7)

    after = advance(item.uid, dst, reason="step under test")

    stored = MailItem.objects.get(pk=item.pk)
    assert (stored.state, stored.version) == (dst, item.version + 1)
    assert stored.state_changed_at == frozen_clock.current
    entry = ledger.entries_for("mailitem", item.uid)[-1]
    data = ledger.entry_data(entry)
    assert entry.action == "custody.item.transitioned"
    assert (data["from"], data["to"]) == (src.value, dst.value)
    assert entry.created_at == frozen_clock.current
    assert data["location"] == stored.location.code == after.location.code
    if dst in HANDOVER_STATES:
        assert entry.actor == CLERK.label
        assert data["reason"].startswith("handed over by ")
    else:
        expected_actor = {State.CLEARED: SCREENER, State.QUARANTINED: SCREENER}.get(
            dst, MANAGER if dst in QUARANTINE_EXITS else CLERK
        )
        assert entry.actor == expected_actor.label
        assert data["reason"] == "step under test"
    assert ledger.verify().ok


@pytest.mark.parametrize(("src", "dst"), ILLEGAL, ids=[f"{s}->{d}" for s, d in ILLEGAL])
def test_illegal_transition_names_current_and_allowed_states(site, recipient, src, dst):
    item = item_in(site, recipient, src)
    before = snapshot()

    actor = SCREENER if dst in (State.CLEARED, State.QUARANTINED) else CLERK
    with pytest.raises(IllegalTransition) as refused:
        services.transition(actor, item.uid, dst.value, reason="try it")

    allowed = ", ".join(s.value for s in allowed_after(src)) or "none (final state)"
    assert refused.value.field == "state"
    assert f"is {src.value}; it cannot become {dst.value}" in refused.value.message
    assert refused.value.message.endswith(f"Allowed next: {allowed}")
    assert MailItem.objects.get(pk=item.pk).state == src
    assert snapshot() == before


def test_intake_records_the_step_from_received_to_screening(site, recipient, frozen_clock):
    item = item_in(site, recipient, State.AWAITING_SCREENING)
    intake_entry, step = ledger.entries_for("mailitem", item.uid)
    assert intake_entry.action == "custody.item.received"
    assert ledger.entry_data(step) == {
        "from": "received",
        "to": "awaiting_screening",
        "location": "dock",
        "reason": "logged at intake",
    }
    assert step.actor == CLERK.label
    assert step.created_at == frozen_clock.current


def test_unknown_state_names_the_field(site, recipient):
    item = item_in(site, recipient, State.AWAITING_SCREENING)
    with pytest.raises(ServiceError) as refused:
        services.transition(CLERK, item.uid, "teleported")
    assert refused.value.field == "state"
    assert "unknown state 'teleported'" in refused.value.message
    assert "awaiting_screening" in refused.value.message  # the list of real states


@pytest.mark.parametrize("reason", ["", "   "])
def test_quarantine_needs_a_reason(site, recipient, reason):
    item = item_in(site, recipient, State.AWAITING_SCREENING)
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.transition(SCREENER, item.uid, "quarantined", reason=reason)
    assert (refused.value.field, refused.value.message) == ("reason", "quarantine needs a reason")
    assert snapshot() == before


def test_quarantine_goes_to_the_quarantine_room(site, recipient):
    item = item_in(site, recipient, State.AWAITING_SCREENING)
    after = services.transition(SCREENER, item.uid, "quarantined", reason="oily stains")
    assert after.location.code == "quarantine"


@pytest.mark.parametrize("target", sorted(HANDOVER_STATES | QUARANTINE_EXITS))
def test_transition_refuses_steps_that_need_their_own_action(site, recipient, target):
    state = State.QUARANTINED if target in QUARANTINE_EXITS else State.READY_FOR_PICKUP
    item = item_in(site, recipient, state)
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.transition(MANAGER, item.uid, target, reason="shortcut")
    assert refused.value.field == "state"
    assert snapshot() == before


def test_quarantine_outcome_needs_a_reason_and_two_people(site, recipient):
    item = item_in(site, recipient, State.QUARANTINED)
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.two_person_quarantine_outcome(
            MANAGER, item.uid, "released", reason=" ", proposed_by="user:first-manager"
        )
    assert refused.value.field == "reason"
    for alone in ("", MANAGER.label):
        with pytest.raises(ServiceError) as refused:
            services.two_person_quarantine_outcome(
                MANAGER, item.uid, "released", reason="checked", proposed_by=alone
            )
        assert refused.value.field == "proposed_by"
    assert snapshot() == before
    # Custody offers no way out of quarantine that skips the two-person decision.
    assert not hasattr(services, "quarantine_outcome")


def test_stale_expected_version_is_a_conflict(site, recipient):
    item = item_in(site, recipient, State.AWAITING_SCREENING)
    services.move(CLERK, item.uid, "xray")  # someone else's change bumps the version
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        services.transition(
            SCREENER, item.uid, "cleared", reason="clear", expected_version=item.version
        )
    assert refused.value.field == "expected_version"
    assert "changed by someone else" in refused.value.message
    assert MailItem.objects.get(pk=item.pk).state == State.AWAITING_SCREENING
    assert snapshot() == before

    fresh = MailItem.objects.get(pk=item.pk)
    done = services.transition(
        SCREENER, item.uid, "cleared", reason="clear", expected_version=fresh.version
    )
    assert done.version == fresh.version + 1


def test_move_records_place_without_changing_state(site, recipient, frozen_clock):
    item = item_in(site, recipient, State.AWAITING_SCREENING)
    frozen_clock.advance(minutes=3)
    moved = services.move(CLERK, item.uid, "xray", reason="to the scanner")
    assert (moved.state, moved.location.code, moved.version) == (
        State.AWAITING_SCREENING,
        "xray",
        item.version + 1,
    )
    entry = ledger.entries_for("mailitem", item.uid)[-1]
    assert entry.action == "custody.item.moved"
    assert entry.actor == CLERK.label
    assert entry.created_at == frozen_clock.current
    assert ledger.entry_data(entry) == {
        "state": "awaiting_screening",
        "location": "xray",
        "reason": "to the scanner",
    }


def test_move_to_unknown_location_names_the_field(site, recipient):
    item = item_in(site, recipient, State.AWAITING_SCREENING)
    before = snapshot()
    with pytest.raises(ServiceError) as refused:
        services.move(CLERK, item.uid, "roof")
    assert refused.value.field == "location_code"
    assert snapshot() == before
