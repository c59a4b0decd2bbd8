"""The risk console: an assessment's findings (recorded by an assessor with notes and photos, or
proposed by the automatic rules with their evidence), confirming or dismissing them, and running
the rules."""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.core import media
from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.names import names
from mailwarden.core.views import actor_of, console_page, forbidden
from mailwarden.risk import questionnaire, rules
from mailwarden.risk.forms_console import FindingForm, FindingStateForm, PhotoForm
from mailwarden.risk.models import Assessment, Finding, FindingPhoto, FindingState
from mailwarden.risk.permissions import MANAGE_RISK, VIEW_RISK
from mailwarden.risk.services import findings as services
from mailwarden.risk.views.nav import assessment_links

LIST_LIMIT = 500


def _assessment_or_404(assessment_id: int) -> Assessment:
    found = Assessment.objects.select_related("site").filter(pk=assessment_id).first()
    if found is None:
        raise Http404("no such assessment")
    return found


def _finding_or_404(finding_id: int) -> Finding:
    found = Finding.objects.select_related("assessment__site").filter(pk=finding_id).first()
    if found is None:
        raise Http404("no such finding")
    return found


def _threats(assessment: Assessment) -> list[tuple[str, str]]:
    try:
        template = questionnaire.template(assessment.template)
    except LookupError:
        return []
    return [(t.key, t.title) for t in template.threats]


def rule_title(slug: str) -> str:
    for module in rules.MODULES:
        import_module(f"{rules.__name__}.{module}")  # each registers its rules
    found = rules.RULES.get(slug)
    return found.title if found is not None else slug


def _evidence_rows(evidence: Any) -> list[tuple[str, str]]:
    if not isinstance(evidence, dict):
        return [("evidence", str(evidence))] if evidence else []
    rows = []
    for key, value in evidence.items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        rows.append((str(key).replace("_", " "), shown))
    return rows


def _list(
    request: HttpRequest,
    assessment: Assessment,
    form: FindingForm | None,
    *,
    report: rules.RunReport | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    state_filter = request.GET.get("state", "")
    if state_filter not in FindingState.values:
        state_filter = ""
    found = Finding.objects.filter(assessment=assessment).prefetch_related("photos")
    if state_filter:
        found = found.filter(state=state_filter)
    threats = dict(_threats(assessment))
    rows = [
        {
            "finding": f,
            "rule_title": rule_title(f.rule) if f.rule else "",
            "evidence": _evidence_rows(f.evidence),
            "threat": threats.get(f.threat, f.threat),
        }
        for f in found[:LIST_LIMIT]
    ]
    can_manage = actor.has(*MANAGE_RISK)
    if form is None and can_manage and not assessment.final:
        form = FindingForm(threats=list(threats.items()))
    context: dict[str, Any] = {
        "assessment": assessment,
        "rows": rows,
        "states": FindingState.choices,
        "state_filter": state_filter,
        "form": form if can_manage and not assessment.final else None,
        "can_manage": can_manage,
        "can_run": can_manage and not assessment.final,
        "other_pages": assessment_links(assessment.pk),
    }
    if report is not None:
        context["report"] = {
            "proposed": [
                (slug, rule_title(slug), len(items)) for slug, items in report.proposed.items()
            ],
            "failed": [(slug, rule_title(slug), why) for slug, why in report.failed.items()],
            "total": sum(len(items) for items in report.proposed.values()),
        }
    return render(request, "risk/findings.html", context, status=status)


@console_page(VIEW_RISK, "viewing risk findings")
@require_http_methods(["GET", "POST"])
def findings(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = _assessment_or_404(assessment_id)
    if request.method == "GET":
        return _list(request, assessment, None)
    actor = actor_of(request)
    if not actor.has(*MANAGE_RISK):
        return forbidden(request, "recording a finding needs the security manager role")
    form = FindingForm(request.POST, request.FILES, threats=_threats(assessment))
    if form.is_valid():
        data = form.cleaned_data
        try:
            # A refused photo takes its finding with it, so the assessor can send both again.
            with transaction.atomic():
                created = services.record_finding(
                    actor,
                    assessment.pk,
                    title=data["title"],
                    notes=data["notes"],
                    threat=data["threat"] or "",
                )
                if data["photo"] is not None:
                    services.add_photo(actor, created.pk, data["photo"].read(), data["caption"])
        except ServiceError as exc:
            add_service_error(form, exc, {"data": "photo", "image": "photo"})
        else:
            messages.success(request, f"Finding “{created.title}” recorded.")
            return redirect(reverse("risk:finding", args=[created.pk]))
    return _list(request, assessment, form, status=400)


@console_page(MANAGE_RISK, "running the automatic finding rules")
@require_POST
def findings_run(request: HttpRequest, assessment_id: int) -> HttpResponse:
    assessment = _assessment_or_404(assessment_id)
    try:
        report = services.run_rules(actor_of(request), assessment.pk)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return _list(request, assessment, None, status=exc.status)
    failed = len(report.failed)
    total = sum(len(items) for items in report.proposed.values())
    if failed:
        messages.warning(
            request,
            f"The rules ran: {total} finding(s) proposed; {failed} rule(s) failed and are listed.",
        )
    else:
        messages.success(request, f"The rules ran: {total} finding(s) proposed.")
    return _list(request, assessment, None, report=report)


# ----------------------------------------------------------------------------- one finding


def _detail(
    request: HttpRequest,
    finding: Finding,
    *,
    photo_form: PhotoForm | None = None,
    state_form: FindingStateForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = actor_of(request)
    photos = list(finding.photos.all())
    people = names([finding.created_by, *(p.added_by for p in photos)])
    editable = actor.has(*MANAGE_RISK) and not finding.assessment.final
    context = {
        "finding": finding,
        "assessment": finding.assessment,
        "rule_title": rule_title(finding.rule) if finding.rule else "",
        "evidence": _evidence_rows(finding.evidence),
        "threat": dict(_threats(finding.assessment)).get(finding.threat, finding.threat),
        "photos": [(p, people.get(p.added_by, "")) for p in photos],
        "created_by": people.get(finding.created_by, ""),
        "editable": editable,
        "photo_form": photo_form or PhotoForm(),
        "state_form": state_form or FindingStateForm(),
    }
    return render(request, "risk/finding.html", context, status=status)


@console_page(VIEW_RISK, "viewing a risk finding")
@require_GET
def finding(request: HttpRequest, finding_id: int) -> HttpResponse:
    return _detail(request, _finding_or_404(finding_id))


@console_page(MANAGE_RISK, "confirming or dismissing a finding")
@require_POST
def finding_state(request: HttpRequest, finding_id: int) -> HttpResponse:
    found = _finding_or_404(finding_id)
    form = FindingStateForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            changed = services.set_finding_state(
                actor_of(request), found.pk, form.cleaned_data["state"], form.cleaned_data["notes"]
            )
        except ServiceError as exc:
            add_service_error(form, exc)
            status = exc.status
        else:
            messages.success(request, f"Finding {changed.get_state_display().lower()}.")
            return redirect(reverse("risk:finding", args=[found.pk]))
    return _detail(request, _finding_or_404(finding_id), state_form=form, status=status)


@console_page(MANAGE_RISK, "adding a photo to a finding")
@require_POST
def finding_photo_add(request: HttpRequest, finding_id: int) -> HttpResponse:
    found = _finding_or_404(finding_id)
    form = PhotoForm(request.POST, request.FILES)
    status = 400
    if form.is_valid():
        try:
            services.add_photo(
                actor_of(request),
                found.pk,
                form.cleaned_data["photo"].read(),
                form.cleaned_data["caption"],
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"data": "photo", "image": "photo"})
            status = exc.status
        else:
            messages.success(request, "Photo added.")
            return redirect(reverse("risk:finding", args=[found.pk]))
    return _detail(request, _finding_or_404(finding_id), photo_form=form, status=status)


@console_page(VIEW_RISK, "viewing a finding's photo")
@require_GET
def finding_photo(request: HttpRequest, photo_id: int) -> HttpResponse:
    photo = FindingPhoto.objects.filter(pk=photo_id).first()
    if photo is None:
        raise Http404("no such photo")
    try:
        data = media.get(photo.sha256)
    except (FileNotFoundError, ValueError):
        raise Http404("the photo's file is missing") from None
    response = HttpResponse(data, content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


urls: list[URLPattern] = [
    path("assessments/<int:assessment_id>/findings/", findings, name="findings"),
    path("assessments/<int:assessment_id>/findings/run/", findings_run, name="findings_run"),
    path("findings/<int:finding_id>/", finding, name="finding"),
    path("findings/<int:finding_id>/state/", finding_state, name="finding_state"),
    path("findings/<int:finding_id>/photos/", finding_photo_add, name="finding_photo_add"),
    path("findings/photos/<int:photo_id>/", finding_photo, name="finding_photo"),
]
