"""The risk API: an assessment's register (``/api/risk/assessments/{id}/register``), its
treatment plan, its heatmap as SVG, what changed since the previous assessment, and the report
as HTML or PDF. All read-only."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Path, Router

from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import Conflict
from mailwarden.core.permissions import require
from mailwarden.risk.permissions import VIEW_RISK
from mailwarden.risk.queries.diff import diff
from mailwarden.risk.queries.register import assessment_named, register, treatment_plan
from mailwarden.risk.report import heatmap_of, report_html, report_pdf, scorer_of
from mailwarden.risk.schemas_reports import (
    RiskDbId,
    RiskDiffOut,
    RiskRegisterRowOut,
    RiskRegisterTreatmentOut,
    diff_out,
    register_row_out,
    treatment_out,
)

router = Router()

READING = "reading the risk register and reports"


def _binary(media: str, what: str) -> dict[str, object]:
    return {
        "responses": {
            200: {
                "description": what,
                "content": {media: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


@router.get(
    "/risk/assessments/{assessment_id}/register",
    response={200: list[RiskRegisterRowOut], **ERRORS},
    summary="The register: every risk, inherent and residual, with treatments and controls",
)
@allow(VIEW_RISK, READING)
def get_register(request: HttpRequest, assessment_id: Path[RiskDbId]) -> list[RiskRegisterRowOut]:
    require(actor_of(request), VIEW_RISK, READING)
    return [register_row_out(r) for r in register(assessment_named(assessment_id))]


@router.get(
    "/risk/assessments/{assessment_id}/treatment-plan",
    response={200: list[RiskRegisterTreatmentOut], **ERRORS},
    summary="The treatment plan, soonest due first, overdue ones marked",
)
@allow(VIEW_RISK, READING)
def get_treatment_plan(
    request: HttpRequest, assessment_id: Path[RiskDbId]
) -> list[RiskRegisterTreatmentOut]:
    require(actor_of(request), VIEW_RISK, READING)
    return [treatment_out(t) for t in treatment_plan(assessment_named(assessment_id))]


@router.get(
    "/risk/assessments/{assessment_id}/changes",
    response={200: RiskDiffOut, **ERRORS},
    summary="What changed since the previous assessment: risks up, down, new, closed",
)
@allow(VIEW_RISK, READING)
def get_changes(request: HttpRequest, assessment_id: Path[RiskDbId]) -> RiskDiffOut:
    require(actor_of(request), VIEW_RISK, READING)
    return diff_out(diff(assessment_named(assessment_id)))


@router.get(
    "/risk/assessments/{assessment_id}/heatmap.svg",
    response=ERRORS,
    summary="The heatmap, inherent and residual side by side, as SVG",
    openapi_extra=_binary("image/svg+xml", "The heatmap as an SVG image"),
)
@allow(VIEW_RISK, READING)
def get_heatmap(request: HttpRequest, assessment_id: Path[RiskDbId]) -> HttpResponse:
    require(actor_of(request), VIEW_RISK, READING)
    assessment = assessment_named(assessment_id)
    if scorer_of(assessment) is None:
        raise Conflict(
            f"the scoring method {assessment.method!r} is not available, so no heatmap can be "
            "drawn",
            "method",
        )
    return HttpResponse(str(heatmap_of(assessment)), content_type="image/svg+xml")


@router.get(
    "/risk/assessments/{assessment_id}/report.html",
    response=ERRORS,
    summary="The report (heatmap, register, treatment plan, what changed) as an HTML document",
    openapi_extra=_binary("text/html", "The report as a standalone HTML document"),
)
@allow(VIEW_RISK, READING)
def get_report_html(request: HttpRequest, assessment_id: Path[RiskDbId]) -> HttpResponse:
    require(actor_of(request), VIEW_RISK, READING)
    html = report_html(assessment_named(assessment_id))
    return HttpResponse(html, content_type="text/html; charset=utf-8")


@router.get(
    "/risk/assessments/{assessment_id}/report.pdf",
    response=ERRORS,
    summary="The report as an A4 PDF",
    openapi_extra=_binary("application/pdf", "The report as an A4 PDF"),
)
@allow(VIEW_RISK, READING)
def get_report_pdf(request: HttpRequest, assessment_id: Path[RiskDbId]) -> HttpResponse:
    require(actor_of(request), VIEW_RISK, READING)
    assessment = assessment_named(assessment_id)
    response = HttpResponse(report_pdf(assessment), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="risk-report-{assessment.pk}.pdf"'
    return response
