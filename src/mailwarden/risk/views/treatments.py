"""The risk console: the treatment plan across sites (overdue ones first to the eye), a risk's
treatments with the form to plan one, and the buttons that move a treatment on or approve an
acceptance. Security managers act; auditors read."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from mailwarden.core import clock
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page, forbidden, safe_next
from mailwarden.directory.models import Site
from mailwarden.risk.forms_treatments import StatusForm, TreatmentForm
from mailwarden.risk.models import Risk, Treatment, TreatmentStatus
from mailwarden.risk.permissions import APPROVE_ACCEPTANCE, MANAGE_RISK, VIEW_RISK
from mailwarden.risk.queries import treatments as queries
from mailwarden.risk.services import treatments as services

LIST_LIMIT = 500


@dataclass(frozen=True)
class Row:
    """A treatment with what the page shows and offers for it."""

    t: Treatment
    overdue: bool
    owner_name: str
    moves: list[tuple[str, str]]
    approvable: bool


def _rows(request: HttpRequest, found: list[Treatment]) -> list[Row]:
    actor = actor_of(request)
    can_manage = actor.has(*MANAGE_RISK)
    # The person who proposed an acceptance is never offered its approval.
    can_approve = actor.has(*APPROVE_ACCEPTANCE) and actor.person_id is not None
    now = clock.now()
    return [
        Row(
            t=t,
            overdue=services.is_overdue(t, now),
            owner_name=t.owner.get_full_name() or t.owner.get_username(),
            moves=(
                [(s, TreatmentStatus(s).label) for s in services.next_statuses(t)]
                if can_manage
                else []
            ),
            approvable=can_approve
            and t.status == TreatmentStatus.PROPOSED
            and t.proposed_by_id != actor.person_id,
        )
        for t in found
    ]


@console_page(VIEW_RISK, "viewing risk treatments")
@require_http_methods(["GET"])
def treatments(request: HttpRequest) -> HttpResponse:
    site = request.GET.get("site", "")
    status = request.GET.get("status", "")
    overdue = request.GET.get("overdue", "") == "1"
    if status not in TreatmentStatus.values:
        status = ""
    if not Site.objects.filter(code=site).exists():
        site = ""
    found = queries.treatments(
        clock.now(),
        site=site or None,
        status=status or None,
        overdue=True if overdue else None,
    )
    context = {
        "treatments": _rows(request, found[:LIST_LIMIT]),
        "sites": list(Site.objects.order_by("name").values_list("code", "name")),
        "statuses": TreatmentStatus.choices,
        "site_filter": site,
        "status_filter": status,
        "overdue_filter": overdue,
        "here": request.get_full_path(),
        "acting": actor_of(request).has(*MANAGE_RISK),
    }
    return render(request, "risk/treatments_list.html", context)


def _risk_or_404(risk_id: int) -> Risk:
    risk = Risk.objects.select_related("assessment__site").filter(pk=risk_id).first()
    if risk is None:
        raise Http404("no such risk")
    return risk


@console_page(VIEW_RISK, "viewing a risk's treatments")
@require_http_methods(["GET", "POST"])
def risk_treatments(request: HttpRequest, risk_id: int) -> HttpResponse:
    risk = _risk_or_404(risk_id)
    actor = actor_of(request)
    can_manage = actor.has(*MANAGE_RISK)
    form = TreatmentForm(risk, request.POST or None) if can_manage else None
    if request.method == "POST":
        if form is None:
            return forbidden(request, "planning a risk treatment needs the security manager role")
        if form.is_valid():
            data = form.cleaned_data
            try:
                made = services.plan_treatment(
                    actor,
                    risk.pk,
                    kind=data["kind"],
                    description=data["description"],
                    owner=data["owner"],
                    due=data["due"],
                    control_id=data["control"],
                )
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                waits = (
                    " It waits for a second manager's approval." if made.kind == "accept" else ""
                )
                messages.success(request, f"{made.get_kind_display()} planned.{waits}")
                return redirect(reverse("risk:risk_treatments", args=[risk.pk]))
    context = {
        "risk": risk,
        "treatments": _rows(request, queries.of_risk(risk.pk)),
        "form": form,
        "here": request.get_full_path(),
        "acting": can_manage,
    }
    failed = form is not None and bool(form.errors)
    return render(request, "risk/risk_treatments.html", context, status=400 if failed else 200)


def _back(request: HttpRequest, treatment_id: int) -> HttpResponse:
    found = Treatment.objects.filter(pk=treatment_id).values_list("risk_id", flat=True).first()
    default = reverse("risk:risk_treatments", args=[found]) if found else reverse("risk:treatments")
    return redirect(safe_next(request, default))


@console_page(MANAGE_RISK, "changing a risk treatment's status")
@require_POST
def treatment_status(request: HttpRequest, treatment_id: int) -> HttpResponse:
    form = StatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status.")
        return _back(request, treatment_id)
    try:
        changed = services.set_status(actor_of(request), treatment_id, form.cleaned_data["status"])
    except NotFound:
        raise Http404("no such treatment") from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The treatment is {changed.get_status_display().lower()}.")
    return _back(request, treatment_id)


@console_page(APPROVE_ACCEPTANCE, "approving a risk acceptance")
@require_POST
def treatment_approve(request: HttpRequest, treatment_id: int) -> HttpResponse:
    try:
        services.approve_acceptance(actor_of(request), treatment_id)
    except NotFound:
        raise Http404("no such treatment") from None
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Acceptance approved; the risk is treated.")
    return _back(request, treatment_id)


urls: list[URLPattern] = [
    path("treatments/", treatments, name="treatments"),
    path("risks/<int:risk_id>/treatments/", risk_treatments, name="risk_treatments"),
    path("treatments/<int:treatment_id>/status/", treatment_status, name="treatment_status"),
    path("treatments/<int:treatment_id>/approve/", treatment_approve, name="treatment_approve"),
]
