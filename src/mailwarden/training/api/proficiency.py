"""API: screener proficiency (managers and auditors; a screener their own) and each site's live
TIP settings (read by the same people, changed by security managers through the service)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import HttpRequest
from ninja import Path, Query, Router

from mailwarden.core import clock
from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import Forbidden
from mailwarden.core.permissions import require
from mailwarden.directory.models import Site
from mailwarden.directory.schemas import SiteCode
from mailwarden.training.permissions import LEARN, MANAGE_TRAINING, VIEW_COMPLIANCE
from mailwarden.training.queries import proficiency as queries
from mailwarden.training.schemas_proficiency import (
    ProficiencyQuery,
    ScreenerDetailOut,
    ScreenerOut,
    TipPolicyIn,
    TipPolicyOut,
    detail_out,
    policy_out,
    screener_out,
)
from mailwarden.training.services import tip_live

router = Router()


def _since(query: ProficiencyQuery) -> datetime | None:
    return clock.now() - timedelta(days=query.days) if query.days else None


@router.get(
    "/training/proficiency",
    response={200: list[ScreenerOut], **ERRORS},
    summary="Every screener's TIP measures: hit and false-alarm rates, d′, c, A′, median time",
)
@allow(VIEW_COMPLIANCE, "screener proficiency")
def list_proficiency(request: HttpRequest, query: Query[ProficiencyQuery]) -> list[ScreenerOut]:
    require(actor_of(request), VIEW_COMPLIANCE, "screener proficiency")
    return [screener_out(r) for r in queries.screeners(_since(query))]


@router.get(
    "/training/proficiency/{user_id}",
    response={200: ScreenerDetailOut, **ERRORS},
    summary="One screener's TIP measures, per threat category and by week",
)
@allow(LEARN, "a screener's proficiency")
def screener_proficiency(
    request: HttpRequest, user_id: Path[int], query: Query[ProficiencyQuery]
) -> ScreenerDetailOut:
    actor = actor_of(request)
    if not actor.has(*VIEW_COMPLIANCE) and actor.user_id != user_id:
        raise Forbidden(
            "another screener's proficiency needs one of these roles: security manager, auditor"
        )
    return detail_out(queries.screener(user_id, _since(query)))


@router.get(
    "/training/tip-policy",
    response={200: list[TipPolicyOut], **ERRORS},
    summary="Each site's live TIP settings",
)
@allow(VIEW_COMPLIANCE, "live TIP settings")
def list_tip_policies(request: HttpRequest) -> list[TipPolicyOut]:
    require(actor_of(request), VIEW_COMPLIANCE, "live TIP settings")
    codes = Site.objects.order_by("code").values_list("code", flat=True)
    return [policy_out(tip_live.settings_of(code)) for code in codes]


@router.put(
    "/training/tip-policy/{site}",
    response={200: TipPolicyOut, **ERRORS},
    summary="Set a site's live TIP: on or off, the rate (0 to 20 % of opened items), categories",
)
@allow(MANAGE_TRAINING, "changing live TIP settings")
def set_tip_policy(
    request: HttpRequest, site: Path[SiteCode], payload: TipPolicyIn
) -> TipPolicyOut:
    saved = tip_live.set_policy(
        actor_of(request),
        site,
        enabled=payload.enabled,
        rate_percent=payload.rate_percent,
        categories=list(payload.categories),
    )
    return policy_out(saved)
