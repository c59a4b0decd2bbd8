"""The risk console: starting an assessment, its guided questionnaire (one section at a time,
saved per section, with progress), its scoring method, and finalising it after a confirmation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.names import names
from mailwarden.core.views import actor_of, console_page, forbidden
from mailwarden.directory.models import Site
from mailwarden.risk import questionnaire
from mailwarden.risk.forms_console import (
    METHOD_CHOICES,
    MethodForm,
    NewAssessmentForm,
    SectionForm,
    answered,
)
from mailwarden.risk.models import Answer, Assessment, AssessmentState
from mailwarden.risk.permissions import MANAGE_RISK, VIEW_RISK
from mailwarden.risk.services import assessments as services
from mailwarden.risk.views.nav import assessment_links


@dataclass(frozen=True)
class SectionProgress:
    section: questionnaire.Section
    number: int
    answered: int
    total: int
    required_left: int

    @property
    def done(self) -> bool:
        return self.required_left == 0


def _assessment_or_404(assessment_id: int) -> Assessment:
    found = Assessment.objects.select_related("site", "previous").filter(pk=assessment_id).first()
    if found is None:
        raise Http404("no such assessment")
    return found


def _template(assessment: Assessment) -> questionnaire.Template:
    try:
        return questionnaire.template(assessment.template)
    except LookupError:
        raise Http404(f"the questionnaire {assessment.template!r} is not shipped") from None


def _answers(assessment: Assessment) -> dict[str, tuple[Any, str]]:
    return {a.question: (a.value, a.note) for a in Answer.objects.filter(assessment=assessment)}


def progress(
    template: questionnaire.Template, answers: dict[str, tuple[Any, str]]
) -> list[SectionProgress]:
    found = []
    for number, section in enumerate(template.sections, start=1):
        given = [q for q in section.questions if answered(answers.get(q.key, (None, ""))[0])]
        left = [q for q in section.questions if q.required and q not in given]
        total = len(section.questions)
        found.append(SectionProgress(section, number, len(given), total, len(left)))
    return found


def _method_title(slug: str) -> str:
    return dict(METHOD_CHOICES).get(slug, slug)


def _overview_context(request: HttpRequest, assessment: Assessment) -> dict[str, Any]:
    template = _template(assessment)
    sections = progress(template, _answers(assessment))
    answered_count = sum(s.answered for s in sections)
    total = sum(s.total for s in sections)
    people = names([assessment.created_by, assessment.finalised_by])
    return {
        "assessment": assessment,
        "template": template,
        "sections": sections,
        "answered": answered_count,
        "total": total,
        "percent": round(100 * answered_count / total) if total else 100,
        "method_title": _method_title(assessment.method),
        "created_by": people.get(assessment.created_by, ""),
        "finalised_by": people.get(assessment.finalised_by, ""),
        "can_manage": actor_of(request).has(*MANAGE_RISK),
        "risk_count": assessment.risks.count(),
        "finding_count": assessment.findings.count(),
        "other_pages": assessment_links(assessment.pk),
    }


# ----------------------------------------------------------------------------- new assessment


@console_page(MANAGE_RISK, "starting a risk assessment")
@require_http_methods(["GET", "POST"])
def assessment_new(request: HttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {"method": "matrix", "size": 5}
    wanted = Site.objects.filter(code=request.GET.get("site", "")).first()
    if wanted is not None:
        initial["site"] = wanted.code
        initial["title"] = f"{wanted.name} mail-centre assessment"
    form = NewAssessmentForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            created = services.create_assessment(
                actor_of(request),
                site=data["site"].code,
                title=data["title"],
                method=data["method"],
                method_params=form.params(),
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"method_params": "size"})
        else:
            messages.success(request, f"Assessment “{created.title}” started.")
            return redirect(reverse("risk:questionnaire", args=[created.pk]))
    previous = None
    site = wanted or (form.cleaned_data.get("site") if form.is_bound and form.is_valid() else None)
    if site is not None:
        previous = (
            Assessment.objects.filter(site=site, state=AssessmentState.FINAL)
            .order_by("-finalised_at", "-id")
            .first()
        )
    status = 400 if form.errors else 200
    return render(
        request, "risk/assessment_new.html", {"form": form, "previous": previous}, status=status
    )


# ----------------------------------------------------------------------------- overview


@console_page(VIEW_RISK, "viewing a risk assessment")
@require_GET
def assessment(request: HttpRequest, assessment_id: int) -> HttpResponse:
    found = _assessment_or_404(assessment_id)
    context = _overview_context(request, found)
    form = MethodForm(initial={"method": found.method, **found.method_params})
    context["method_form"] = form
    return render(request, "risk/assessment.html", context)


@console_page(MANAGE_RISK, "changing an assessment's scoring method")
@require_POST
def assessment_method(request: HttpRequest, assessment_id: int) -> HttpResponse:
    found = _assessment_or_404(assessment_id)
    form = MethodForm(request.POST)
    status = 400
    if form.is_valid():
        try:
            services.set_method(
                actor_of(request), found.pk, form.cleaned_data["method"], form.params()
            )
        except ServiceError as exc:
            if found.final:
                # A finalised assessment shows no method fields to put the refusal next to.
                form.add_error(None, exc.message)
            else:
                add_service_error(form, exc, {"method_params": "size"})
            status = exc.status
        else:
            messages.success(
                request,
                f"Scoring method is now {_method_title(form.cleaned_data['method'])}; "
                "the risks' scores were cleared.",
            )
            return redirect(reverse("risk:assessment", args=[found.pk]))
    context = _overview_context(request, _assessment_or_404(assessment_id))
    context["method_form"] = form
    return render(request, "risk/assessment.html", context, status=status)


# ----------------------------------------------------------------------------- questionnaire


@console_page(VIEW_RISK, "viewing a risk questionnaire")
@require_GET
def questionnaire_start(request: HttpRequest, assessment_id: int) -> HttpResponse:
    """The first section with a required question left, or the first one."""
    found = _assessment_or_404(assessment_id)
    sections = progress(_template(found), _answers(found))
    if not sections:
        return redirect(reverse("risk:assessment", args=[found.pk]))
    target = next((s for s in sections if not s.done), sections[0])
    return redirect(reverse("risk:questionnaire_section", args=[found.pk, target.section.key]))


@console_page(VIEW_RISK, "viewing a risk questionnaire")
@require_http_methods(["GET", "POST"])
def questionnaire_section(request: HttpRequest, assessment_id: int, section: str) -> HttpResponse:
    found = _assessment_or_404(assessment_id)
    template = _template(found)
    keys = [s.key for s in template.sections]
    if section not in keys:
        raise Http404("no such section")
    current = template.sections[keys.index(section)]
    actor = actor_of(request)
    editable = actor.has(*MANAGE_RISK) and not found.final
    status = 200
    if request.method == "POST":
        if not actor.has(*MANAGE_RISK):
            return forbidden(request, "answering the questionnaire needs the security manager role")
        form = SectionForm(request.POST, section=current, answers=_answers(found))
        if form.is_valid() and _save(actor_of(request), found, form):
            messages.success(request, f"“{current.title}” saved.")
            after = keys.index(section) + (1 if "next" in request.POST else 0)
            if after >= len(keys):
                return redirect(reverse("risk:assessment_finalise", args=[found.pk]))
            return redirect(reverse("risk:questionnaire_section", args=[found.pk, keys[after]]))
        status = 400
    else:
        form = SectionForm(section=current, answers=_answers(found))
    if not editable:
        for field in form.fields.values():
            field.disabled = True
    sections = progress(template, _answers(found))
    index = keys.index(section)
    answered_count = sum(s.answered for s in sections)
    total = sum(s.total for s in sections)
    context = {
        "assessment": found,
        "template": template,
        "section": current,
        "sections": sections,
        "current": sections[index],
        "previous_key": keys[index - 1] if index > 0 else None,
        "next_key": keys[index + 1] if index + 1 < len(keys) else None,
        "form": form,
        "editable": editable,
        "answered": answered_count,
        "total": total,
        "percent": round(100 * answered_count / total) if total else 100,
        "other_pages": assessment_links(found.pk),
    }
    return render(request, "risk/questionnaire.html", context, status=status)


def _save(actor: Any, assessment: Assessment, form: SectionForm) -> bool:
    """Every answer of the section, or none: a refused one is shown at its question."""
    try:
        with transaction.atomic():
            for question, value, note in form.values():
                try:
                    services.answer(actor, assessment.pk, question.key, value, note)
                except ServiceError as exc:
                    target = question.key if exc.field in (None, "value", "question") else None
                    form.add_error(target, exc.message)
            if form.errors:
                raise _Refused
    except _Refused:
        return False
    return True


class _Refused(Exception):
    """Rolls back a section whose answers were not all accepted."""


# ----------------------------------------------------------------------------- finalise


@console_page(VIEW_RISK, "finalising a risk assessment")
@require_http_methods(["GET", "POST"])
def assessment_finalise(request: HttpRequest, assessment_id: int) -> HttpResponse:
    found = _assessment_or_404(assessment_id)
    actor = actor_of(request)
    refusal = ""
    from_service = False
    status = 200
    if request.method == "POST":
        if not actor.has(*MANAGE_RISK):
            return forbidden(request, "finalising an assessment needs the security manager role")
        if request.POST.get("confirm") != "yes":
            refusal = "Tick the box to confirm that the assessment is ready to finalise."
            status = 400
        else:
            try:
                services.finalise(actor, found.pk)
            except ServiceError as exc:
                refusal = exc.message
                from_service = True
                status = exc.status
            else:
                messages.success(request, f"Assessment “{found.title}” finalised.")
                return redirect(reverse("risk:assessment", args=[found.pk]))
    context = _overview_context(request, found)
    context["missing"] = [] if found.final else services.missing(found)
    context["refusal"] = refusal
    context["refused_missing"] = from_service and bool(context["missing"])
    return render(request, "risk/assessment_finalise.html", context, status=status)


urls: list[URLPattern] = [
    path("assessments/new/", assessment_new, name="assessment_new"),
    path("assessments/<int:assessment_id>/", assessment, name="assessment"),
    path("assessments/<int:assessment_id>/method/", assessment_method, name="assessment_method"),
    path("assessments/<int:assessment_id>/questions/", questionnaire_start, name="questionnaire"),
    path(
        "assessments/<int:assessment_id>/questions/<slug:section>/",
        questionnaire_section,
        name="questionnaire_section",
    ),
    path(
        "assessments/<int:assessment_id>/finalise/",
        assessment_finalise,
        name="assessment_finalise",
    ),
]
