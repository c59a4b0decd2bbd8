"""Compliance in the API: the dashboard's counts, the people behind them, and drill
participation (everyone's for managers and auditors, one's own for every member of staff)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import Forbidden
from mailwarden.training.permissions import LEARN, VIEW_COMPLIANCE
from mailwarden.training.queries import compliance as queries
from mailwarden.training.schemas_compliance import (
    ComplianceFilter,
    ComplianceOut,
    ParticipationFilter,
    ParticipationOut,
    PeopleFilter,
    PersonStandingOut,
    compliance_out,
    participation_out,
    person_standing_out,
)

router = Router()


def _filters(f: ComplianceFilter, standing: str | None = None) -> queries.Filters:
    return queries.Filters(site=f.site, department=f.department, course=f.course, standing=standing)


@router.get(
    "/training/compliance",
    response={200: ComplianceOut, **ERRORS},
    summary="Training compliance per site, department and course, with drills and test parcels",
)
@allow(VIEW_COMPLIANCE, "reading training compliance")
def compliance(request: HttpRequest, filters: Query[ComplianceFilter]) -> ComplianceOut:
    return compliance_out(queries.board(_filters(filters)))


@router.get(
    "/training/compliance/people",
    response={200: list[PersonStandingOut], **ERRORS},
    summary="Everyone a course applies to and where they stand in it, the worst first",
)
@allow(VIEW_COMPLIANCE, "reading training compliance")
def compliance_people(
    request: HttpRequest, filters: Query[PeopleFilter]
) -> list[PersonStandingOut]:
    rows = queries.standings(_filters(filters, filters.standing))
    return [person_standing_out(r) for r in rows[filters.offset : filters.offset + filters.limit]]


@router.get(
    "/training/participation",
    response={200: list[ParticipationOut], **ERRORS},
    summary="Drill participation, newest first",
)
@allow(VIEW_COMPLIANCE, "reading drill participation")
def participation(
    request: HttpRequest, filters: Query[ParticipationFilter]
) -> list[ParticipationOut]:
    return [participation_out(p) for p in queries.participation(filters.site, filters.limit)]


@router.get(
    "/training/participation/mine",
    response={200: list[ParticipationOut], **ERRORS},
    summary="The drills I took part in",
)
@allow(LEARN, "reading your drill participation")
def my_participation(request: HttpRequest) -> list[ParticipationOut]:
    actor = actor_of(request)
    if actor.person_id is None:
        raise Forbidden("only a person takes part in drills: use a token you issued for yourself")
    return [participation_out(p) for p in queries.participation_of(actor.person_id)]
