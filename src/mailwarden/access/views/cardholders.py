"""Cardholders: the list, adding and changing one, its page, and issuing it a credential."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from django.contrib import messages
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.access import services
from mailwarden.access.forms import (
    CardholderEditForm,
    CardholderForm,
    CardholderSearchForm,
    CredentialForm,
    RevokeForm,
)
from mailwarden.access.models import AccessEvent, AccessLevel, Cardholder
from mailwarden.access.services import MANAGE_ACCESS, VIEW_ACCESS
from mailwarden.access.views.common import http_status, perms, site_zone
from mailwarden.access.views.wording import credential_number, credential_rows, describe
from mailwarden.core import clock
from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page
from mailwarden.directory.models import Recipient, Site


@console_page(VIEW_ACCESS, "cardholders")
@require_GET
def cardholders(request: HttpRequest) -> HttpResponse:
    form = CardholderSearchForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    holders = Cardholder.objects.select_related("recipient").annotate(
        live=Count("credentials", filter=Q(credentials__revoked_at__isnull=True))
    )
    if data.get("q"):
        q = data["q"]
        holders = holders.filter(Q(name__icontains=q) | Q(company__icontains=q))
    if data.get("kind"):
        holders = holders.filter(kind=data["kind"])
    rows = list(holders.order_by("name", "pk")[:500])
    context = {"form": form, "rows": rows, "tab": "cardholders", **perms(actor_of(request))}
    return render(request, "access/cardholders.html", context)


@console_page(MANAGE_ACCESS, "adding a cardholder")
@require_http_methods(["GET", "POST"])
def cardholder_new(request: HttpRequest) -> HttpResponse:
    form = CardholderForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        recipient = None
        if data["recipient"]:
            recipient = Recipient.objects.filter(employee_id=data["recipient"].strip()).first()
            if recipient is None:
                form.add_error("recipient", f"no employee with ID {data['recipient']}")
        if not form.errors:
            try:
                holder = services.credentials.create_cardholder(
                    actor_of(request),
                    name=data["name"],
                    kind=data["kind"],
                    employee_id=recipient.employee_id if recipient else None,
                    company=data["company"],
                )
            except ServiceError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, f"{holder.name} added. Issue a credential below.")
                return redirect("access:cardholder", pk=holder.pk)
    context = {"form": form, "tab": "cardholders"}
    return render(
        request, "access/cardholder_new.html", context, status=http_status(bool(form.errors))
    )


@console_page(MANAGE_ACCESS, "changing a cardholder")
@require_http_methods(["GET", "POST"])
def cardholder_edit(request: HttpRequest, pk: int) -> HttpResponse:
    holder = get_object_or_404(Cardholder, pk=pk)
    initial = {"name": holder.name, "kind": holder.kind, "company": holder.company}
    form = CardholderEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            holder = services.credentials.update_cardholder(
                actor_of(request), holder.pk, **form.cleaned_data
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"{holder.name} saved.")
            return redirect("access:cardholder", pk=holder.pk)
    context = {"form": form, "holder": holder, "tab": "cardholders"}
    return render(
        request, "access/cardholder_edit.html", context, status=http_status(bool(form.errors))
    )


def _credential_zone(level_ids: Sequence[str]) -> tzinfo:
    """Dates typed for a credential are in the time of the site its levels are at."""
    ids = [int(v) for v in level_ids if v.isdigit()]
    level = AccessLevel.objects.filter(pk__in=ids).select_related("site").order_by("pk").first()
    site = level.site if level else Site.objects.order_by("pk").first()
    return site_zone(site)


def _holder_context(
    request: HttpRequest, holder: Cardholder, form: CredentialForm
) -> dict[str, Any]:
    credentials = holder.credentials.prefetch_related("levels").order_by("revoked_at", "-issued_at")
    events = (
        AccessEvent.objects.filter(Q(cardholder=holder) | Q(companion=holder))
        .select_related("site", "door", "cardholder", "companion", "credential")
        .order_by("-occurred_at", "-id")[:10]
    )
    return {
        "holder": holder,
        "credentials": credential_rows(credentials, clock.now()),
        "events": [describe(e) for e in events],
        "form": form,
        "revoke_form": RevokeForm(),
        "zone_name": str(_credential_zone([])),
        "tab": "cardholders",
        **perms(actor_of(request)),
    }


@console_page(VIEW_ACCESS, "cardholders")
@require_GET
def cardholder(request: HttpRequest, pk: int) -> HttpResponse:
    holder = get_object_or_404(Cardholder.objects.select_related("recipient", "user"), pk=pk)
    form = CredentialForm()
    return render(request, "access/cardholder.html", _holder_context(request, holder, form))


@console_page(MANAGE_ACCESS, "issuing a credential")
@require_POST
def credential_issue(request: HttpRequest, pk: int) -> HttpResponse:
    holder = get_object_or_404(Cardholder.objects.select_related("recipient", "user"), pk=pk)
    form = CredentialForm(request.POST)
    with timezone.override(_credential_zone(request.POST.getlist("levels"))):
        valid = form.is_valid()
    if valid:
        data = form.cleaned_data
        try:
            credential = services.credentials.issue_credential(
                actor_of(request),
                services.credentials.CredentialData(
                    holder_id=holder.pk,
                    kind=data["kind"],
                    pin=form.pin_value(),
                    level_ids=[level.pk for level in data["levels"]],
                    valid_from=data.get("valid_from"),
                    valid_until=data.get("valid_until"),
                    **form.card_values(),
                ),
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"{credential_number(credential)} issued to {holder.name}.")
            return redirect("access:cardholder", pk=holder.pk)
    context = _holder_context(request, holder, form)
    return render(request, "access/cardholder.html", context, status=400)
