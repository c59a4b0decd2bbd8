"""Console pages for planted test parcels: the list with the register form, and each parcel's
score sheet. Security managers and auditors only; the people measured never see these."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page, forbidden
from mailwarden.training import parcel_feedback
from mailwarden.training.forms_parcels import ParcelForm, WithdrawForm
from mailwarden.training.models import PlantedParcel, PlantedStatus
from mailwarden.training.permissions import MANAGE_TEST_PARCELS, VIEW_TEST_PARCELS
from mailwarden.training.queries import parcels as queries
from mailwarden.training.services import parcels as services

LIST_LIMIT = 200


def _parcel_or_404(parcel_id: int) -> PlantedParcel:
    try:
        return queries.parcel(parcel_id)
    except NotFound:
        raise Http404("no such test parcel") from None


@console_page(VIEW_TEST_PARCELS, "viewing test parcels")
@require_http_methods(["GET", "POST"])
def parcels(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    can_manage = actor.has(*MANAGE_TEST_PARCELS)
    form = ParcelForm(request.POST or None) if can_manage else None
    if request.method == "POST":
        if form is None:
            return forbidden(request, "registering a test parcel needs the security manager role")
        if form.is_valid():
            data = form.cleaned_data
            try:
                parcel = services.register(
                    actor,
                    barcode=data["barcode"],
                    site=data["site"],
                    indicators=list(data["indicators"]),
                    notes=data["notes"],
                )
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                messages.success(
                    request,
                    f"Test parcel {parcel.barcode} registered; it calls for the "
                    f"{parcel.expected_tier} tier.",
                )
                return redirect(reverse("training:parcel", args=[parcel.pk]))
    status_filter = request.GET.get("status", "")
    if status_filter not in PlantedStatus.values:
        status_filter = ""
    context: dict[str, Any] = {
        "parcels": list(queries.parcels(status=status_filter or None)[:LIST_LIMIT]),
        "statuses": PlantedStatus.choices,
        "status_filter": status_filter,
        "results": queries.results_by_site(),
        "form": form,
        "can_manage": can_manage,
    }
    failed = form is not None and bool(form.errors)
    return render(request, "training/parcels_list.html", context, status=400 if failed else 200)


@console_page(VIEW_TEST_PARCELS, "viewing a test parcel")
@require_http_methods(["GET"])
def parcel(request: HttpRequest, parcel_id: int) -> HttpResponse:
    found = _parcel_or_404(parcel_id)
    return _detail(request, found, WithdrawForm())


def _detail(
    request: HttpRequest, found: PlantedParcel, withdraw_form: WithdrawForm, status: int = 200
) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "parcel": found,
        "sheet": parcel_feedback.context(found, parcel_feedback.SCREENER),
        "history": queries.history(found.pk),
        "can_withdraw": actor.has(*MANAGE_TEST_PARCELS)
        and found.status == PlantedStatus.REGISTERED,
        "withdraw_form": withdraw_form,
    }
    return render(request, "training/parcels_detail.html", context, status=status)


@console_page(MANAGE_TEST_PARCELS, "withdrawing a test parcel")
@require_POST
def parcel_withdraw(request: HttpRequest, parcel_id: int) -> HttpResponse:
    found = _parcel_or_404(parcel_id)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            services.withdraw(actor_of(request), found.pk, reason=form.cleaned_data["reason"])
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Test parcel {found.barcode} withdrawn.")
            return redirect(reverse("training:parcel", args=[found.pk]))
    return _detail(request, _parcel_or_404(parcel_id), form, status=400)


urls: list[URLPattern] = [
    path("parcels/", parcels, name="parcels"),
    path("parcels/<int:parcel_id>/", parcel, name="parcel"),
    path("parcels/<int:parcel_id>/withdraw/", parcel_withdraw, name="parcel_withdraw"),
]
