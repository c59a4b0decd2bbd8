"""Tiering: points, X-ray floors, recipient risk, and why indicators never lower a tier."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailwarden.screening.policy import (
    DEFAULT_ACTIONS,
    Action,
    Finding,
    Policy,
    Tier,
    assess,
    policy_problems,
)

WEIGHTS = {
    "no-return-address": 1,
    "misspelled-words": 1,
    "excessive-postage": 2,
    "protruding-wires": 5,
    "strange-odour": 4,
    "powder-residue": 9,
}
POLICY = Policy(indicator_weights=WEIGHTS)


@pytest.mark.parametrize(
    ("indicators", "tier", "action"),
    [
        ([], Tier.LOW, Action.CLEAR),
        (["no-return-address"], Tier.LOW, Action.CLEAR),
        (["no-return-address", "misspelled-words"], Tier.ELEVATED, Action.SECOND_SCREENER),
        (["protruding-wires"], Tier.HIGH, Action.QUARANTINE),
        (["powder-residue"], Tier.CRITICAL, Action.EVACUATE),
        (["protruding-wires", "strange-odour"], Tier.CRITICAL, Action.EVACUATE),
    ],
)
def test_points_from_indicators_set_the_tier(indicators, tier, action):
    result = assess(POLICY, indicators)
    assert (result.tier, result.action) == (tier, action)
    assert result.points == sum(WEIGHTS[c] for c in indicators)
    for code in indicators:
        assert any(code in reason for reason in result.reasons)


def test_an_xray_finding_sets_a_floor_that_no_checklist_lowers():
    knife = Finding("knife", 0.9, "blade-like metal", scan_id=4)
    result = assess(POLICY, [], [knife])
    assert result.tier == Tier.HIGH
    assert any("x-ray knife 0.90 in scan 4" in r for r in result.reasons)
    explosive = Finding("explosive", 0.8)
    assert assess(POLICY, [], [knife, explosive]).tier == Tier.CRITICAL


def test_a_weak_finding_needs_a_second_screener():
    result = assess(POLICY, [], [Finding("gun", 0.35)])
    assert result.tier == Tier.ELEVATED
    assert result.action == Action.SECOND_SCREENER


def test_a_high_risk_recipient_adds_the_policy_weight():
    alone = assess(POLICY, ["no-return-address"])
    executive = assess(POLICY, ["no-return-address"], high_risk_recipient="Executive Office")
    assert (alone.tier, executive.tier) == (Tier.LOW, Tier.ELEVATED)
    assert executive.points == 1 + POLICY.recipient_risk_weight
    assert any("Executive Office" in r for r in executive.reasons)


def test_a_floor_raises_but_never_lowers():
    assert assess(POLICY, [], floor=Tier.HIGH, floor_reason="looks wrong").tier == Tier.HIGH
    assert assess(POLICY, ["powder-residue"], floor=Tier.ELEVATED).tier == Tier.CRITICAL


def test_unknown_indicator_is_refused():
    with pytest.raises(ValueError, match="unknown indicator"):
        assess(POLICY, ["glitter"])


@settings(max_examples=60, deadline=None)
@given(
    base=st.sets(st.sampled_from(sorted(WEIGHTS))),
    extra=st.sets(st.sampled_from(sorted(WEIGHTS))),
    findings=st.lists(
        st.tuples(
            st.sampled_from(["explosive", "ied", "knife", "gun", "shielded", "powder"]),
            st.floats(0.3, 1.0),
        ),
        max_size=3,
    ),
    high_risk=st.booleans(),
)
def test_more_indicators_never_lower_the_tier(base, extra, findings, high_risk):
    found = [Finding(cls, score) for cls, score in findings]
    risk = "executive" if high_risk else None
    before = assess(POLICY, base, found, high_risk_recipient=risk)
    after = assess(POLICY, base | extra, found, high_risk_recipient=risk)
    assert after.tier.rank >= before.tier.rank
    without_indicators = assess(POLICY, set(), found, high_risk_recipient=risk)
    assert before.tier.rank >= without_indicators.tier.rank


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"indicator_weights": {**WEIGHTS, "misspelled-words": -1}},
            "indicator_weights.misspelled-words",
        ),
        ({"elevated_at": 0}, "elevated_at"),
        ({"high_at": 2}, "high_at"),
        ({"critical_at": 5}, "critical_at"),
        ({"xray_min_score": 1.5}, "xray_min_score"),
        (
            {
                "actions": {
                    **DEFAULT_ACTIONS,
                    Tier.ELEVATED: Action.QUARANTINE,
                    Tier.HIGH: Action.CLEAR,
                }
            },
            "actions",
        ),
        (
            {
                "actions": {
                    **DEFAULT_ACTIONS,
                    Tier.CRITICAL: Action.SECOND_SCREENER,
                    Tier.HIGH: Action.CLEAR,
                }
            },
            "actions.critical",
        ),
    ],
)
def test_unsound_policies_are_named_by_field(change, field):
    problems = policy_problems(dataclasses.replace(POLICY, **change))
    assert field in [f for f, _ in problems]


def test_the_default_policy_is_sound():
    assert policy_problems(POLICY) == []


def test_a_class_rated_low_stays_low_however_weak_or_strong():
    lenient = dataclasses.replace(POLICY, xray_tiers={"knife": Tier.LOW})
    assert assess(lenient, [], [Finding("knife", 0.95)]).tier == Tier.LOW
    assert assess(lenient, [], [Finding("knife", 0.35)]).tier == Tier.LOW
    # a class the policy does not name still gets a second look
    assert assess(lenient, [], [Finding("gun", 0.95)]).tier == Tier.ELEVATED
