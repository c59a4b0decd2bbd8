"""Credentials: the list, one credential's page, its access levels, and revoking it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.access import services
from mailwarden.access.forms import CredentialLevelsForm, CredentialSearchForm, RevokeForm
from mailwarden.access.models import Credential
from mailwarden.access.services import MANAGE_ACCESS, REVOKE_CREDENTIALS, VIEW_ACCESS
from mailwarden.access.views.common import http_status, perms
from mailwarden.access.views.wording import credential_number, credential_rows
from mailwarden.core import clock
from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page


@console_page(VIEW_ACCESS, "credentials")
@require_GET
def credentials(request: HttpRequest) -> HttpResponse:
    form = CredentialSearchForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    status = data.get("status") or "live"
    found: QuerySet[Credential] = Credential.objects.select_related("holder").prefetch_related(
        "levels"
    )
    if status == "live":
        found = found.filter(revoked_at__isnull=True)
    elif status == "revoked":
        found = found.filter(revoked_at__isnull=False)
    q = (data.get("q") or "").strip()
    if q:
        number = q.split("/")[-1]
        match = Q(holder__name__icontains=q)
        if number.isdigit():
            match |= Q(card=int(number))
        found = found.filter(match)
    rows = credential_rows(found.order_by("holder__name", "-issued_at")[:500], clock.now())
    context = {
        "form": form,
        "rows": rows,
        "status": status,
        "revoke_form": RevokeForm(),
        "tab": "credentials",
        **perms(actor_of(request)),
    }
    return render(request, "access/credentials.html", context)


def _credential(pk: int) -> Credential:
    return get_object_or_404(
        Credential.objects.select_related("holder").prefetch_related("levels"), pk=pk
    )


def _credential_context(
    request: HttpRequest,
    credential: Credential,
    levels_form: CredentialLevelsForm | None = None,
    revoke_form: RevokeForm | None = None,
) -> dict[str, Any]:
    return {
        "credential": credential,
        "row": credential_rows([credential], clock.now())[0],
        "levels_form": levels_form
        or CredentialLevelsForm(initial={"levels": list(credential.levels.all())}),
        "revoke_form": revoke_form or RevokeForm(),
        "tab": "credentials",
        **perms(actor_of(request)),
    }


@console_page(VIEW_ACCESS, "credentials")
@require_GET
def credential(request: HttpRequest, pk: int) -> HttpResponse:
    found = _credential(pk)
    return render(request, "access/credential.html", _credential_context(request, found))


@console_page(MANAGE_ACCESS, "changing a credential's access levels")
@require_POST
def credential_levels(request: HttpRequest, pk: int) -> HttpResponse:
    found = _credential(pk)
    form = CredentialLevelsForm(request.POST)
    if form.is_valid():
        try:
            services.credentials.set_credential_levels(
                actor_of(request), found.pk, [level.pk for level in form.cleaned_data["levels"]]
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"credential": "levels", "level_ids": "levels"})
        else:
            messages.success(request, f"Access levels of {credential_number(found)} saved.")
            return redirect("access:credential", pk=found.pk)
    context = _credential_context(request, found, levels_form=form)
    return render(request, "access/credential.html", context, status=400)


@console_page(REVOKE_CREDENTIALS, "revoking a credential")
@require_http_methods(["GET", "POST"])
def credential_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    found = _credential(pk)
    form = RevokeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.credentials.revoke_credential(
                actor_of(request), found.pk, reason=form.cleaned_data["reason"]
            )
        except ServiceError as exc:
            add_service_error(form, exc, {"credential": "reason"})
        else:
            messages.success(
                request,
                f"{credential_number(found)} of {found.holder.name} is revoked; doors refuse it "
                "from the controllers' next rules update.",
            )
            return redirect("access:cardholder", pk=found.holder_id)
    context = {
        "credential": found,
        "number": credential_number(found),
        "form": form,
        "tab": "credentials",
    }
    status = http_status(request.method == "POST")
    return render(request, "access/credential_revoke.html", context, status=status)
