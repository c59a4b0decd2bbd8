"""What changed since the last assessment of a site: its risks, matched by key, went up, down,
are new, were closed, or stayed as they were.

Scores are compared on the methods' normalised 0..1 scale, so a re-assessment scored by another
method can still be compared. A risk's current score is its residual one when it has one, its
inherent one otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailwarden.risk.models import Assessment, Risk, RiskState
from mailwarden.risk.scoring import Method, MethodError, method

# Normalised scores closer than this are the same score (float noise, not a change).
EPSILON = 1e-6


class Change(StrEnum):
    UP = "up"
    DOWN = "down"
    NEW = "new"
    CLOSED = "closed"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Score:
    score: float
    level: str
    normalised: float


@dataclass(frozen=True)
class RiskChange:
    key: str
    title: str
    change: Change
    before: Score | None
    after: Score | None
    risk_id: int | None  # in this assessment (None for a risk no longer in it)
    previous_risk_id: int | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after.normalised - self.before.normalised, 4)


@dataclass(frozen=True)
class Diff:
    assessment_id: int
    previous_id: int | None
    changes: tuple[RiskChange, ...]

    def of(self, change: Change) -> list[RiskChange]:
        return [c for c in self.changes if c.change == change]

    @property
    def counts(self) -> dict[str, int]:
        return {c.value: len(self.of(c)) for c in Change}


def _method(assessment: Assessment) -> Method | None:
    try:
        return method(assessment.method, assessment.method_params)
    except MethodError:
        return None  # a method since removed: its risks compare as unscored


def current_score(risk: Risk, scorer: Method | None) -> Score | None:
    """The risk's residual score if it has one, else its inherent one, normalised."""
    if risk.residual_score is not None:
        score, level = risk.residual_score, risk.residual_level
    elif risk.inherent_score is not None:
        score, level = risk.inherent_score, risk.inherent_level
    else:
        return None
    if scorer is None:
        return None
    return Score(score=score, level=level, normalised=round(scorer.normalised(score), 6))


def _compare(before: Score | None, after: Score | None) -> Change:
    # An unscored side cannot be compared: the risk is still there, so it reads as unchanged.
    if before is None or after is None:
        return Change.UNCHANGED
    if after.normalised > before.normalised + EPSILON:
        return Change.UP
    if after.normalised < before.normalised - EPSILON:
        return Change.DOWN
    return Change.UNCHANGED


_ORDER = {Change.UP: 0, Change.NEW: 1, Change.DOWN: 2, Change.CLOSED: 3, Change.UNCHANGED: 4}


def diff(assessment: Assessment) -> Diff:
    """The changes from ``assessment.previous`` to ``assessment`` (none without a previous one).

    A risk closed in the previous assessment counts as absent from it; one closed in this
    assessment (or missing from it) that was open before is closed.
    """
    previous = assessment.previous
    if previous is None:
        return Diff(assessment.pk, None, ())
    now_scorer, then_scorer = _method(assessment), _method(previous)
    before = {
        r.key: r for r in Risk.objects.filter(assessment=previous).exclude(state=RiskState.CLOSED)
    }
    after = {r.key: r for r in Risk.objects.filter(assessment=assessment)}
    changes: list[RiskChange] = []
    for key, risk in after.items():
        old = before.get(key)
        then = current_score(old, then_scorer) if old else None
        now = current_score(risk, now_scorer)
        if risk.state == RiskState.CLOSED:
            if old is None:
                continue  # opened and closed within this assessment: nothing changed
            change = Change.CLOSED
        elif old is None:
            change = Change.NEW
        else:
            change = _compare(then, now)
        changes.append(
            RiskChange(
                key=key,
                title=risk.title,
                change=change,
                before=then,
                after=now,
                risk_id=risk.pk,
                previous_risk_id=old.pk if old else None,
            )
        )
    for key, old in before.items():
        if key not in after:
            changes.append(
                RiskChange(
                    key=key,
                    title=old.title,
                    change=Change.CLOSED,
                    before=current_score(old, then_scorer),
                    after=None,
                    risk_id=None,
                    previous_risk_id=old.pk,
                )
            )
    changes.sort(key=lambda c: (_ORDER[c.change], -abs(c.delta or 0.0), c.key))
    return Diff(assessment.pk, previous.pk, tuple(changes))
