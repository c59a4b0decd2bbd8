"""The risk console: controls, with their claimed status, live evidence and flag; a control's
page with its evidence in detail. Security managers record, change and evaluate them; auditors
read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page, forbidden
from mailwarden.directory.models import Site
from mailwarden.risk.forms_controls import (
    ALIASES,
    ControlForm,
    NewControlForm,
    PeriodForm,
    SitePeriodForm,
)
from mailwarden.risk.models import Control
from mailwarden.risk.permissions import MANAGE_RISK, VIEW_RISK
from mailwarden.risk.queries import controls as queries
from mailwarden.risk.services import controls as services


def _row_or_404(control_id: int) -> queries.ControlRow:
    try:
        return queries.row(control_id)
    except NotFound:
        raise Http404("no such control") from None


def _filters(request: HttpRequest) -> tuple[str, str]:
    site = request.GET.get("site", "")
    if not Site.objects.filter(code=site).exists():
        site = ""
    flag = request.GET.get("flag", "")
    return site, flag if flag in ("contradicted", "agrees") else ""


@console_page(VIEW_RISK, "viewing controls")
@require_http_methods(["GET", "POST"])
def controls(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    can_manage = actor.has(*MANAGE_RISK)
    form = NewControlForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if form is None:
            return forbidden(request, "recording a control needs the security manager role")
        if form.is_valid():
            data = form.cleaned_data
            try:
                control = services.record_control(
                    actor,
                    site=data["site"],
                    title=data["title"],
                    claimed=data["claimed"],
                    description=data["description"],
                    link_kind=data["link_kind"],
                    link_ref=data["link_ref"],
                    measure=data["measure"],
                    expectation=form.expectation(),
                )
            except ServiceError as exc:
                add_service_error(form, exc, ALIASES)
            else:
                messages.success(request, f"Control “{control.title}” recorded.")
                return redirect(reverse("risk:control", args=[control.pk]))
    site, flag = _filters(request)
    contradicted = {"contradicted": True, "agrees": False}.get(flag)
    context: dict[str, Any] = {
        "rows": queries.rows(site or None, contradicted=contradicted),
        "sites": list(Site.objects.order_by("name")),
        "site_filter": site,
        "flag_filter": flag,
        "flagged": queries.flagged_count(),
        "form": form,
        "site_form": SitePeriodForm(initial=SitePeriodForm.initial_dates()) if can_manage else None,
        "can_manage": can_manage,
    }
    failed = form is not None and bool(form.errors)
    return render(request, "risk/controls_list.html", context, status=400 if failed else 200)


def _detail(
    request: HttpRequest,
    row: queries.ControlRow,
    *,
    edit_form: ControlForm | None = None,
    period_form: PeriodForm | None = None,
    status: int = 200,
) -> HttpResponse:
    control = row.control
    can_manage = actor_of(request).has(*MANAGE_RISK)
    if can_manage and edit_form is None:
        edit_form = ControlForm(initial=_initial(control))
    if can_manage and period_form is None:
        period_form = PeriodForm(initial=PeriodForm.initial_dates())
    detail = row.evidence.get("detail") or {}
    context = {
        "row": row,
        "control": control,
        "evidence": row.evidence,
        "detail_rows": [(k.replace("_", " "), _shown(v)) for k, v in detail.items()],
        "period_start": _moment(row.evidence.get("start")),
        "period_end": _moment(row.evidence.get("end")),
        "can_manage": can_manage,
        "edit_form": edit_form,
        "period_form": period_form,
    }
    return render(request, "risk/controls_detail.html", context, status=status)


def _moment(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _shown(value: object) -> str:
    """A detail's value in words: lists joined, records as "key value" pairs."""
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k} {_shown(v)}" for k, v in value.items())
    if isinstance(value, list):
        return "; ".join(_shown(v) for v in value) or "none"
    return str(value)


def _initial(control: Control) -> dict[str, Any]:
    return {
        "title": control.title,
        "claimed": control.claimed,
        "description": control.description,
        "link_kind": control.link_kind,
        "link_ref": control.link_ref,
        "measure": control.measure,
        "expectation_min": control.expectation.get("min"),
        "expectation_max": control.expectation.get("max"),
    }


@console_page(VIEW_RISK, "viewing a control")
@require_http_methods(["GET"])
def control(request: HttpRequest, control_id: int) -> HttpResponse:
    return _detail(request, _row_or_404(control_id))


@console_page(MANAGE_RISK, "changing a control")
@require_POST
def control_edit(request: HttpRequest, control_id: int) -> HttpResponse:
    row = _row_or_404(control_id)
    form = ControlForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.update_control(
                actor_of(request),
                row.control.pk,
                title=data["title"],
                claimed=data["claimed"],
                description=data["description"],
                link_kind=data["link_kind"],
                link_ref=data["link_ref"],
                measure=data["measure"],
                expectation=form.expectation(),
            )
        except ServiceError as exc:
            add_service_error(form, exc, ALIASES)
        else:
            messages.success(request, "Control changed.")
            return redirect(reverse("risk:control", args=[row.control.pk]))
    return _detail(request, row, edit_form=form, status=400)


@console_page(MANAGE_RISK, "evaluating a control")
@require_POST
def control_evaluate(request: HttpRequest, control_id: int) -> HttpResponse:
    row = _row_or_404(control_id)
    form = PeriodForm(request.POST)
    if form.is_valid():
        start, end = form.period(row.control.site)
        try:
            evaluated = services.evaluate(actor_of(request), row.control.pk, start, end)
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            if evaluated.contradicted:
                messages.warning(request, "The evidence contradicts the claimed status.")
            else:
                messages.success(request, "Evidence measured.")
            return redirect(reverse("risk:control", args=[row.control.pk]))
    return _detail(request, row, period_form=form, status=400)


@console_page(MANAGE_RISK, "evaluating controls")
@require_POST
def controls_evaluate(request: HttpRequest) -> HttpResponse:
    form = SitePeriodForm(request.POST)
    if form.is_valid():
        site = Site.objects.get(code=form.cleaned_data["site"])
        start, end = form.period(site)
        try:
            evaluated = services.evaluate_site(actor_of(request), site.code, start, end)
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            flagged = sum(1 for c in evaluated if c.contradicted)
            messages.success(
                request,
                f"{len(evaluated)} controls at {site.name} measured; "
                f"{flagged} contradicted by their evidence.",
            )
        return redirect(f"{reverse('risk:controls')}?site={site.code}")
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, str(error))
    return redirect(reverse("risk:controls"))


urls: list[URLPattern] = [
    path("controls/", controls, name="controls"),
    path("controls/evaluate/", controls_evaluate, name="controls_evaluate"),
    path("controls/<int:control_id>/", control, name="control"),
    path("controls/<int:control_id>/edit/", control_edit, name="control_edit"),
    path("controls/<int:control_id>/evaluate/", control_evaluate, name="control_evaluate"),
]
