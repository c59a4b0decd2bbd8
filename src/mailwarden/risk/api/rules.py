"""The risk API: the automatic findings rules, running them on an assessment, and a site's
thresholds."""

from __future__ import annotations

from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Path, Router

from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.directory.queries import site_by_code
from mailwarden.directory.schemas import SiteCode
from mailwarden.risk.permissions import MANAGE_RISK, VIEW_RISK
from mailwarden.risk.rules import THRESHOLDS, load
from mailwarden.risk.schemas_rules import (
    RiskRuleOut,
    RiskRunIn,
    RiskRunOut,
    RiskSiteThresholdsOut,
    RiskThresholdOut,
    RiskThresholdsIn,
    rule_out,
    run_out,
    threshold_out,
)
from mailwarden.risk.services import findings, rule_runs, thresholds

router = Router()

AssessmentId = Annotated[int, Field(ge=1, le=2**31 - 1)]


@router.get(
    "/risk/rules",
    response={200: list[RiskRuleOut], **ERRORS},
    summary="The automatic findings rules, with the thresholds each reads",
)
@allow(VIEW_RISK, "listing the automatic findings rules")
def list_rules(request: HttpRequest) -> list[RiskRuleOut]:
    return [rule_out(r) for r in load().values()]


@router.get(
    "/risk/thresholds",
    response={200: list[RiskThresholdOut], **ERRORS},
    summary="Every threshold the rules read, with its default and range",
)
@allow(VIEW_RISK, "listing the rules' thresholds")
def list_thresholds(request: HttpRequest) -> list[RiskThresholdOut]:
    load()
    return [threshold_out(t) for t in THRESHOLDS.values()]


def _site_thresholds(code: str) -> RiskSiteThresholdsOut:
    site = site_by_code(code)
    return RiskSiteThresholdsOut(
        site=site.code,
        values=thresholds.thresholds_of(site),
        overrides=thresholds.site_overrides(site),
    )


@router.get(
    "/risk/sites/{site}/thresholds",
    response={200: RiskSiteThresholdsOut, **ERRORS},
    summary="A site's thresholds for the automatic findings",
)
@allow(VIEW_RISK, "viewing a site's risk thresholds")
def get_site_thresholds(request: HttpRequest, site: Path[SiteCode]) -> RiskSiteThresholdsOut:
    return _site_thresholds(site)


@router.put(
    "/risk/sites/{site}/thresholds",
    response={200: RiskSiteThresholdsOut, **ERRORS},
    summary="Set some of a site's thresholds (null puts one back to its default)",
)
@allow(MANAGE_RISK, "setting a site's risk thresholds")
def set_site_thresholds(
    request: HttpRequest, site: Path[SiteCode], payload: RiskThresholdsIn
) -> RiskSiteThresholdsOut:
    thresholds.set_thresholds(actor_of(request), site, payload.thresholds)
    return _site_thresholds(site)


@router.post(
    "/risk/assessments/{assessment_id}/rules/run",
    response={200: RiskRunOut, **ERRORS},
    summary="Run the automatic findings rules on an assessment; failed rules are reported",
)
@allow(MANAGE_RISK, "running the automatic findings rules")
def run_rules(
    request: HttpRequest, assessment_id: Path[AssessmentId], payload: RiskRunIn
) -> RiskRunOut:
    report = findings.run_rules(actor_of(request), assessment_id, payload.only)
    return run_out(assessment_id, report, rule_runs.findings_of(assessment_id, report))
