"""The API's shapes for screener proficiency and live TIP settings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema

from mailwarden.core.api import Input
from mailwarden.directory.schemas import SiteCode
from mailwarden.training.queries import proficiency as queries
from mailwarden.training.services import tip_live

Category = Literal["knife", "gun", "ied", "explosive"]
Days = Annotated[int, Field(ge=0, le=3650)]


class ProficiencyQuery(Input):
    days: Days = Field(0, description="Only answers from the last this many days; 0: all")


class ProficiencyMeasuresOut(Schema):
    trials: int
    live_trials: int
    signal_trials: int
    noise_trials: int
    hits: int
    false_alarms: int
    hit_rate: float | None
    false_alarm_rate: float | None
    dprime: float | None
    criterion: float | None
    a_prime: float | None
    median_response_ms: int | None
    note: str = Field(description="'no trials yet' when there is nothing to measure")


def measures_out(found: queries.Proficiency) -> ProficiencyMeasuresOut:
    m = found.measures
    return ProficiencyMeasuresOut(
        trials=m.trials,
        live_trials=found.live_trials,
        signal_trials=m.signal_trials,
        noise_trials=m.noise_trials,
        hits=m.hits,
        false_alarms=m.false_alarms,
        hit_rate=m.hit_rate,
        false_alarm_rate=m.false_alarm_rate,
        dprime=m.dprime,
        criterion=m.criterion,
        a_prime=m.a_prime,
        median_response_ms=found.median_ms,
        note="" if found.has_trials else queries.NO_TRIALS,
    )


class ScreenerOut(Schema):
    user_id: int
    username: str
    name: str
    last_answered: datetime | None
    measures: ProficiencyMeasuresOut


def screener_out(row: queries.ScreenerRow) -> ScreenerOut:
    return ScreenerOut(
        user_id=row.user_id,
        username=row.username,
        name=row.name,
        last_answered=row.last_answered,
        measures=measures_out(row.proficiency),
    )


class ProficiencyCategoryOut(Schema):
    category: str
    measures: ProficiencyMeasuresOut


class WeekOut(Schema):
    week: date
    measures: ProficiencyMeasuresOut


class ScreenerDetailOut(ScreenerOut):
    categories: list[ProficiencyCategoryOut]
    weeks: list[WeekOut]


def detail_out(detail: queries.ScreenerDetail) -> ScreenerDetailOut:
    return ScreenerDetailOut(
        **screener_out(detail.row).model_dump(),
        categories=[
            ProficiencyCategoryOut(category=c.category, measures=measures_out(c.proficiency))
            for c in detail.categories
        ],
        weeks=[WeekOut(week=w.week, measures=measures_out(w.proficiency)) for w in detail.weeks],
    )


class TipPolicyOut(Schema):
    site: str
    enabled: bool
    rate_percent: float
    categories: list[str] = Field(description="Empty: every category")
    updated_at: datetime | None
    updated_by: str


def policy_out(found: tip_live.SiteSettings) -> TipPolicyOut:
    updated = found.updated_at if isinstance(found.updated_at, datetime) else None
    return TipPolicyOut(
        site=found.site_code,
        enabled=found.enabled,
        rate_percent=found.rate_percent,
        categories=found.categories,
        updated_at=updated,
        updated_by=found.updated_by,
    )


class TipPolicyIn(Input):
    enabled: bool
    rate_percent: Annotated[float, Field(ge=0, le=tip_live.MAX_RATE_PERCENT)]
    categories: Annotated[list[Category], Field(max_length=4)] = []


class SiteQuery(Input):
    site: SiteCode
