"""The test-parcel API's request and response shapes, bounded like their columns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from ninja import Field, Schema

from mailwarden.core.api import Input
from mailwarden.directory.schemas import SiteCode
from mailwarden.training.models import PlantedParcel, PlantedStatus
from mailwarden.training.queries.parcels import SiteResults
from mailwarden.training.services.parcels import MAX_INDICATORS, score_of

MAX_DB_INT = 2**31 - 1
ParcelId = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
IndicatorCode = Annotated[str, Field(min_length=1, max_length=40)]


class ParcelIn(Input):
    barcode: str = Field(
        min_length=1, max_length=80, description="The carrier tracking number on its label."
    )
    site: SiteCode = Field(description="The code of the site it is sent to.")
    indicators: list[IndicatorCode] = Field(
        min_length=1,
        max_length=MAX_INDICATORS,
        description="The screening checklist's codes of the signs it was prepared with.",
    )
    notes: str = Field("", max_length=2000)


class WithdrawIn(Input):
    reason: str = Field(min_length=1, max_length=300)


class ParcelFilters(Input):
    site: SiteCode | None = None
    status: PlantedStatus | None = None


class ParcelOut(Schema):
    id: int
    barcode: str
    site: str
    status: PlantedStatus
    indicators: list[str]
    expected_tier: str
    notes: str
    registered_by: str
    registered_at: datetime
    item_uid: str = Field(description="The mail item it came through intake as, once it has.")
    received_at: datetime | None
    clerk: str
    flagged_at_intake: bool | None
    screener: str
    decision: int | None
    tier_reached: str
    indicators_ticked: list[str]
    indicators_hit: list[str]
    indicators_missed: list[str]
    indicators_extra: list[str]
    seconds_to_decision: int | None
    seconds_on_item: int | None
    passed: bool | None
    scored_at: datetime | None
    feedback_sent_at: datetime | None
    stopped_at: datetime | None
    stopped_by: str


def parcel_out(parcel: PlantedParcel) -> ParcelOut:
    result = score_of(parcel)
    return ParcelOut(
        id=parcel.pk,
        barcode=parcel.barcode,
        site=parcel.site.code,
        status=PlantedStatus(parcel.status),
        indicators=list(parcel.indicators),
        expected_tier=parcel.expected_tier,
        notes=parcel.notes,
        registered_by=parcel.registered_by,
        registered_at=parcel.registered_at,
        item_uid=parcel.item_uid,
        received_at=parcel.received_at,
        clerk=parcel.clerk,
        flagged_at_intake=parcel.flagged_at_intake,
        screener=parcel.screener,
        decision=parcel.decision_id,
        tier_reached=parcel.tier_reached,
        indicators_ticked=list(parcel.indicators_ticked),
        indicators_hit=result.hit if parcel.scored_at else [],
        indicators_missed=result.missed if parcel.scored_at else [],
        indicators_extra=result.extra if parcel.scored_at else [],
        seconds_to_decision=parcel.seconds_to_decision,
        seconds_on_item=parcel.seconds_on_item,
        passed=parcel.passed,
        scored_at=parcel.scored_at,
        feedback_sent_at=parcel.feedback_sent_at,
        stopped_at=parcel.stopped_at,
        stopped_by=parcel.stopped_by,
    )


class SiteResultsOut(Schema):
    site: str
    site_name: str
    scored: int
    passed: int
    flagged_at_intake: int
    passed_share: float | None = Field(description="None while nothing there is scored.")


def site_results_out(row: SiteResults) -> SiteResultsOut:
    return SiteResultsOut(
        site=row.site_code,
        site_name=row.site_name,
        scored=row.scored,
        passed=row.passed,
        flagged_at_intake=row.flagged,
        passed_share=row.passed_share,
    )
