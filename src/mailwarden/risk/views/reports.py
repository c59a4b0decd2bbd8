"""The risk console: reports. Every assessment with its register, heatmap, treatment plan and
report; what changed since the previous assessment; the report as a PDF."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from mailwarden.core.views import console_page
from mailwarden.risk.models import Assessment
from mailwarden.risk.permissions import VIEW_RISK
from mailwarden.risk.report import report_context, report_pdf
from mailwarden.risk.views.register import assessment_or_404

SHOWN = 200


@console_page(VIEW_RISK, "risk reports")
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    assessments = list(Assessment.objects.select_related("site", "previous")[:SHOWN])
    return render(request, "risk/report/list.html", {"assessments": assessments})


@console_page(VIEW_RISK, "risk reports")
@require_GET
def report(request: HttpRequest, assessment_id: int) -> HttpResponse:
    context = report_context(assessment_or_404(assessment_id))
    context["tab"] = "report"
    return render(request, "risk/report/report.html", context)


@console_page(VIEW_RISK, "risk reports")
@require_GET
def changes(request: HttpRequest, assessment_id: int) -> HttpResponse:
    context = report_context(assessment_or_404(assessment_id))
    context["tab"] = "changes"
    return render(request, "risk/report/changes.html", context)


@console_page(VIEW_RISK, "risk reports")
@require_GET
def report_download(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = assessment_or_404(assessment_id)
    response = HttpResponse(report_pdf(assessment), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="risk-report-{assessment.pk}.pdf"'
    return response


urls = [
    path("reports/", reports, name="reports"),
    path("assessments/<int:assessment_id>/report/", report, name="report"),
    path("assessments/<int:assessment_id>/report.pdf", report_download, name="report_pdf"),
    path("assessments/<int:assessment_id>/changes/", changes, name="changes"),
]
