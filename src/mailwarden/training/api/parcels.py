"""Planted test parcels in the API: list, register, read the score sheet, withdraw, and the
results per site. Security managers and auditors only: the clerks and screeners a parcel
measures never see one (training.permissions)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.training.permissions import MANAGE_TEST_PARCELS, VIEW_TEST_PARCELS
from mailwarden.training.queries import parcels as queries
from mailwarden.training.schemas_parcels import (
    ParcelFilters,
    ParcelId,
    ParcelIn,
    ParcelOut,
    SiteResultsOut,
    WithdrawIn,
    parcel_out,
    site_results_out,
)
from mailwarden.training.services import parcels as services

router = Router()


@router.get(
    "/training/parcels",
    response={200: list[ParcelOut], **ERRORS},
    summary="The test parcels, newest first",
)
@allow(VIEW_TEST_PARCELS, "listing test parcels")
def list_parcels(request: HttpRequest, filters: Query[ParcelFilters]) -> list[ParcelOut]:
    status = filters.status.value if filters.status else None
    return [parcel_out(p) for p in queries.parcels(filters.site, status)[:500]]


@router.post(
    "/training/parcels",
    response={201: ParcelOut, **ERRORS},
    summary="Register a test parcel prepared with chosen suspicious-mail indicators",
)
@allow(MANAGE_TEST_PARCELS, "registering a test parcel")
def register_parcel(request: HttpRequest, payload: ParcelIn) -> Status[ParcelOut]:
    parcel = services.register(
        actor_of(request),
        barcode=payload.barcode,
        site=payload.site,
        indicators=list(payload.indicators),
        notes=payload.notes,
    )
    return Status(201, parcel_out(queries.parcel(parcel.pk)))


@router.get(
    "/training/parcels/results",
    response={200: list[SiteResultsOut], **ERRORS},
    summary="Scored test parcels per site: how many, and how many passed",
)
@allow(VIEW_TEST_PARCELS, "viewing test-parcel results")
def parcel_results(request: HttpRequest) -> list[SiteResultsOut]:
    return [site_results_out(r) for r in queries.results_by_site()]


@router.get(
    "/training/parcels/{parcel_id}",
    response={200: ParcelOut, **ERRORS},
    summary="A test parcel and its score sheet",
)
@allow(VIEW_TEST_PARCELS, "viewing a test parcel")
def get_parcel(request: HttpRequest, parcel_id: Path[ParcelId]) -> ParcelOut:
    return parcel_out(queries.parcel(parcel_id))


@router.post(
    "/training/parcels/{parcel_id}/withdraw",
    response={200: ParcelOut, **ERRORS},
    summary="Call off a test parcel that has not arrived",
)
@allow(MANAGE_TEST_PARCELS, "withdrawing a test parcel")
def withdraw_parcel(
    request: HttpRequest, parcel_id: Path[ParcelId], payload: WithdrawIn
) -> ParcelOut:
    services.withdraw(actor_of(request), parcel_id, reason=payload.reason)
    return parcel_out(queries.parcel(parcel_id))
