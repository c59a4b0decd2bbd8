"""The playbooks in the console: every incident type's playbook (security managers edit them,
everyone else on the staff reads them), and an incident's steps on their own page, where each
step is checked off by its role and an exercise is armed.

Views read :mod:`mailwarden.incidents.queries` and call
:mod:`mailwarden.incidents.services.playbooks` for every change (docs/architecture.md rule 1).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.core.errors import ServiceError
from mailwarden.core.views import actor_of, console_page, safe_next
from mailwarden.custody import holds
from mailwarden.incidents.forms.playbooks import (
    CompleteStepForm,
    PlaybookForm,
    ReleaseHoldForm,
    StepFormSet,
)
from mailwarden.incidents.models import Incident, Playbook
from mailwarden.incidents.queries import playbooks as queries
from mailwarden.incidents.services import playbooks as services


@console_page(services.VIEW_PLAYBOOKS, "the playbooks")
@require_GET
def playbook_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "incidents/playbooks/list.html",
        {
            "playbooks": list(queries.playbooks()),
            "can_edit": actor_of(request).has(*services.EDIT_PLAYBOOKS),
        },
    )


def _playbook(playbook_id: int) -> Playbook:
    playbook = Playbook.objects.filter(pk=playbook_id).first()
    if playbook is None:
        raise Http404("no such playbook")
    return playbook


def _initial(playbook: Playbook) -> list[dict[str, Any]]:
    return [
        {
            "title": s.title,
            "role": s.role,
            "target_minutes": s.target_minutes,
            "action": s.action,
            "message": s.message,
            "instructions": s.instructions,
            "ORDER": s.position,
        }
        for s in playbook.steps.order_by("position")
    ]


@console_page(services.EDIT_PLAYBOOKS, "editing playbooks")
@require_http_methods(["GET", "POST"])
def playbook_edit(request: HttpRequest, playbook_id: int) -> HttpResponse:
    playbook = _playbook(playbook_id)
    initial = _initial(playbook)
    if request.method == "POST":
        form = PlaybookForm(request.POST)
        steps = StepFormSet(request.POST, initial=initial, prefix="steps")
        if form.is_valid() and steps.is_valid():
            kept = list(steps.ordered_forms)
            req = services.PlaybookRequest(
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                steps=[
                    services.StepRequest(
                        title=f.cleaned_data["title"],
                        role=f.cleaned_data["role"],
                        target_minutes=f.cleaned_data["target_minutes"],
                        action=f.cleaned_data["action"],
                        message=f.cleaned_data["message"],
                        instructions=f.cleaned_data["instructions"],
                    )
                    for f in kept
                ],
            )
            try:
                services.update_playbook(actor_of(request), playbook.pk, req)
            except ServiceError as exc:
                _show_error(exc, form, steps, kept)
            else:
                messages.success(request, f"Playbook “{form.cleaned_data['name']}” saved.")
                return redirect("incidents:playbooks")
    else:
        form = PlaybookForm(initial={"name": playbook.name, "description": playbook.description})
        steps = StepFormSet(initial=initial, prefix="steps")
    return render(
        request,
        "incidents/playbooks/edit.html",
        {"playbook": playbook, "form": form, "steps": steps},
    )


def _show_error(exc: ServiceError, form: Any, steps: Any, kept: list[Any]) -> None:
    """Put a service's refusal on the field it names (``steps.2.role`` is the third kept row)."""
    field = exc.field or ""
    parts = field.split(".")
    if len(parts) == 3 and parts[0] == "steps" and parts[1].isdigit() and int(parts[1]) < len(kept):
        row = kept[int(parts[1])]
        if parts[2] in row.fields:
            row.add_error(parts[2], exc.message)
            return
    if field in form.fields:
        form.add_error(field, exc.message)
        return
    form.add_error(None, exc.message)


def _incident(incident_id: int) -> Incident:
    incident = Incident.objects.select_related("site").filter(pk=incident_id).first()
    if incident is None:
        raise Http404("no such incident")
    return incident


@console_page(services.VIEW_STEPS, "an incident's steps")
@require_GET
def incident_steps(request: HttpRequest, incident_id: int) -> HttpResponse:
    return render(request, "incidents/playbooks/steps.html", {"incident": _incident(incident_id)})


def _back(request: HttpRequest, incident: Incident) -> HttpResponse:
    return redirect(safe_next(request, reverse("incidents:steps", args=[incident.pk])))


@console_page(services.VIEW_STEPS, "checking off playbook steps")
@require_POST
def complete_step(request: HttpRequest, incident_id: int, position: int) -> HttpResponse:
    incident = _incident(incident_id)
    form = CompleteStepForm(request.POST)
    if not form.is_valid():
        first = next(iter(form.errors.values()))[0]
        messages.error(request, f"Step {position} was not checked off: {first}.")
        return _back(request, incident)
    try:
        step = services.complete_step(
            actor_of(request), incident.pk, position, form.cleaned_data["note"]
        )
    except ServiceError as exc:
        messages.error(request, f"Step {position} was not checked off: {exc.message}.")
    else:
        text = f"Step {position} checked off."
        if step.action_status:
            text += f" Action {step.get_action_status_display().lower()}: {step.action_result}."
        if step.action_status == "failed":
            messages.warning(request, text)
        else:
            messages.success(request, text)
    return _back(request, incident)


@console_page(services.ARM_EXERCISES, "arming an exercise")
@require_POST
def arm(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    try:
        services.arm_exercise(actor_of(request), incident.pk)
    except ServiceError as exc:
        messages.error(request, f"Not armed: {exc.message}.")
    else:
        messages.success(
            request, f"{incident.reference} is armed: its steps now lock doors and hold mail."
        )
    return _back(request, incident)


@console_page(holds.RELEASE_HOLDS, "releasing a site's mail hold")
@require_POST
def release_hold(request: HttpRequest, incident_id: int) -> HttpResponse:
    incident = _incident(incident_id)
    form = ReleaseHoldForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        hold = services.release_incident_hold(actor_of(request), incident.pk, reason=reason)
    except ServiceError as exc:
        messages.error(request, f"The hold stands: {exc.message}.")
    else:
        messages.success(request, f"Mail hold {hold} released.")
    return _back(request, incident)
