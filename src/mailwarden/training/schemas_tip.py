"""The TIP training API's request and response shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from ninja import Field, Schema

from mailwarden.core.api import Input
from mailwarden.training.measures import Measures
from mailwarden.training.queries.tip import SessionSummary
from mailwarden.training.services import tip as services
from mailwarden.xray.tip import CATEGORIES

Category = Literal["knife", "gun", "ied", "explosive"]
assert set(Category.__args__) == set(CATEGORIES)  # type: ignore[attr-defined]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
RecordId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class SessionIn(Input):
    size: Annotated[int, Field(ge=services.MIN_SIZE, le=services.MAX_SIZE)] = 20
    threat_share: Fraction = 0.5
    categories: Annotated[list[Category], Field(max_length=len(CATEGORIES))] = []
    # For a reproducible session; drawn at random when left out.
    seed: Annotated[int, Field(ge=0, lt=2**62)] | None = None


class AnswerIn(Input):
    response: Literal["threat", "clear"]
    # Where the screener marked the threat, as fractions of the image's width and height.
    mark: Annotated[list[Fraction], Field(min_length=2, max_length=2)] | None = None
    response_ms: Annotated[int, Field(ge=0, le=services.MAX_RESPONSE_MS)] | None = None


class MeasuresOut(Schema):
    trials: int
    signal_trials: int
    noise_trials: int
    hits: int
    false_alarms: int
    hit_rate: float | None
    false_alarm_rate: float | None
    dprime: float | None
    criterion: float | None
    a_prime: float | None
    # "no trials yet", or what is missing for d′; "" when every measure is there.
    note: str


def measures_out(m: Measures) -> MeasuresOut:
    if not m.trials:
        note = "no trials yet"
    elif not m.signal_trials:
        note = "no threat images yet: d′ needs both kinds"
    elif not m.noise_trials:
        note = "no clean images yet: d′ needs both kinds"
    else:
        note = ""
    return MeasuresOut(
        trials=m.trials,
        signal_trials=m.signal_trials,
        noise_trials=m.noise_trials,
        hits=m.hits,
        false_alarms=m.false_alarms,
        hit_rate=m.hit_rate,
        false_alarm_rate=m.false_alarm_rate,
        dprime=m.dprime,
        criterion=m.criterion,
        a_prime=m.a_prime,
        note=note,
    )


class CategoryOut(Schema):
    hits: int
    shown: int


class SummaryOut(Schema):
    answered: int
    measures: MeasuresOut
    by_category: dict[str, CategoryOut]
    median_response_ms: int | None


def summary_out(s: SessionSummary) -> SummaryOut:
    return SummaryOut(
        answered=s.answered,
        measures=measures_out(s.measures),
        by_category={c: CategoryOut(hits=h, shown=n) for c, (h, n) in s.by_category.items()},
        median_response_ms=s.median_response_ms,
    )


class SessionOut(Schema):
    id: int
    size: int
    threat_share: float
    categories: list[str]
    started_at: datetime
    finished_at: datetime | None
    answered: int
    # When the session is over: how it went.
    summary: SummaryOut | None


class TrialOut(Schema):
    id: int
    session: int
    position: int
    image_url: str
    width: int
    height: int
    presented_at: datetime


class FeedbackOut(Schema):
    trial: int
    outcome: Literal["hit", "miss", "false_alarm", "correct_rejection"]
    correct: bool
    message: str
    # Where the threat was, [x0, y0, x1, y1] as fractions of the image; null on a clean one.
    bbox: list[float] | None
    level_before: int
    level_after: int
    session_done: bool


class MyTipOut(Schema):
    measures: MeasuresOut
    levels: dict[str, int]
    open_session: int | None
