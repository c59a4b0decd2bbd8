"""From what a screener saw to a risk tier and what that tier requires. Pure: no Django.

Points from the suspicious-mail indicators and from a high-risk recipient are added up and
compared with the site's thresholds. X-ray findings set a floor of their own: a region of a
class the policy names puts the item at that class's tier whatever the points say. The
indicators and the screener can only raise the tier from there; many real mail bombs showed
none of the indicators, so their absence never lowers a tier that the X-ray or an earlier
decision gave.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Tier(StrEnum):
    LOW = "low"
    ELEVATED = "elevated"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _TIER_ORDER.index(self)


_TIER_ORDER = (Tier.LOW, Tier.ELEVATED, Tier.HIGH, Tier.CRITICAL)


class Action(StrEnum):
    """What a tier requires before the item may leave screening."""

    CLEAR = "clear"  # one screener clears it
    SECOND_SCREENER = "second_screener"  # a second, different screener must confirm
    QUARANTINE = "quarantine"  # to the quarantine room
    EVACUATE = "evacuate"  # do not open, do not move; evacuate and raise the alarm

    @property
    def rank(self) -> int:
        return _ACTION_ORDER.index(self)


_ACTION_ORDER = (Action.CLEAR, Action.SECOND_SCREENER, Action.QUARANTINE, Action.EVACUATE)

ACTION_LABELS: dict[Action, str] = {
    Action.CLEAR: "may be cleared by one screener",
    Action.SECOND_SCREENER: "needs a second screener's confirmation",
    Action.QUARANTINE: "goes to quarantine",
    Action.EVACUATE: "do not open or move it: evacuate and raise the alarm",
}

DEFAULT_ACTIONS: dict[Tier, Action] = {
    Tier.LOW: Action.CLEAR,
    Tier.ELEVATED: Action.SECOND_SCREENER,
    Tier.HIGH: Action.QUARANTINE,
    Tier.CRITICAL: Action.EVACUATE,
}

# A region of these classes scoring at least the policy's minimum sets the item's tier.
DEFAULT_XRAY_TIERS: dict[str, Tier] = {
    "explosive": Tier.CRITICAL,
    "ied": Tier.CRITICAL,
    "powder": Tier.CRITICAL,
    "gun": Tier.HIGH,
    "knife": Tier.HIGH,
    # an impenetrable block could hide anything, and nobody may clear what nobody has seen
    "shielded": Tier.HIGH,
}
# A reported region scoring under the minimum still needs a second pair of eyes (unless the
# policy rates its class lower than that even when certain).
WEAK_FINDING_TIER = Tier.ELEVATED

DEFAULT_ELEVATED_AT = 2
DEFAULT_HIGH_AT = 5
DEFAULT_CRITICAL_AT = 9
DEFAULT_XRAY_MIN_SCORE = 0.5
DEFAULT_RECIPIENT_RISK_WEIGHT = 2
DEFAULT_CONFIRM_WITHIN_MINUTES = 30

MAX_WEIGHT = 100
MAX_THRESHOLD = 1000


@dataclass(frozen=True)
class Policy:
    """A site's screening policy, with every indicator's effective weight filled in."""

    indicator_weights: Mapping[str, int]
    elevated_at: int = DEFAULT_ELEVATED_AT
    high_at: int = DEFAULT_HIGH_AT
    critical_at: int = DEFAULT_CRITICAL_AT
    xray_tiers: Mapping[str, Tier] = field(default_factory=lambda: dict(DEFAULT_XRAY_TIERS))
    xray_min_score: float = DEFAULT_XRAY_MIN_SCORE
    recipient_risk_weight: int = DEFAULT_RECIPIENT_RISK_WEIGHT
    actions: Mapping[Tier, Action] = field(default_factory=lambda: dict(DEFAULT_ACTIONS))

    def tier_for_points(self, points: int) -> Tier:
        if points >= self.critical_at:
            return Tier.CRITICAL
        if points >= self.high_at:
            return Tier.HIGH
        if points >= self.elevated_at:
            return Tier.ELEVATED
        return Tier.LOW


def policy_problems(policy: Policy) -> list[tuple[str, str]]:
    """(field, reason) for each rule the policy breaks; empty when it is sound."""
    problems: list[tuple[str, str]] = []
    for code, weight in policy.indicator_weights.items():
        if not 0 <= weight <= MAX_WEIGHT:
            problems.append(
                (
                    f"indicator_weights.{code}",
                    f"must be 0 to {MAX_WEIGHT}: indicators raise the tier, never lower it",
                )
            )
    if policy.elevated_at < 1:
        problems.append(("elevated_at", "must be at least 1, so that a clean item stays low"))
    if policy.high_at <= policy.elevated_at:
        problems.append(("high_at", f"must be above elevated_at ({policy.elevated_at})"))
    if policy.critical_at <= policy.high_at:
        problems.append(("critical_at", f"must be above high_at ({policy.high_at})"))
    if policy.critical_at > MAX_THRESHOLD:
        problems.append(("critical_at", f"must be at most {MAX_THRESHOLD}"))
    if not 0.0 <= policy.xray_min_score <= 1.0:
        problems.append(("xray_min_score", "must be between 0 and 1"))
    if not 0 <= policy.recipient_risk_weight <= MAX_WEIGHT:
        problems.append(("recipient_risk_weight", f"must be 0 to {MAX_WEIGHT}"))
    missing = [t.value for t in Tier if t not in policy.actions]
    if missing:
        problems.append(("actions", f"name what each tier requires; missing {', '.join(missing)}"))
        return problems
    ranks = [policy.actions[t].rank for t in _TIER_ORDER]
    if ranks != sorted(ranks):
        problems.append(("actions", "a higher tier must never require less than a lower one"))
    if policy.actions[Tier.CRITICAL].rank < Action.QUARANTINE.rank:
        problems.append(("actions.critical", "a critical item must be quarantined or evacuated"))
    return problems


@dataclass(frozen=True)
class Finding:
    """One region the X-ray analysis reported."""

    cls: str
    score: float
    reason: str = ""
    scan_id: int | None = None


@dataclass(frozen=True)
class Assessment:
    tier: Tier
    action: Action
    points: int
    reasons: tuple[str, ...]


def assess(
    policy: Policy,
    indicators: Iterable[str],
    findings: Iterable[Finding] = (),
    *,
    high_risk_recipient: str | None = None,
    floor: Tier | None = None,
    floor_reason: str = "",
) -> Assessment:
    """The tier of an item and what it requires.

    ``high_risk_recipient`` says why the recipient is high-risk (None when not). ``floor`` is a
    tier the result may not fall under: the screener's own call, or an earlier decision.
    """
    reasons: list[str] = []
    points = 0
    for code in sorted(set(indicators)):
        if code not in policy.indicator_weights:
            raise ValueError(f"indicators: unknown indicator {code!r}")
        weight = policy.indicator_weights[code]
        points += weight
        reasons.append(f"indicator {code} (+{weight})")
    if high_risk_recipient:
        points += policy.recipient_risk_weight
        reasons.append(
            f"high-risk recipient: {high_risk_recipient} (+{policy.recipient_risk_weight})"
        )
    tier = policy.tier_for_points(points)
    reasons.append(f"{points} points: {tier.value}")
    for finding in sorted(findings, key=lambda f: -f.score):
        where = f" in scan {finding.scan_id}" if finding.scan_id is not None else ""
        named = policy.xray_tiers.get(finding.cls)
        if named is None:
            # a class the policy does not name (one the analysis learnt later) gets a look
            found_tier = WEAK_FINDING_TIER
        elif finding.score >= policy.xray_min_score:
            found_tier = named
        else:
            found_tier = min(named, WEAK_FINDING_TIER, key=lambda t: t.rank)
        reasons.append(
            f"x-ray {finding.cls} {finding.score:.2f}{where}: {found_tier.value}"
            + (f" ({finding.reason})" if finding.reason else "")
        )
        tier = max(tier, found_tier, key=lambda t: t.rank)
    if floor is not None and floor.rank > tier.rank:
        tier = floor
        reasons.append(f"raised to {floor.value}" + (f": {floor_reason}" if floor_reason else ""))
    action = policy.actions[tier]
    reasons.append(f"{tier.value} tier: {ACTION_LABELS[action]}")
    return Assessment(tier, action, points, tuple(reasons))
