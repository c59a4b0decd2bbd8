"""The risk console: an assessment's register, its heatmap and its treatment plan (read-only;
changes are made on the assessment and treatment pages)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from mailwarden.core.errors import NotFound
from mailwarden.core.views import console_page
from mailwarden.risk.models import Assessment
from mailwarden.risk.permissions import VIEW_RISK
from mailwarden.risk.queries.register import assessment_named
from mailwarden.risk.report import report_context


def assessment_or_404(assessment_id: int) -> Assessment:
    try:
        return assessment_named(assessment_id)
    except NotFound as exc:
        raise Http404(exc.message) from exc


def _page(request: HttpRequest, assessment_id: int, template: str, tab: str) -> HttpResponse:
    context = report_context(assessment_or_404(assessment_id))
    context["tab"] = tab
    return render(request, template, context)


@console_page(VIEW_RISK, "the risk register")
@require_GET
def register(request: HttpRequest, assessment_id: int) -> HttpResponse:
    return _page(request, assessment_id, "risk/report/register.html", "register")


@console_page(VIEW_RISK, "the risk heatmap")
@require_GET
def heatmap(request: HttpRequest, assessment_id: int) -> HttpResponse:
    return _page(request, assessment_id, "risk/report/heatmap.html", "heatmap")


@console_page(VIEW_RISK, "the treatment plan")
@require_GET
def treatment_plan(request: HttpRequest, assessment_id: int) -> HttpResponse:
    return _page(request, assessment_id, "risk/report/plan.html", "plan")


urls = [
    path("assessments/<int:assessment_id>/register/", register, name="register"),
    path("assessments/<int:assessment_id>/heatmap/", heatmap, name="heatmap"),
    path("assessments/<int:assessment_id>/treatment-plan/", treatment_plan, name="treatment_plan"),
]
