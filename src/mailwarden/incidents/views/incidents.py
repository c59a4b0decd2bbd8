"""Console pages of incidents: the list with filters, opening one (from scratch or from an
alarm on the alarm console), and an incident's page with its state buttons, timeline, playbook
steps, links, evidence, assignees and tasks.

Views read :mod:`mailwarden.incidents.queries` and call :mod:`mailwarden.incidents.services`
for every change (docs/architecture.md rule 1). Every change answers with a redirect to the
incident's page and a message saying what was done or why it was refused.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.access import queries as access_queries
from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.roles import MANAGE_SECURITY
from mailwarden.core.views import actor_of, console_page
from mailwarden.directory.models import Site
from mailwarden.incidents.downloads import evidence_response
from mailwarden.incidents.forms.incidents import (
    AssignForm,
    EvidenceForm,
    IncidentFilterForm,
    LegalHoldForm,
    LinkForm,
    MoveForm,
    NoteForm,
    OpenIncidentForm,
    TaskForm,
)
from mailwarden.incidents.models import Alarm, IncidentEvidence, IncidentState, LinkKind
from mailwarden.incidents.queries import escalation as escalation_queries
from mailwarden.incidents.queries import incidents as queries
from mailwarden.incidents.services import broadcasts as broadcast_services
from mailwarden.incidents.services import escalation as escalation_services
from mailwarden.incidents.services import exercises as exercise_services
from mailwarden.incidents.services import incidents as services
from mailwarden.incidents.services import legal_holds

SHOWN = 200
MOVE_LABELS = {
    IncidentState.OPEN: "Reopen",
    IncidentState.CONTAINED: "Mark contained",
    IncidentState.RESOLVED: "Mark resolved",
    IncidentState.CLOSED: "Close",
}


@console_page(services.VIEW_INCIDENTS, "incidents")
@require_GET
def incident_list(request: HttpRequest) -> HttpResponse:
    form = IncidentFilterForm(request.GET or None)
    wanted: dict[str, Any] = form.cleaned_data if form.is_valid() else {}
    exercise = {"yes": True, "no": False}.get(wanted.get("exercise") or "")
    filters = queries.IncidentFilters(
        state=wanted.get("state") or None,
        site=wanted.get("site") or None,
        type=wanted.get("type") or None,
        exercise=exercise,
    )
    try:
        found = queries.incidents(filters)
    except ServiceError as exc:
        messages.error(request, exc.message)
        found = queries.incidents()
    context = {
        "incidents": list(found[:SHOWN]),
        "incident_count": found.count(),
        "filter_form": form,
        "sites": Site.objects.order_by("name"),
        "chosen_site": wanted.get("site") or "",
        "can_act": actor_of(request).has(*services.HANDLE_INCIDENTS),
    }
    return render(request, "incidents/incidents/list.html", context)


def _open_initial(request: HttpRequest) -> dict[str, Any]:
    """Filled in from the alarm the person came from, if any."""
    raw = request.GET.get("alarm", "")
    alarm = (
        Alarm.objects.select_related("site").filter(pk=int(raw)).first()
        if raw.isdigit() and len(raw) < 10
        else None
    )
    if alarm is None:
        return {}
    return {
        "type": services.incident_type_for_alarm(alarm.type, alarm.source).value,
        "severity": int(services.severity_for_alarm(alarm.severity)),
        "site": alarm.site.code if alarm.site else "",
        "title": alarm.title,
        "summary": f"From alarm #{alarm.pk}: {alarm.title}",
        "alarm_ids": str(alarm.pk),
    }


@console_page(services.HANDLE_INCIDENTS, "opening incidents")
@require_http_methods(["GET", "POST"])
def incident_open(request: HttpRequest) -> HttpResponse:
    sites = [(s.code, s.name) for s in Site.objects.order_by("name")]
    if request.method == "POST":
        form = OpenIncidentForm(request.POST, sites=sites)
        if form.is_valid():
            data = form.cleaned_data
            try:
                incident = services.open_incident(
                    actor_of(request),
                    services.OpenIncidentRequest(
                        type=data["type"],
                        severity=data["severity"],
                        site=data["site"],
                        title=data["title"],
                        summary=data["summary"],
                        alarm_ids=tuple(data["alarm_ids"]),
                        exercise=data["exercise"],
                        exercise_type=data["exercise_type"] if data["exercise"] else "",
                    ),
                )
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, f"{incident.reference} opened.")
                return redirect("incidents:incident", incident.pk)
        status = 400
    else:
        initial = _open_initial(request)
        form = OpenIncidentForm(initial=initial, sites=sites)
        status = 200
    alarm_ids = form["alarm_ids"].value() or ""
    context = {"form": form, "from_alarm": alarm_ids}
    return render(request, "incidents/incidents/open.html", context, status=status)


@console_page(services.VIEW_INCIDENTS, "incidents")
@require_GET
def incident(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        found = queries.case_file(pk)
    except ServiceError as exc:
        raise Http404(exc.message) from None
    actor = actor_of(request)
    can_act = actor.has(*services.HANDLE_INCIDENTS) and found.state != IncidentState.CLOSED
    moves = [(s, MOVE_LABELS[IncidentState(s)]) for s in services.allowed_moves(found.state)]
    assigned = {a.user.username for a in found.assignees.all()}
    staff = list(queries.assignable_staff(services.ASSIGNABLE))
    rules = access_queries.site_rules(found.site)
    context = {
        "incident": found,
        "zone": zoneinfo.ZoneInfo(found.site.timezone).key,
        "moves": moves if actor.has(*services.HANDLE_INCIDENTS) else [],
        "can_act": can_act,
        "late_tasks": {t.pk for t in found.tasks.all() if services.task_late(t)},
        "staff": [u for u in staff if u.username not in assigned],
        "staff_all": staff,
        "link_kinds": LinkKind.choices,
        "evidence_limit": services.evidence_limit(),
        "note_form": NoteForm(),
        "can_hold": actor.has(*MANAGE_SECURITY),
        "link_form": LinkForm(),
        "evidence_form": EvidenceForm(),
        "task_form": TaskForm(),
        # The other topics' pages about this incident, each shown only to those who may read it.
        "can_read_report": actor.has(*exercise_services.VIEW_REPORTS),
        "can_message": actor.has(*broadcast_services.SEND_BROADCASTS),
        "can_see_paging": actor.has(*escalation_services.VIEW_ESCALATION),
        "escalation": escalation_queries.escalation_about(f"incident:{found.pk}"),
        # Closing an incident lifts nothing: a person ends a lockdown on the access board.
        "lockdown": rules if rules.lockdown else None,
    }
    return render(request, "incidents/incidents/detail.html", context)


# ----------------------------------------------------------------------------- changes


def _change(
    request: HttpRequest,
    pk: int,
    form: forms.Form,
    act: Callable[[dict[str, Any]], str],
) -> HttpResponse:
    """Run one change from a posted form; say what happened, or why not, on the incident."""
    if not form.is_valid():
        field, errors = next(iter(form.errors.items()))
        where = f"{field}: " if field != "__all__" else ""
        messages.error(request, f"Nothing was changed: {where}{errors[0]}")
    else:
        try:
            done = act(form.cleaned_data)
        except ServiceError as exc:
            where = f"{exc.field}: " if exc.field else ""
            messages.error(request, f"Nothing was changed: {where}{exc.message}")
        else:
            messages.success(request, done)
    return redirect("incidents:incident", pk)


@console_page(services.HANDLE_INCIDENTS, "moving incidents")
@require_POST
def incident_move(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        moved = services.move(actor_of(request), pk, data["state"], data["note"])
        return f"{moved.reference} is now {moved.get_state_display().lower()}."

    return _change(request, pk, MoveForm(request.POST), act)


@console_page(services.HANDLE_INCIDENTS, "adding notes to incidents")
@require_POST
def incident_note(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        services.add_note(actor_of(request), pk, data["text"])
        return "Note added."

    return _change(request, pk, NoteForm(request.POST), act)


@console_page(MANAGE_SECURITY, "legal holds")
@require_POST
def incident_legal_hold(request: HttpRequest, pk: int) -> HttpResponse:
    """Place the incident's legal hold, or release it (``release`` in the form)."""
    releasing = "release" in request.POST

    def act(data: dict[str, Any]) -> str:
        if releasing:
            legal_holds.release_legal_hold(actor_of(request), pk, data["reason"])
            return "Legal hold released."
        legal_holds.place_legal_hold(actor_of(request), pk, data["reason"])
        return "Legal hold placed: the linked items' content is kept."

    return _change(request, pk, LegalHoldForm(request.POST), act)


@console_page(services.HANDLE_INCIDENTS, "assigning incidents")
@require_POST
def incident_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        services.assign(actor_of(request), pk, data["username"])
        return f"{data['username']} assigned."

    return _change(request, pk, AssignForm(request.POST), act)


@console_page(services.HANDLE_INCIDENTS, "assigning incidents")
@require_POST
def incident_unassign(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        services.unassign(actor_of(request), pk, data["username"])
        return f"{data['username']} unassigned."

    return _change(request, pk, AssignForm(request.POST), act)


@console_page(services.HANDLE_INCIDENTS, "linking incidents")
@require_POST
def incident_link(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        link = services.add_link(actor_of(request), pk, data["kind"], data["target"])
        return f"Linked {link.get_kind_display().lower()} {link.target}."

    return _change(request, pk, LinkForm(request.POST), act)


@console_page(services.HANDLE_INCIDENTS, "linking incidents")
@require_POST
def incident_unlink(request: HttpRequest, pk: int, link_id: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        services.remove_link(actor_of(request), pk, link_id)
        return "Link removed."

    return _change(request, pk, forms.Form(request.POST), act)


@console_page(services.HANDLE_INCIDENTS, "adding evidence")
@require_POST
def incident_evidence(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        upload = data["file"]
        evidence = services.add_evidence(
            actor_of(request),
            pk,
            name=upload.name or "",
            data=upload.read(),
            content_type=(upload.content_type or "")[:100],
            description=data["description"],
        )
        return f"Evidence {evidence.name} kept, SHA-256 {evidence.sha256}."

    return _change(request, pk, EvidenceForm(request.POST, request.FILES), act)


@console_page(services.VIEW_INCIDENTS, "incident evidence")
@require_GET
def incident_evidence_file(request: HttpRequest, pk: int, evidence_id: int) -> HttpResponse:
    evidence = IncidentEvidence.objects.filter(incident_id=pk, pk=evidence_id).first()
    if evidence is None:
        raise Http404("no such evidence")
    return evidence_response(evidence, services.evidence_bytes(evidence))


@console_page(services.HANDLE_INCIDENTS, "adding tasks")
@require_POST
def incident_task(request: HttpRequest, pk: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        due = data["due_at"]
        if due is not None:
            # Typed as the site's wall-clock time, like every time on the incident's page.
            site = Site.objects.get(incidents__pk=pk)
            due = due.replace(tzinfo=None).replace(tzinfo=zoneinfo.ZoneInfo(site.timezone))
        task = services.add_task(
            actor_of(request), pk, title=data["title"], assignee=data["assignee"], due_at=due
        )
        return f"Task added: {task.title}."

    return _change(request, pk, TaskForm(request.POST), act)


@console_page(services.HANDLE_INCIDENTS, "completing tasks")
@require_POST
def incident_task_done(request: HttpRequest, pk: int, task_id: int) -> HttpResponse:
    def act(data: dict[str, Any]) -> str:
        task = services.complete_task(actor_of(request), pk, task_id)
        return f"Task done: {task.title}."

    return _change(request, pk, forms.Form(request.POST), act)
