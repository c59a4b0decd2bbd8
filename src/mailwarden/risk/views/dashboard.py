"""The risk dashboard: every site's latest assessment, its risks by level, the controls whose
live evidence contradicts their claimed status, and overdue treatments."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from mailwarden.core import clock
from mailwarden.core.names import names
from mailwarden.core.views import actor_of, console_page
from mailwarden.directory.models import Site
from mailwarden.risk.models import Assessment, Control, Risk, Treatment, TreatmentStatus
from mailwarden.risk.permissions import MANAGE_RISK, VIEW_RISK
from mailwarden.risk.scoring import Level
from mailwarden.risk.views.nav import assessment_links, risk_links

OPEN_TREATMENT = (TreatmentStatus.PLANNED, TreatmentStatus.IN_PROGRESS)


@dataclass
class SiteRow:
    site: Site
    latest: Assessment | None = None
    drafts: int = 0
    inherent: dict[str, int] = field(default_factory=dict)
    residual: dict[str, int] = field(default_factory=dict)
    unscored: int = 0
    creator: str = ""
    links: list[tuple[str, str, str]] = field(default_factory=list)
    flagged: list[Control] = field(default_factory=list)
    overdue: list[Treatment] = field(default_factory=list)

    @property
    def levels(self) -> list[tuple[str, int, int]]:
        return [(lv, self.inherent.get(lv, 0), self.residual.get(lv, 0)) for lv in Level.ORDER]


def _rows() -> list[SiteRow]:
    rows = {site.pk: SiteRow(site) for site in Site.objects.order_by("name")}
    for assessment in Assessment.objects.select_related("site").order_by("-created_at", "-id"):
        row = rows[assessment.site_id]
        if row.latest is None:
            row.latest = assessment
        if not assessment.final:
            row.drafts += 1
    latest_ids = [row.latest.pk for row in rows.values() if row.latest is not None]
    by_assessment = {row.latest.pk: row for row in rows.values() if row.latest is not None}
    for risk in Risk.objects.filter(assessment_id__in=latest_ids):
        row = by_assessment[risk.assessment_id]
        if risk.inherent_level:
            row.inherent[risk.inherent_level] = row.inherent.get(risk.inherent_level, 0) + 1
        else:
            row.unscored += 1
        if risk.residual_level:
            row.residual[risk.residual_level] = row.residual.get(risk.residual_level, 0) + 1
    for control in Control.objects.filter(contradicted=True).order_by("title"):
        rows[control.site_id].flagged.append(control)
    today = clock.now().date()
    overdue = Treatment.objects.filter(due__lt=today, status__in=OPEN_TREATMENT).select_related(
        "risk__assessment", "owner"
    )
    for treatment in overdue:
        rows[treatment.risk.assessment.site_id].overdue.append(treatment)
    return list(rows.values())


@console_page(VIEW_RISK, "the risk dashboard")
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    rows = _rows()
    people = names(row.latest.created_by for row in rows if row.latest is not None)
    for row in rows:
        if row.latest is not None:
            row.creator = people.get(row.latest.created_by, "")
            row.links = assessment_links(row.latest.pk)
    context = {
        "rows": rows,
        "levels": Level.ORDER,
        "can_manage": actor_of(request).has(*MANAGE_RISK),
        "flagged_total": sum(len(row.flagged) for row in rows),
        "overdue_total": sum(len(row.overdue) for row in rows),
        "draft_total": sum(row.drafts for row in rows),
        "other_pages": risk_links(),
    }
    return render(request, "risk/dashboard.html", context)


urls = [path("", dashboard, name="dashboard")]
