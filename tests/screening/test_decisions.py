"""Screening decisions: what each tier does to the item, the second screener, the alarm, the
ledger, and refusals that change nothing."""

from __future__ import annotations

import pytest

from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, ServiceError
from mailwarden.core.models import OutboxEvent
from mailwarden.core.roles import Role
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.screening import services
from mailwarden.screening.models import Decision, DecisionStatus
from mailwarden.screening.services import Checklist, PolicyUpdate, ScanUpload
from tests.screening.conftest import (
    CLERK,
    MANAGER_A,
    SCREENER_A,
    SCREENER_B,
    UNLINKED_SCREENER,
    snapshot,
)


def screen(uid: str, *indicators: str, actor=SCREENER_A, **kw) -> object:
    return services.screen_item(actor, uid, Checklist(indicators=list(indicators), **kw))


def state(uid: str) -> str:
    return MailItem.objects.get(uid=uid).state


def test_low_tier_is_cleared_by_one_screener_and_recorded(item, frozen_clock, empty_pair):
    scan = services.import_scan(
        SCREENER_A, item.uid, ScanUpload(high=empty_pair.high, low=empty_pair.low)
    )
    assert scan.regions == []
    decision = screen(item.uid, "no-return-address", notes="heavy but fine")
    assert (decision.tier, decision.status) == ("low", DecisionStatus.CLEARED)
    assert state(item.uid) == State.CLEARED
    entries = ledger.entries_for("mailitem", item.uid)
    entry = next(e for e in entries if e.action == "screening.decision.recorded")
    data = ledger.entry_data(entry)
    assert entry.actor == "user:sam"
    assert entry.created_at == frozen_clock.current
    assert data["indicators"] == ["no-return-address"]
    assert data["image_sha256"] == [scan.high_sha256, scan.low_sha256]
    assert any("no-return-address" in r for r in data["reasons"])
    # the decision comes before the custody transition it drives
    assert entries[-1].action == "custody.item.transitioned"
    assert ledger.entry_data(entries[-1])["to"] == "cleared"


def test_elevated_tier_needs_a_second_different_screener(item):
    decision = screen(item.uid, "no-return-address", "misspelled-words")
    assert (decision.tier, decision.status) == ("elevated", DecisionStatus.PENDING)
    assert state(item.uid) == State.AWAITING_SCREENING
    before = snapshot()
    with pytest.raises(Forbidden) as refused:
        services.confirm_decision(SCREENER_A, decision.pk)
    assert refused.value.field == "decision_id"
    assert snapshot() == before
    confirmed = services.confirm_decision(SCREENER_B, decision.pk)
    assert confirmed.status == DecisionStatus.CLEARED
    assert confirmed.confirmed_by == "user:sky"
    assert state(item.uid) == State.CLEARED
    actions = [e.action for e in ledger.entries_for("mailitem", item.uid)]
    assert actions[-2:] == ["screening.decision.confirmed", "custody.item.transitioned"]


def test_a_token_without_a_person_cannot_be_the_second_screener(item):
    decision = screen(item.uid, "no-return-address", "misspelled-words")
    with pytest.raises(Forbidden, match="named person"):
        services.confirm_decision(UNLINKED_SCREENER, decision.pk)


def test_screening_again_never_lowers_a_pending_tier(item):
    first = screen(item.uid, "excessive-postage")
    assert first.tier == "elevated"
    second = screen(item.uid, actor=SCREENER_B)  # an empty checklist
    assert (second.tier, second.status) == ("elevated", DecisionStatus.PENDING)
    assert any(f"not lower than decision {first.pk}" in r for r in second.reasons)
    first.refresh_from_db()
    assert first.status == DecisionStatus.SUPERSEDED
    with pytest.raises(Conflict):
        services.confirm_decision(SCREENER_B, first.pk)


def test_high_tier_goes_to_the_quarantine_room(item):
    decision = screen(item.uid, "protruding-wires")
    assert (decision.tier, decision.action) == ("high", "quarantine")
    moved = MailItem.objects.select_related("location").get(uid=item.uid)
    assert (moved.state, moved.location.kind) == (State.QUARANTINED, "quarantine")
    assert not OutboxEvent.objects.filter(topic="screening.alarm.raised").exists()


def test_critical_tier_stays_put_and_raises_the_alarm(item):
    where = item.location.code
    decision = screen(item.uid, "ticking-sloshing-buzzing")
    assert (decision.tier, decision.action) == ("critical", "evacuate")
    held = MailItem.objects.select_related("location").get(uid=item.uid)
    assert (held.state, held.location.code) == (State.QUARANTINED, where)
    alarm = OutboxEvent.objects.get(topic="screening.alarm.raised")
    assert alarm.payload["uid"] == item.uid
    assert alarm.payload["tier"] == "critical"
    assert alarm.payload["screener"] == "user:sam"
    assert any("ticking-sloshing-buzzing" in r for r in alarm.payload["reasons"])


def test_an_xray_finding_quarantines_an_item_without_indicators(item, knife_pair):
    scan = services.import_scan(
        SCREENER_A, item.uid, ScanUpload(high=knife_pair.high, low=knife_pair.low)
    )
    assert any(r["cls"] == "knife" and r["score"] >= 0.5 for r in scan.regions)
    before = state(item.uid)
    # Clearing an item with a high finding needs the screener to say they saw it.
    with pytest.raises(ServiceError) as refused:
        screen(item.uid)
    assert refused.value.field == "confirm_findings"
    assert "high finding: knife" in refused.value.message
    assert "goes to quarantine" in refused.value.message
    assert state(item.uid) == before and not Decision.objects.filter(item=item).exists()
    decision = screen(item.uid, confirm_findings=True)
    assert decision.tier == "high"
    assert decision.scan_ids == [scan.pk]
    assert state(item.uid) == State.QUARANTINED


def test_the_screener_may_raise_the_tier(item):
    decision = screen(item.uid, raise_to="high", notes="smells of marzipan")
    assert decision.tier == "high"
    assert state(item.uid) == State.QUARANTINED


def test_a_high_risk_department_raises_the_tier(item, site):
    services.update_policy(MANAGER_A, site.code, PolicyUpdate(high_risk_departments=["finance"]))
    decision = screen(item.uid)
    assert decision.tier == "elevated"
    assert "Finance" in decision.high_risk_recipient


def test_confirming_after_a_new_scan_is_refused(item, clean_pair):
    decision = screen(item.uid, "excessive-postage")
    services.import_scan(SCREENER_A, item.uid, ScanUpload(high=clean_pair.high, low=clean_pair.low))
    with pytest.raises(Conflict, match="scanned again"):
        services.confirm_decision(SCREENER_B, decision.pk)


@pytest.mark.parametrize(
    ("actor", "checklist", "error", "field"),
    [
        (CLERK, Checklist(), Forbidden, None),
        (Actor.device("dock-scanner", Role.SCREENER), Checklist(), Forbidden, None),
        (SCREENER_A, Checklist(indicators=["glitter"]), ServiceError, "indicators.0"),
        (SCREENER_A, Checklist(raise_to="severe"), ServiceError, "raise_to"),
    ],
    ids=["clerk", "scanner-device", "unknown-indicator", "unknown-tier"],
)
def test_bad_checklists_are_refused_and_change_nothing(item, actor, checklist, error, field):
    before = snapshot()
    with pytest.raises(error) as refused:
        services.screen_item(actor, item.uid, checklist)
    assert refused.value.field == field
    assert snapshot() == before


def test_only_items_awaiting_screening_are_screened(quarantined):
    before = snapshot()
    with pytest.raises(Conflict) as refused:
        screen(quarantined.uid)
    assert refused.value.field == "uid"
    assert snapshot() == before
