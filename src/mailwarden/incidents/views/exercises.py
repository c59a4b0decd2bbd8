"""Console pages of exercises and after-action reports: the list with the plan form, one
exercise with its start (after a confirmation), and the report of an incident (exercise or
real) with its edit form, its improvement plan and its PDF.

Views read the queries and call :mod:`mailwarden.incidents.services.exercises` for every change.
"""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.core.errors import ServiceError
from mailwarden.core.views import actor_of, console_page
from mailwarden.directory.models import Site
from mailwarden.incidents.forms.exercises import (
    ActionForm,
    ExerciseForm,
    ReportForm,
    StartForm,
    lines,
)
from mailwarden.incidents.models import (
    CorrectiveActionStatus,
    Exercise,
    Incident,
    IncidentState,
)
from mailwarden.incidents.report import report_context, report_pdf
from mailwarden.incidents.services import exercises as services

SHOWN = 100
EXTRA_OBJECTIVES = 2


def _show_error(form: forms.Form, exc: ServiceError, aliases: dict[str, str] | None = None) -> None:
    name = (aliases or {}).get(exc.field or "", exc.field or "")
    if name.startswith("objectives.") and name.count(".") == 2:
        _, index, part = name.split(".")
        name = {"objective": "objective", "rating": "rating", "notes": "notes"}[part] + f"_{index}"
    elif "." in name:
        name = name.split(".", 1)[0]
    form.add_error(name if name in form.fields else None, exc.message)


def _sites() -> list[tuple[str, str]]:
    return [(s.code, s.name) for s in Site.objects.order_by("name")]


@console_page(services.VIEW_EXERCISES, "exercises and reports")
@require_http_methods(["GET", "POST"])
def exercises(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    can_plan = actor.has(*services.PLAN_EXERCISES)
    form = ExerciseForm(request.POST or None, sites=_sites())
    if request.method == "POST":
        if not can_plan:
            messages.error(request, "Only a security manager plans exercises.")
            return redirect("incidents:exercises")
        if form.is_valid():
            data = form.cleaned_data
            site = Site.objects.get(code=data["site"])
            local: datetime = data["planned_start"]
            planned = local.replace(tzinfo=zoneinfo.ZoneInfo(site.timezone))
            try:
                exercise = services.plan_exercise(
                    actor,
                    services.ExerciseRequest(
                        name=data["name"],
                        type=data["type"],
                        scenario=data["scenario"],
                        site=site.code,
                        incident_type=data["incident_type"],
                        planned_start=planned,
                        objectives=lines(data["objectives"]),
                        participants=data["participants"],
                        severity=data["severity"],
                        armed=data["armed"],
                    ),
                )
            except ServiceError as exc:
                _show_error(form, exc)
            else:
                messages.success(request, f"Exercise \u201c{exercise.name}\u201d planned.")
                return redirect("incidents:exercise", exercise.pk)
    context = {
        "exercises": list(Exercise.objects.select_related("site", "incident")[:SHOWN]),
        "closed": list(
            Incident.objects.select_related("site")
            .filter(state=IncidentState.CLOSED, exercise=False)
            .order_by("-closed_at", "-id")[:SHOWN]
        ),
        "can_plan": can_plan,
        "form": form,
    }
    return render(request, "incidents/exercises/list.html", context, status=200)


@console_page(services.VIEW_EXERCISES, "exercises and reports")
@require_GET
def exercise(request: HttpRequest, exercise_id: int) -> HttpResponse:
    plan = get_object_or_404(Exercise.objects.select_related("site", "incident"), pk=exercise_id)
    can_plan = actor_of(request).has(*services.PLAN_EXERCISES)
    return render(
        request, "incidents/exercises/detail.html", {"exercise": plan, "can_plan": can_plan}
    )


@console_page(services.PLAN_EXERCISES, "starting exercises")
@require_http_methods(["GET", "POST"])
def exercise_start(request: HttpRequest, exercise_id: int) -> HttpResponse:
    plan = get_object_or_404(Exercise.objects.select_related("site"), pk=exercise_id)
    form = StartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            incident = services.start_exercise(actor_of(request), plan.pk, confirm=True)
        except ServiceError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, f"Exercise started as {incident.reference}.")
            return redirect("incidents:exercise", plan.pk)
    return render(request, "incidents/exercises/start.html", {"exercise": plan, "form": form})


def _incident(incident_id: int) -> Incident:
    return get_object_or_404(Incident.objects.select_related("site"), pk=incident_id)


def _report_page(
    request: HttpRequest, incident: Incident, action_form: ActionForm, status: int = 200
) -> HttpResponse:
    context: dict[str, Any] = report_context(incident)
    context.update(
        {
            "can_edit": actor_of(request).has(*services.EDIT_REPORTS),
            "action_form": action_form,
            "statuses": CorrectiveActionStatus.choices,
        }
    )
    return render(request, "incidents/exercises/report.html", context, status=status)


@console_page(services.VIEW_REPORTS, "after-action reports")
@require_GET
def report(request: HttpRequest, incident_id: int) -> HttpResponse:
    return _report_page(request, _incident(incident_id), ActionForm())


@console_page(services.VIEW_REPORTS, "after-action reports")
@require_GET
def report_download(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    response = HttpResponse(report_pdf(incident), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="report-{incident.reference}.pdf"'
    return response


@console_page(services.EDIT_REPORTS, "writing after-action reports")
@require_http_methods(["GET", "POST"])
def report_edit(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    current = services.draft_report(incident)
    count = len(current.objectives) + EXTRA_OBJECTIVES
    if request.method == "POST":
        form = ReportForm(request.POST, objective_count=count)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.save_report(
                    actor_of(request),
                    incident.pk,
                    services.ReportRequest(
                        overview=data["overview"],
                        participants=data["participants"],
                        objectives=[
                            services.ObjectiveResult(
                                objective=data[f"objective_{i}"],
                                rating=data[f"rating_{i}"],
                                notes=data[f"notes_{i}"],
                            )
                            for i in range(count)
                        ],
                        strengths=lines(data["strengths"]),
                        improvements=lines(data["improvements"]),
                    ),
                )
            except ServiceError as exc:
                _show_error(form, exc)
            else:
                messages.success(request, "Report saved.")
                return redirect("incidents:report", incident.pk)
    else:
        initial: dict[str, Any] = {
            "overview": current.overview,
            "participants": current.participants,
            "strengths": "\n".join(current.strengths),
            "improvements": "\n".join(current.improvements),
        }
        for i, objective in enumerate(current.objectives):
            initial[f"objective_{i}"] = objective.get("objective", "")
            initial[f"rating_{i}"] = objective.get("rating", "")
            initial[f"notes_{i}"] = objective.get("notes", "")
        form = ReportForm(initial=initial, objective_count=count)
    return render(
        request,
        "incidents/exercises/report_edit.html",
        {"incident": incident, "form": form, "objective_rows": form.objective_rows()},
    )


def _action_request(data: dict[str, Any]) -> services.ActionRequest:
    return services.ActionRequest(
        action=data["action"],
        owner=data["owner"],
        due_on=data["due_on"],
        improvement=data["improvement"],
        status=data["status"],
    )


@console_page(services.EDIT_REPORTS, "writing the improvement plan")
@require_POST
def report_action_add(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    form = ActionForm(request.POST)
    if form.is_valid():
        try:
            services.add_corrective_action(
                actor_of(request), incident.pk, _action_request(form.cleaned_data)
            )
        except ServiceError as exc:
            _show_error(form, exc)
        else:
            messages.success(request, "Corrective action added.")
            return redirect("incidents:report", incident.pk)
    return _report_page(request, incident, form, status=400)


@console_page(services.EDIT_REPORTS, "writing the improvement plan")
@require_POST
def report_action_update(request: HttpRequest, incident_id: int, action_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    form = ActionForm(request.POST)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        messages.error(request, f"Nothing was changed: {first}.")
        return redirect("incidents:report", incident.pk)
    try:
        services.update_corrective_action(
            actor_of(request), incident.pk, action_id, _action_request(form.cleaned_data)
        )
    except ServiceError as exc:
        messages.error(request, f"Nothing was changed: {exc.message}.")
    else:
        messages.success(request, "Corrective action updated.")
    return redirect("incidents:report", incident.pk)
