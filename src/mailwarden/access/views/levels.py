"""Access levels: the list, creating one and changing one."""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from mailwarden.access import services
from mailwarden.access.forms import LevelForm
from mailwarden.access.models import AccessLevel
from mailwarden.access.services import MANAGE_ACCESS, VIEW_ACCESS
from mailwarden.access.views.common import all_sites, chosen_site, http_status, perms, with_query
from mailwarden.core.errors import ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page


@console_page(VIEW_ACCESS, "access levels")
@require_GET
def levels(request: HttpRequest) -> HttpResponse:
    sites = all_sites()
    site = chosen_site(request.GET.get("site"), sites)
    rows = (
        AccessLevel.objects.filter(site=site)
        .select_related("schedule")
        .prefetch_related("doors")
        .annotate(live=Count("credentials", filter=Q(credentials__revoked_at__isnull=True)))
        .order_by("name")
    )
    context = {
        "sites": sites,
        "site": site,
        "rows": list(rows),
        "tab": "levels",
        **perms(actor_of(request)),
    }
    return render(request, "access/levels.html", context)


_LEVEL_FIELDS = {"schedule_id": "schedule"}


@console_page(MANAGE_ACCESS, "creating an access level")
@require_http_methods(["GET", "POST"])
def level_new(request: HttpRequest) -> HttpResponse:
    site = chosen_site(request.GET.get("site") or request.POST.get("site"), all_sites())
    if site is None:
        raise Http404("no site")
    form = LevelForm(request.POST or None, site=site)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            level = services.levels.create_level(
                actor_of(request),
                site=site.code,
                name=data["name"],
                schedule_id=data["schedule"].pk,
                doors=[door.code for door in data["doors"]],
            )
        except ServiceError as exc:
            add_service_error(form, exc, _LEVEL_FIELDS)
        else:
            messages.success(request, f"Access level {level.name} created.")
            return redirect(with_query(reverse("access:levels"), site=site.code))
    context = {"form": form, "site": site, "level": None, "tab": "levels"}
    return render(request, "access/level_form.html", context, status=http_status(bool(form.errors)))


@console_page(MANAGE_ACCESS, "changing an access level")
@require_http_methods(["GET", "POST"])
def level_edit(request: HttpRequest, pk: int) -> HttpResponse:
    level = get_object_or_404(AccessLevel.objects.select_related("site", "schedule"), pk=pk)
    initial = {"schedule": level.schedule, "doors": list(level.doors.all())}
    form = LevelForm(request.POST or None, site=level.site, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.levels.set_level(
                actor_of(request),
                level.site.code,
                level.pk,
                schedule_id=form.cleaned_data["schedule"].pk,
                doors=[door.code for door in form.cleaned_data["doors"]],
            )
        except ServiceError as exc:
            add_service_error(form, exc, _LEVEL_FIELDS)
        else:
            messages.success(request, f"Access level {level.name} saved.")
            return redirect(with_query(reverse("access:levels"), site=level.site.code))
    context = {"form": form, "site": level.site, "level": level, "tab": "levels"}
    return render(request, "access/level_form.html", context, status=http_status(bool(form.errors)))
