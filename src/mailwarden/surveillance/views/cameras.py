"""The camera pages: the grid with live snapshots, a camera's page, adding and changing a camera,
and the editor of its zones, door lines and motion masks."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailwarden.core.downloads import send_file
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.forms import add_service_error
from mailwarden.core.views import actor_of, console_page
from mailwarden.surveillance.forms import CameraForm
from mailwarden.surveillance.models import Camera
from mailwarden.surveillance.queries import cameras as queries
from mailwarden.surveillance.services import cameras as services
from mailwarden.surveillance.services.cameras import MANAGE_CAMERAS, VIEW_CAMERAS
from mailwarden.surveillance.views.common import (
    all_sites,
    chosen_site,
    http_status,
    perms,
)

# How often the grid asks for fresh snapshots and states.
GRID_REFRESH_S = 5


def _camera_or_404(name: str) -> Camera:
    try:
        return services.camera_named(name)
    except NotFound:
        raise Http404("no such camera") from None


def _grid_context(request: HttpRequest) -> dict[str, Any]:
    sites = all_sites()
    site = chosen_site(request.GET.get("site"), sites)
    return {
        "sites": sites,
        "site": site,
        "cards": queries.camera_cards(site),
        "refresh_s": GRID_REFRESH_S,
        **perms(actor_of(request)),
    }


@console_page(VIEW_CAMERAS, "viewing cameras")
@require_GET
def cameras(request: HttpRequest) -> HttpResponse:
    context = _grid_context(request)
    if getattr(request, "htmx", False):
        return render(request, "surveillance/_camera_grid.html", context)
    return render(request, "surveillance/cameras.html", context)


@console_page(VIEW_CAMERAS, "viewing a camera's snapshot")
@require_GET
def camera_snapshot(request: HttpRequest, name: str) -> HttpResponse:
    camera = _camera_or_404(name)
    found = queries.snapshot_of(camera)
    if found is None:
        raise Http404("this camera has sent no snapshot yet")
    return send_file(request, found, f"{camera.name}.jpg")


@console_page(VIEW_CAMERAS, "viewing a camera")
@require_GET
def camera_detail(request: HttpRequest, name: str) -> HttpResponse:
    camera = _camera_or_404(name)
    [card] = queries.camera_cards(camera=camera)
    context = {
        "camera": camera,
        "card": card,
        "regions": queries.regions_of(camera),
        "events": queries.recent_events(camera),
        **perms(actor_of(request)),
    }
    return render(request, "surveillance/camera.html", context)


def _spec(form: CameraForm, site: str, name: str) -> services.CameraSpec:
    data = form.cleaned_data
    return services.CameraSpec(
        site=site,
        name=name,
        url=data["url"],
        label=data["label"],
        username=data["username"],
        password=form.password_value(),
        worker=data["worker"] or None,
        enabled=data["enabled"],
        analysis_fps=data["analysis_fps"],
        motion_gating=data["motion_gating"],
        pre_roll_s=data["pre_roll_s"],
        post_roll_s=data["post_roll_s"],
    )


@console_page(MANAGE_CAMERAS, "adding a camera")
@require_http_methods(["GET", "POST"])
def camera_new(request: HttpRequest) -> HttpResponse:
    initial = {"site": request.GET.get("site", "")} if request.method == "GET" else None
    form = CameraForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            camera = services.create_camera(
                actor_of(request), _spec(form, data["site"], data["name"])
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Camera {camera} added. Draw its zones next.")
            return redirect("surveillance:camera", name=camera.name)
    return render(
        request,
        "surveillance/camera_form.html",
        {"form": form, "camera": None},
        status=http_status(bool(form.errors)),
    )


@console_page(MANAGE_CAMERAS, "changing a camera")
@require_http_methods(["GET", "POST"])
def camera_edit(request: HttpRequest, name: str) -> HttpResponse:
    camera = _camera_or_404(name)
    form = CameraForm(request.POST or None, camera=camera)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_camera(
                actor_of(request), camera.name, _spec(form, camera.site.code, camera.name)
            )
        except ServiceError as exc:
            add_service_error(form, exc)
        else:
            messages.success(request, f"Camera {camera} saved.")
            return redirect("surveillance:camera", name=camera.name)
    return render(
        request,
        "surveillance/camera_form.html",
        {"form": form, "camera": camera},
        status=http_status(bool(form.errors)),
    )


# ----------------------------------------------------------------------------- the editor


@console_page(VIEW_CAMERAS, "viewing a camera's zones")
@require_GET
def regions(request: HttpRequest, name: str) -> HttpResponse:
    camera = _camera_or_404(name)
    width, height = camera.width or 16, camera.height or 9
    drawing = {
        "regions": [queries.region_dict(r) for r in queries.regions_of(camera)],
        "doors": [{"code": d.code, "name": str(d)} for d in queries.doors_for(camera)],
        "aspect": [width, height],
        "save_url": reverse("surveillance:regions_save", args=[camera.name]),
    }
    context = {
        "camera": camera,
        "drawing": drawing,
        "has_snapshot": queries.snapshot_of(camera) is not None,
        **perms(actor_of(request)),
    }
    return render(request, "surveillance/regions.html", context)


class DrawingError(ServiceError):
    pass


def _region_specs(body: bytes) -> list[services.RegionSpec]:
    """The editor's JSON as the service's specs; a shape error names its place, as the
    service's own errors do (``regions.2.points``)."""
    try:
        data = json.loads(body or b"null")
    except (ValueError, UnicodeDecodeError):
        raise DrawingError("the drawing is not JSON", "regions") from None
    regions = data.get("regions") if isinstance(data, dict) else None
    if not isinstance(regions, list):
        raise DrawingError('send {"regions": [...]}', "regions")
    specs: list[services.RegionSpec] = []
    for i, item in enumerate(regions):
        where = f"regions.{i}"
        if not isinstance(item, dict):
            raise DrawingError("a region is an object", where)
        points = item.get("points", [])
        if not isinstance(points, list) or not all(
            isinstance(p, list) and len(p) == 2 for p in points
        ):
            raise DrawingError("points are [[x, y], ...]", f"{where}.points")
        rules = item.get("rules", [])
        if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
            raise DrawingError("rules are a list of objects", f"{where}.rules")
        texts = {}
        for key, default in (("kind", ""), ("name", ""), ("inside", "left")):
            value = item.get(key, default)
            if not isinstance(value, str):
                raise DrawingError("must be text", f"{where}.{key}")
            texts[key] = value
        door = item.get("door")
        if door is not None and not isinstance(door, str):
            raise DrawingError("must be a door's code", f"{where}.door")
        specs.append(
            services.RegionSpec(
                kind=texts["kind"],
                name=texts["name"],
                points=[(p[0], p[1]) for p in points],
                inside=texts["inside"],
                door=door or None,
                rules=rules,
            )
        )
    return specs


@console_page(MANAGE_CAMERAS, "drawing zones on a camera")
@require_POST
def regions_save(request: HttpRequest, name: str) -> HttpResponse:
    """The editor saves the whole drawing at once; the answer is JSON for its script."""
    camera = _camera_or_404(name)
    try:
        saved = services.set_regions(actor_of(request), camera.name, _region_specs(request.body))
    except ServiceError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({"regions": [queries.region_dict(r) for r in saved]})
