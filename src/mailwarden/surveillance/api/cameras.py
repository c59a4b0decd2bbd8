"""Cameras in the API: list, add, change, what is drawn on them, and their latest snapshot.

People call these; a device's token never does (a vision worker's reach is ``api.worker``).
Every change goes through ``services.cameras``, which checks the caller's role again. A camera's
password goes in and is never given back: the answer says only whether one is stored.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status

from mailwarden.core.actor import Actor
from mailwarden.core.api import ERRORS, actor_of, allow
from mailwarden.core.errors import Forbidden, NotFound
from mailwarden.core.permissions import require
from mailwarden.directory.queries import site_by_code
from mailwarden.surveillance.models import Camera
from mailwarden.surveillance.queries import cameras as queries
from mailwarden.surveillance.schemas import (
    CameraChangeIn,
    CameraIn,
    CameraName,
    CameraOut,
    CameraQuery,
    CameraRegionOut,
    CameraRegionsIn,
    binary_response,
    camera_out,
    region_out,
)
from mailwarden.surveillance.services import cameras as services
from mailwarden.surveillance.services.cameras import (
    MANAGE_CAMERAS,
    VIEW_CAMERAS,
)

router = Router()


def _person(request: HttpRequest, roles: tuple[Any, ...], what: str) -> Actor:
    actor = actor_of(request)
    if actor.kind == "device":
        raise Forbidden(f"{what} is not for a device token", "Authorization")
    require(actor, roles, what)
    return actor


def _camera(name: str) -> Camera:
    return services.camera_named(name)


# ----------------------------------------------------------------------------- operations


@router.get(
    "/surveillance/cameras",
    response={200: list[CameraOut], **ERRORS},
    summary="The cameras, with their state as their workers last reported it",
)
@allow(VIEW_CAMERAS, "listing cameras")
def list_cameras(request: HttpRequest, query: Query[CameraQuery]) -> list[CameraOut]:
    _person(request, VIEW_CAMERAS, "listing cameras")
    site = site_by_code(query.site) if query.site is not None else None
    return [camera_out(c) for c in queries.cameras(site)]


@router.post(
    "/surveillance/cameras",
    response={201: CameraOut, **ERRORS},
    summary="Add a camera",
)
@allow(MANAGE_CAMERAS, "adding a camera")
def create_camera(request: HttpRequest, payload: CameraIn) -> Status[CameraOut]:
    camera = services.create_camera(
        _person(request, MANAGE_CAMERAS, "adding a camera"),
        services.CameraSpec(
            site=payload.site,
            name=payload.name,
            url=payload.url,
            label=payload.label,
            username=payload.username,
            password=payload.password,
            worker=payload.worker,
            enabled=payload.enabled,
            analysis_fps=payload.analysis_fps,
            motion_gating=payload.motion_gating,
            pre_roll_s=payload.pre_roll_s,
            post_roll_s=payload.post_roll_s,
        ),
    )
    return Status(201, camera_out(_camera(camera.name)))


@router.patch(
    "/surveillance/cameras/{camera}",
    response={200: CameraOut, **ERRORS},
    summary="Change a camera's settings (not its name or site)",
)
@allow(MANAGE_CAMERAS, "changing a camera")
def change_camera(
    request: HttpRequest, payload: CameraChangeIn, camera: Path[CameraName]
) -> CameraOut:
    actor = _person(request, MANAGE_CAMERAS, "changing a camera")
    current = _camera(camera)

    def given(name: str, now: Any) -> Any:
        value = getattr(payload, name)
        return now if value is None else value

    spec = services.CameraSpec(
        site=current.site.code,
        name=current.name,
        url=given("url", current.url),
        label=given("label", current.label),
        username=given("username", current.username),
        password=payload.password,
        worker=(current.worker.name if current.worker else None)
        if payload.worker is None
        else (payload.worker or None),
        enabled=given("enabled", current.enabled),
        analysis_fps=given("analysis_fps", current.analysis_fps),
        motion_gating=given("motion_gating", current.motion_gating),
        pre_roll_s=given("pre_roll_s", current.pre_roll_s),
        post_roll_s=given("post_roll_s", current.post_roll_s),
    )
    services.update_camera(actor, current.name, spec)
    return camera_out(_camera(current.name))


@router.get(
    "/surveillance/cameras/{camera}/regions",
    response={200: list[CameraRegionOut], **ERRORS},
    summary="The zones, door lines and motion masks drawn on a camera",
)
@allow(VIEW_CAMERAS, "viewing a camera's zones")
def get_regions(request: HttpRequest, camera: Path[CameraName]) -> list[CameraRegionOut]:
    _person(request, VIEW_CAMERAS, "viewing a camera's zones")
    return [region_out(r) for r in queries.regions_of(_camera(camera))]


@router.put(
    "/surveillance/cameras/{camera}/regions",
    response={200: list[CameraRegionOut], **ERRORS},
    summary="Replace everything drawn on a camera (errors name the place: regions.2.points)",
)
@allow(MANAGE_CAMERAS, "drawing zones on a camera")
def put_regions(
    request: HttpRequest, payload: CameraRegionsIn, camera: Path[CameraName]
) -> list[CameraRegionOut]:
    actor = _person(request, MANAGE_CAMERAS, "drawing zones on a camera")
    specs = [
        services.RegionSpec(
            kind=r.kind,
            name=r.name,
            points=list(r.points),
            inside=r.inside,
            door=r.door,
            rules=r.rules,
        )
        for r in payload.regions
    ]
    services.set_regions(actor, camera, specs)
    return [region_out(r) for r in queries.regions_of(_camera(camera))]


@router.get(
    "/surveillance/cameras/{camera}/snapshot",
    response=ERRORS,
    summary="A camera's latest snapshot (JPEG)",
    openapi_extra=binary_response("image/jpeg", "The latest picture the camera's worker sent"),
)
@allow(VIEW_CAMERAS, "viewing a camera's snapshot")
def get_snapshot(request: HttpRequest, camera: Path[CameraName]) -> HttpResponse:
    _person(request, VIEW_CAMERAS, "viewing a camera's snapshot")
    found = _camera(camera)
    evidence = queries.snapshot_of(found)
    if evidence is None:
        raise NotFound(f"camera {found.name} has sent no snapshot yet", "camera")
    return HttpResponse(
        evidence.path.read_bytes(),
        content_type="image/jpeg",
        headers={"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"},
    )
