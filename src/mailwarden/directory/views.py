"""Console pages for the directory: people, sites and their locations.

Views only read models and call ``services`` for every change; a refusal from a service is shown
next to the field it names.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.core import names, plugins
from mailwarden.core.actor import Actor
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.roles import MANAGE_DIRECTORY, MANAGE_SECURITY, VIEW_ITEMS, Role
from mailwarden.core.views import actor_of, console_page, forbidden
from mailwarden.directory import csv_import, queries, retention, services
from mailwarden.directory.csv_import import CsvImportError
from mailwarden.directory.forms import (
    LocationForm,
    RecipientDeactivateForm,
    RecipientEditForm,
    RecipientForm,
    RecipientImportForm,
    RetentionForm,
    SiteEditForm,
    SiteForm,
)
from mailwarden.directory.models import Location, Recipient, Site

PAGE_SIZE = 25
# The site page holds two forms with fields of the same names; their element ids must differ.
LOCATION_IDS, SITE_IDS, RETENTION_IDS = "location_%s", "site_%s", "retention_%s"


def _page(
    request: HttpRequest, full: str, partial: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    htmx = request.htmx  # type: ignore[attr-defined]
    # Going back in history asks for the whole page, even though HTMX sends the request.
    template = partial if htmx and not htmx.history_restore_request else full
    return render(request, template, context, status=status)


# ----------------------------------------------------------------------------- people


@console_page(VIEW_ITEMS, "the recipient directory")
@require_GET
def recipients(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:120]
    site_code = request.GET.get("site", "").strip()[:30]
    site = Site.objects.filter(code=site_code).first() if site_code else None
    # Deactivated people stay in the directory; the list shows them only when asked.
    inactive = request.GET.get("inactive") == "1"
    people = queries.people_matching(q, active_only=not inactive, site=site)
    page = Paginator(people, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "inactive": inactive,
        "site": site,
        "sites": Site.objects.order_by("name"),
        "can_import": actor_of(request).has(*MANAGE_DIRECTORY),
    }
    return _page(request, "directory/recipients.html", "directory/_recipient_rows.html", context)


@console_page(MANAGE_DIRECTORY, "importing recipients")
@require_http_methods(["GET", "POST"])
def recipients_import(request: HttpRequest) -> HttpResponse:
    form = RecipientImportForm(request.POST or None, request.FILES or None)
    context: dict[str, Any] = {
        "form": form,
        "columns": csv_import.ALL_COLUMNS,
        "required": csv_import.REQUIRED_COLUMNS,
    }
    if request.method == "POST" and form.is_valid():
        try:
            text = csv_import.decode_csv(form.cleaned_data["file"].read())
            result = services.import_recipients(actor_of(request), text)
        except CsvImportError as exc:
            context["line_errors"] = exc.errors
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(
                request, f"Imported the directory: {result.created} new, {result.updated} updated."
            )
            return redirect("directory:recipients")
    failed = bool(form.errors) or "line_errors" in context
    return render(
        request, "directory/recipients_import.html", context, status=400 if failed else 200
    )


def _may_see(actor: Actor, recipient: Recipient) -> bool:
    """Staff see everyone's page; a recipient only their own."""
    if actor.has(*VIEW_ITEMS):
        return True
    return (
        Role.RECIPIENT in actor.roles
        and actor.user_id is not None
        and actor.user_id == recipient.user_id
    )


def _recipient_or_404(request: HttpRequest, recipient_id: int) -> Recipient | HttpResponse:
    try:
        recipient = queries.recipient_by_id(recipient_id)
    except NotFound as exc:
        return render(request, "directory/site_missing.html", {"message": exc.message}, status=404)
    if not _may_see(actor_of(request), recipient):
        return forbidden(request, "a recipient's page is for mailroom staff and for that person")
    return recipient


def _data(employee_id: str, cleaned: dict[str, Any]) -> services.RecipientData:
    return services.RecipientData(
        employee_id=employee_id,
        first_name=cleaned["first_name"],
        last_name=cleaned["last_name"],
        email=cleaned["email"],
        preferred_name=cleaned["preferred_name"],
        phone=cleaned["phone"],
        department=cleaned["department"],
        mail_stop=cleaned["mail_stop"],
        manager_employee_id=cleaned["manager_employee_id"] or None,
        site=cleaned["site"] or None,
    )


@console_page(None, "a recipient's page")
@require_GET
def recipient_detail(request: HttpRequest, recipient_id: int) -> HttpResponse:
    recipient = _recipient_or_404(request, recipient_id)
    if isinstance(recipient, HttpResponse):
        return recipient
    actor = actor_of(request)
    sections = plugins.person_sections(actor, recipient.pk)
    history = [*queries.record_history(recipient), *(h for s in sections for h in s.history)]
    history.sort(key=lambda h: h.at, reverse=True)
    who = names.names(h.actor for h in history)
    context = {
        "person": recipient,
        "sections": sections,
        "history": [(h, who.get(h.actor, "")) for h in history],
        "can_manage": actor.has(*MANAGE_DIRECTORY),
    }
    return render(request, "directory/recipient.html", context)


@console_page(MANAGE_DIRECTORY, "adding a recipient")
@require_http_methods(["GET", "POST"])
def recipient_add(request: HttpRequest) -> HttpResponse:
    form = RecipientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            person = services.create_recipient(actor_of(request), _data(data["employee_id"], data))
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"{person.display_name} is in the directory.")
            return redirect("directory:recipient", recipient_id=person.pk)
    return render(
        request,
        "directory/recipient_form.html",
        {"form": form, "adding": True},
        status=400 if form.errors else 200,
    )


@console_page(MANAGE_DIRECTORY, "changing a recipient")
@require_http_methods(["GET", "POST"])
def recipient_edit(request: HttpRequest, recipient_id: int) -> HttpResponse:
    person = _recipient_or_404(request, recipient_id)
    if isinstance(person, HttpResponse):
        return person
    initial = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "preferred_name": person.preferred_name,
        "email": person.email,
        "phone": person.phone,
        "department": person.department_name,
        "mail_stop": person.mail_stop,
        "site": person.site.code if person.site else "",
        "manager_employee_id": person.manager.employee_id if person.manager else "",
    }
    form = RecipientEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_recipient(
                actor_of(request), person.employee_id, _data(person.employee_id, form.cleaned_data)
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect("directory:recipient", recipient_id=person.pk)
    return render(
        request,
        "directory/recipient_form.html",
        {"form": form, "person": person, "adding": False},
        status=400 if form.errors else 200,
    )


@console_page(MANAGE_DIRECTORY, "deactivating a recipient")
@require_http_methods(["GET", "POST"])
def recipient_deactivate(request: HttpRequest, recipient_id: int) -> HttpResponse:
    """A confirmation page first: deactivating someone takes them off intake's list."""
    person = _recipient_or_404(request, recipient_id)
    if isinstance(person, HttpResponse):
        return person
    form = RecipientDeactivateForm(request.POST or None)
    if request.method == "POST" and "confirmed" in request.POST and form.is_valid():
        try:
            services.deactivate_recipient(
                actor_of(request), person.employee_id, form.cleaned_data["reason"]
            )
        except ServiceError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, f"{person.display_name} is deactivated.")
        return redirect("directory:recipient", recipient_id=person.pk)
    context = {
        "username": person.display_name,
        "verb": "Deactivate",
        "warning": "Intake will no longer offer them as a recipient. Their items and history "
        "stay, and they can be reactivated.",
        "form": form,
        "with_reason": True,
        "cancel": reverse("directory:recipient", args=[person.pk]),
    }
    return render(request, "core/confirm.html", context, status=400 if form.errors else 200)


@console_page(MANAGE_DIRECTORY, "reactivating a recipient")
@require_POST
def recipient_reactivate(request: HttpRequest, recipient_id: int) -> HttpResponse:
    person = _recipient_or_404(request, recipient_id)
    if isinstance(person, HttpResponse):
        return person
    services.reactivate_recipient(actor_of(request), person.employee_id)
    messages.success(request, f"{person.display_name} is active again.")
    return redirect("directory:recipient", recipient_id=person.pk)


# ----------------------------------------------------------------------------- sites


@console_page(VIEW_ITEMS, "the list of sites")
@require_http_methods(["GET", "POST"])
def sites(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    can_manage = actor.has(*MANAGE_DIRECTORY)
    if request.method == "POST" and not can_manage:
        return forbidden(request, "creating a site is for security managers")
    form = SiteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            site = services.create_site(
                actor,
                code=data["code"],
                name=data["name"],
                timezone=data["timezone"],
                address=data["address"],
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Site {site.name} created. Add its locations next.")
            return redirect("directory:site", code=site.code)
    rows = Site.objects.annotate(n_locations=Count("locations")).order_by("code")
    context = {"sites": rows, "form": form, "can_manage": can_manage}
    return render(request, "directory/sites.html", context, status=400 if form.errors else 200)


def _site_context(request: HttpRequest, site: Site, **extra: Any) -> dict[str, Any]:
    return {
        "site": site,
        "locations": Location.objects.filter(site=site).order_by("kind", "code"),
        "can_manage": actor_of(request).has(*MANAGE_DIRECTORY),
        "location_form": LocationForm(auto_id=LOCATION_IDS),
        "rules": retention.rules_for(site.code),
        "can_set_rules": actor_of(request).has(*MANAGE_SECURITY),
        "retention_form": _retention_form(site),
        "edit_form": SiteEditForm(
            initial={"name": site.name, "timezone": site.timezone, "address": site.address},
            auto_id=SITE_IDS,
        ),
        **extra,
    }


def _retention_form(site: Site) -> RetentionForm:
    rules = retention.rules_for(site.code)
    return RetentionForm(
        initial={name: getattr(rules, name) for name in retention.RULE_FIELDS},
        auto_id=RETENTION_IDS,
    )


@console_page(MANAGE_SECURITY, "changing retention rules")
@require_POST
def site_retention(request: HttpRequest, code: str) -> HttpResponse:
    site = _site_or_404(request, code)
    if isinstance(site, HttpResponse):
        return site
    form = RetentionForm(request.POST, auto_id=RETENTION_IDS)
    if form.is_valid():
        try:
            retention.set_site_retention(
                actor_of(request),
                site.code,
                **{n: form.cleaned_data[n] for n in retention.RULE_FIELDS},
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Retention rules saved.")
            return redirect("directory:site", code=site.code)
    context = _site_context(request, site, retention_form=form)
    return render(request, "directory/site.html", context, status=400)


def _site_or_404(request: HttpRequest, code: str) -> Site | HttpResponse:
    try:
        return queries.site_by_code(code)
    except NotFound as exc:
        return render(request, "directory/site_missing.html", {"message": exc.message}, status=404)


@console_page(VIEW_ITEMS, "a site")
@require_GET
def site_detail(request: HttpRequest, code: str) -> HttpResponse:
    site = _site_or_404(request, code)
    if isinstance(site, HttpResponse):
        return site
    return render(request, "directory/site.html", _site_context(request, site))


@console_page(MANAGE_DIRECTORY, "changing a site")
@require_POST
def site_edit(request: HttpRequest, code: str) -> HttpResponse:
    site = _site_or_404(request, code)
    if isinstance(site, HttpResponse):
        return site
    form = SiteEditForm(request.POST, auto_id=SITE_IDS)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.update_site(
                actor_of(request),
                site.code,
                name=data["name"],
                timezone=data["timezone"],
                address=data["address"],
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, "Site saved.")
            return redirect("directory:site", code=site.code)
    context = _site_context(request, site, edit_form=form, editing=True)
    return render(request, "directory/site.html", context, status=400)


@console_page(MANAGE_DIRECTORY, "adding a location")
@require_POST
def location_add(request: HttpRequest, code: str) -> HttpResponse:
    site = _site_or_404(request, code)
    if isinstance(site, HttpResponse):
        return site
    form = LocationForm(request.POST, auto_id=LOCATION_IDS)
    if form.is_valid():
        data = form.cleaned_data
        try:
            loc = services.create_location(
                actor_of(request),
                site_code=site.code,
                code=data["code"],
                name=data["name"],
                kind=data["kind"],
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Location {loc.name} added.")
            return redirect("directory:site", code=site.code)
    context = _site_context(request, site, location_form=form)
    return render(request, "directory/site.html", context, status=400)
