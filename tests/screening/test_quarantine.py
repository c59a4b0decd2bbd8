"""Quarantine: the register, and the two-person rule for release, destruction or hand-over."""

from __future__ import annotations

import pytest

from mailwarden.core import ledger
from mailwarden.core.errors import Conflict, Forbidden, ServiceError
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.screening import queries, services
from mailwarden.screening.models import RequestStatus
from mailwarden.screening.services import Checklist, PolicyUpdate
from tests.factories import intake
from tests.screening.conftest import (
    CLERK,
    MANAGER_A,
    MANAGER_B,
    SCREENER_A,
    SCREENER_B,
    UNLINKED_SCREENER,
    snapshot,
)


def test_the_register_lists_items_with_dwell_reasons_and_location(site, recipient, frozen_clock):
    screened = intake(site, recipient)
    services.screen_item(SCREENER_A, screened.uid, Checklist(indicators=["protruding-wires"]))
    frozen_clock.advance(hours=2)
    direct = intake(site, recipient)
    from mailwarden.custody import services as custody

    custody.transition(SCREENER_A, direct.uid, "quarantined", reason="leaking powder")
    frozen_clock.advance(minutes=30)
    rows = queries.quarantine_register()
    assert [r.item.uid for r in rows] == [screened.uid, direct.uid]
    first, second = rows
    assert first.dwell.total_seconds() == 2.5 * 3600
    assert first.decision is not None and first.decision.tier == "high"
    assert any("protruding-wires" in r for r in first.reasons)
    assert first.item.location.code == "quarantine"
    assert second.reasons == ["leaking powder"]
    assert second.dwell.total_seconds() == 30 * 60


def test_two_different_people_release_an_item(quarantined, frozen_clock):
    request = services.propose_quarantine_outcome(
        SCREENER_A, quarantined.uid, "released", "opened under supervision: a book"
    )
    assert request.status == RequestStatus.PENDING
    assert MailItem.objects.get(pk=quarantined.pk).state == State.QUARANTINED
    frozen_clock.advance(minutes=29)
    confirmed = services.confirm_quarantine_outcome(MANAGER_A, request.pk)
    assert confirmed.status == RequestStatus.CONFIRMED
    assert MailItem.objects.get(pk=quarantined.pk).state == State.RELEASED
    entries = ledger.entries_for("mailitem", quarantined.uid)
    assert [e.action for e in entries[-3:]] == [
        "screening.quarantine_outcome.proposed",
        "screening.quarantine_outcome.confirmed",
        "custody.item.transitioned",
    ]
    transition = ledger.entry_data(entries[-1])
    assert (transition["to"], transition["proposed_by"], transition["confirmed_by"]) == (
        "released",
        "user:sam",
        "user:mona",
    )
    assert transition["reason"] == "opened under supervision: a book"


def test_the_same_person_cannot_confirm_their_own_proposal(quarantined):
    request = services.propose_quarantine_outcome(MANAGER_A, quarantined.uid, "destroyed", "IED")
    before = snapshot()
    with pytest.raises(Forbidden) as refused:
        services.confirm_quarantine_outcome(MANAGER_A, request.pk)
    assert refused.value.field == "request_id"
    assert snapshot() == before
    services.confirm_quarantine_outcome(MANAGER_B, request.pk)
    assert MailItem.objects.get(pk=quarantined.pk).state == State.DESTROYED


def test_an_expired_request_is_refused_and_must_be_proposed_again(quarantined, frozen_clock):
    request = services.propose_quarantine_outcome(
        SCREENER_A, quarantined.uid, "handed_to_authorities", "police collect"
    )
    frozen_clock.advance(minutes=30, seconds=1)
    before = snapshot()
    with pytest.raises(Conflict, match="expired") as refused:
        services.confirm_quarantine_outcome(MANAGER_A, request.pk)
    assert refused.value.field == "request_id"
    assert snapshot() == before
    again = services.propose_quarantine_outcome(
        SCREENER_A, quarantined.uid, "handed_to_authorities", "police collect"
    )
    request.refresh_from_db()
    assert request.status == RequestStatus.EXPIRED
    services.confirm_quarantine_outcome(MANAGER_A, again.pk)
    assert MailItem.objects.get(pk=quarantined.pk).state == State.HANDED_TO_AUTHORITIES


def test_the_time_limit_is_the_sites_policy(quarantined, site, frozen_clock):
    services.update_policy(MANAGER_A, site.code, PolicyUpdate(confirm_within_minutes=5))
    request = services.propose_quarantine_outcome(SCREENER_A, quarantined.uid, "released", "ok")
    frozen_clock.advance(minutes=6)
    with pytest.raises(Conflict, match="expired"):
        services.confirm_quarantine_outcome(MANAGER_A, request.pk)


def test_an_open_request_blocks_a_second_proposal(quarantined):
    services.propose_quarantine_outcome(SCREENER_A, quarantined.uid, "released", "fine")
    before = snapshot()
    with pytest.raises(Conflict, match="awaits confirmation"):
        services.propose_quarantine_outcome(MANAGER_A, quarantined.uid, "destroyed", "not fine")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("proposer", "confirmer", "words"),
    [
        (CLERK, None, "needs one of these roles"),
        (UNLINKED_SCREENER, None, "named person"),
        (SCREENER_A, SCREENER_B, "roles"),
    ],
    ids=["clerk-proposes", "token-without-person", "screener-confirms"],
)
def test_roles_and_people_are_checked(quarantined, proposer, confirmer, words):
    before = snapshot()
    if confirmer is None:
        with pytest.raises(Forbidden, match=words):
            services.propose_quarantine_outcome(proposer, quarantined.uid, "released", "x")
        assert snapshot() == before
        return
    request = services.propose_quarantine_outcome(proposer, quarantined.uid, "released", "x")
    before = snapshot()
    with pytest.raises(Forbidden, match=words):
        services.confirm_quarantine_outcome(confirmer, request.pk)
    assert snapshot() == before


def test_bad_proposals_name_the_field(quarantined, item):
    before = snapshot()
    for uid, outcome, reason, field in (
        (quarantined.uid, "returned", "x", "outcome"),
        (quarantined.uid, "released", "  ", "reason"),
        (item.uid, "released", "x", "uid"),
    ):
        with pytest.raises(ServiceError) as refused:
            services.propose_quarantine_outcome(SCREENER_A, uid, outcome, reason)
        assert refused.value.field == field
    assert snapshot() == before
