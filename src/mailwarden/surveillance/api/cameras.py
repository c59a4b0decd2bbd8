"""Cameras in the API: list, add, change, what is drawn on them, and their latest snapshot.

People call these; a device's token never does (a vision worker's reach is ``api.worker``).
Every change goes through ``services.cameras``, which checks the caller's role again. A camera's
password goes in and is never given back: the answer says only whether one is stored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Path, Query, Router, Schema, Status

from mailwarden.core.actor import Actor
from mailwarden.core.api import ERRORS, Input, actor_of, allow
from mailwarden.core.errors import Forbidden, NotFound
from mailwarden.core.permissions import require
from mailwarden.directory.models import Site
from mailwarden.directory.schemas import SiteCode
from mailwarden.surveillance.models import Camera, Region
from mailwarden.surveillance.queries import cameras as queries
from mailwarden.surveillance.services import cameras as services
from mailwarden.surveillance.services.cameras import (
    MANAGE_CAMERAS,
    MAX_POINTS,
    MAX_REGIONS,
    VIEW_CAMERAS,
)

router = Router()

SLUG = r"^[-a-zA-Z0-9_]+$"
CameraName = Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Fps = Annotated[float, Field(ge=0.2, le=30)]
RollSeconds = Annotated[float, Field(ge=0, le=30)]
# A rule in the rules file's form (docs/vision.md), such as {"type": "loitering", "seconds": 30};
# the vision library's own models check it, and an error names the rule and its field.
Rule = dict[str, Any]
MAX_RULES = 10


def _person(request: HttpRequest, roles: tuple[Any, ...], what: str) -> Actor:
    actor = actor_of(request)
    if actor.kind == "device":
        raise Forbidden(f"{what} is not for a device token", "Authorization")
    require(actor, roles, what)
    return actor


def _binary(media_type: str, description: str) -> dict[str, object]:
    return {
        "responses": {
            200: {
                "description": description,
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    }


# ----------------------------------------------------------------------------- shapes


class CameraOut(Schema):
    name: str
    label: str
    site: str
    url: str
    username: str
    has_password: bool = Field(description="Whether a password is stored; it is never shown.")
    worker: str | None
    enabled: bool
    analysis_fps: float
    motion_gating: bool
    pre_roll_s: float
    post_roll_s: float
    state: str = Field(description="unknown (not reported yet), online, offline or ended")
    state_reason: str
    state_at: datetime | None
    last_frame_at: datetime | None
    frames: int
    corrupt_frames: int
    width: int | None
    height: int | None
    has_snapshot: bool
    snapshot_at: datetime | None


def camera_out(camera: Camera) -> CameraOut:
    return CameraOut(
        name=camera.name,
        label=camera.label,
        site=camera.site.code,
        url=camera.url,
        username=camera.username,
        has_password=bool(camera.password_secret),
        worker=camera.worker.name if camera.worker else None,
        enabled=camera.enabled,
        analysis_fps=camera.analysis_fps,
        motion_gating=camera.motion_gating,
        pre_roll_s=camera.pre_roll_s,
        post_roll_s=camera.post_roll_s,
        state=camera.state,
        state_reason=camera.state_reason,
        state_at=camera.state_at,
        last_frame_at=camera.last_frame_at,
        frames=camera.frames,
        corrupt_frames=camera.corrupt_frames,
        width=camera.width,
        height=camera.height,
        has_snapshot=bool(camera.snapshot),
        snapshot_at=camera.snapshot_at,
    )


class CameraQuery(Input):
    site: SiteCode | None = None


class CameraIn(Input):
    site: SiteCode
    name: CameraName
    url: str = Field(
        min_length=1,
        max_length=500,
        description="rtsp://, rtsps://, http(s):// or file:// address, or a file's full path; "
        "no user name or password in it.",
    )
    label: str = Field("", max_length=120)
    username: str = Field("", max_length=100)
    password: str | None = Field(None, max_length=200, description="Stored encrypted.")
    worker: CameraName | None = Field(None, description="The vision worker that watches it.")
    enabled: bool = True
    analysis_fps: Fps = 5.0
    motion_gating: bool = True
    pre_roll_s: RollSeconds = 3.0
    post_roll_s: RollSeconds = 3.0


class CameraChangeIn(Input):
    """Only the fields sent change. ``password``: "" removes the stored one; ``worker``: ""
    leaves the camera without a worker."""

    url: str | None = Field(None, min_length=1, max_length=500)
    label: str | None = Field(None, max_length=120)
    username: str | None = Field(None, max_length=100)
    password: str | None = Field(None, max_length=200)
    worker: Annotated[str, Field(max_length=100, pattern=r"^[-a-zA-Z0-9_]*$")] | None = None
    enabled: bool | None = None
    analysis_fps: Fps | None = None
    motion_gating: bool | None = None
    pre_roll_s: RollSeconds | None = None
    post_roll_s: RollSeconds | None = None


class CameraRegionIn(Input):
    kind: Literal["zone", "line", "mask"]
    name: str = Field("mask", min_length=1, max_length=100, description="Masks are numbered.")
    points: list[tuple[Fraction, Fraction]] = Field(
        default_factory=list,
        max_length=MAX_POINTS,
        description="Fractions of the frame's width and height; a zone with none is the whole "
        "frame, a line has two, a mask at least three.",
    )
    inside: Literal["left", "right"] = Field(
        "left", description="A line's inside, looking from its first point to its second."
    )
    door: Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG)] | None = Field(
        None, description="The door a line guards: a door code at the camera's site."
    )
    rules: list[Rule] = Field(default_factory=list, max_length=MAX_RULES)


class CameraRegionsIn(Input):
    regions: list[CameraRegionIn] = Field(max_length=MAX_REGIONS)


class CameraRegionOut(Schema):
    kind: str
    name: str
    points: list[tuple[float, float]]
    inside: str
    door: str | None
    rules: list[Rule]


def region_out(region: Region) -> CameraRegionOut:
    return CameraRegionOut(**queries.region_dict(region))


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
    site = None
    if query.site is not None:
        site = Site.objects.filter(code=query.site).first()
        if site is None:
            raise NotFound(f"no site {query.site!r}", "site")
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
    openapi_extra=_binary("image/jpeg", "The latest picture the camera's worker sent"),
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
