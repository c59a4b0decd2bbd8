"""The API's shapes for screener proficiency and live TIP settings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from ninja import Field, Schema

from mailwarden.core.api import Input
from mailwarden.directory.schemas import SiteCode
from mailwarden.training.queries import proficiency as queries
from mailwarden.training.schemas_tip import MeasuresOut
from mailwarden.training.schemas_tip import measures_out as tip_measures_out
from mailwarden.training.services import tip_live

Category = Literal["knife", "gun", "ied", "explosive"]
Days = Annotated[int, Field(ge=0, le=3650)]


class ProficiencyQuery(Input):
    days: Days = Field(0, description="Only answers from the last this many days; 0: all")


class ProficiencyMeasuresOut(MeasuresOut):
    """A screener's measures as a training session reports them, plus live TIP and speed."""

    live_trials: int
    median_response_ms: int | None


def measures_out(found: queries.Proficiency) -> ProficiencyMeasuresOut:
    return ProficiencyMeasuresOut(
        **tip_measures_out(found.measures).model_dump(),
        live_trials=found.live_trials,
        median_response_ms=found.median_ms,
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
