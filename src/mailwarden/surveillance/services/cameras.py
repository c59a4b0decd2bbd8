"""Vision workers, cameras and what is drawn on them: zones, door lines and motion masks.

Every change here moves the worker's configuration (``queries.config``), which the worker picks up
at its next poll without a restart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from pydantic import ValidationError

from mailwarden.access import queries as access_queries
from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.core.services import IssuedToken, issue_token, revoke_device_tokens
from mailwarden.core.validation import check_slug, check_text
from mailwarden.directory.queries import site_by_code
from mailwarden.surveillance import secrets
from mailwarden.surveillance.models import Camera, Region, RegionKind, VisionWorker
from mailwarden.vision import config as vision_config

VIEW_CAMERAS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR, Role.AUDITOR)
MANAGE_CAMERAS = (Role.SECURITY_MANAGER,)
# Enrolling a worker issues a device token, which only an administrator may do.
ENROL_WORKERS: tuple[Role, ...] = ()

URL_SCHEMES = ("rtsp://", "rtsps://", "http://", "https://", "file://")
MAX_REGIONS = 50
# Words in the console's camera addresses (cameras/new/).
RESERVED_NAMES = frozenset({"new"})
MAX_POINTS = 64


def authorise(actor: Actor, what: str, roles: Sequence[Role] = MANAGE_CAMERAS) -> None:
    # A worker's token carries an operator's role so it can report; that must not let a stolen
    # worker token rewire the cameras.
    if actor.kind == "device":
        raise Forbidden(f"{what} is not for a device token", "Authorization")
    require(actor, roles, what)


def camera_named(name: str, field_name: str = "camera") -> Camera:
    found = Camera.objects.select_related("site", "worker").filter(name=name).first()
    if found is None:
        raise NotFound(f"no camera named {name!r}", field_name)
    return found


def worker_named(name: str, field_name: str = "worker") -> VisionWorker:
    found = VisionWorker.objects.select_related("site").filter(name=name).first()
    if found is None:
        raise NotFound(f"no vision worker named {name!r}", field_name)
    return found


# ----------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class WorkerEnrolment:
    worker: VisionWorker
    # The device token's secret, shown this once.
    token: str


def enrol_worker(actor: Actor, *, name: str, site: str) -> WorkerEnrolment:
    """Enrol a ``mailwarden vision`` process: its device token, shown this once."""
    authorise(actor, "enrolling a vision worker", ENROL_WORKERS)
    name = check_slug(name, "name")
    at = site_by_code(site)
    with transaction.atomic():
        if VisionWorker.objects.filter(name=name).exists():
            raise Conflict(f"a vision worker named {name!r} exists already", "name")
        issued: IssuedToken = issue_token(
            actor, name=f"vision worker {name}", role=Role.SECURITY_OPERATOR.value, device=name
        )
        worker = VisionWorker.objects.create(
            name=name, site=at, token_prefix=issued.token.prefix, created_at=clock.now()
        )
        ledger.append(
            actor,
            "surveillance.worker.enrolled",
            "vision_worker",
            name,
            {"site": at.code, "token": issued.token.prefix},
        )
    return WorkerEnrolment(worker, issued.secret)


def rekey_worker(actor: Actor, name: str, *, reason: str) -> WorkerEnrolment:
    """Revoke every token of vision worker ``name`` and issue a new one, as after its machine
    was lost or exposed: the old token stops working at once."""
    authorise(actor, "re-keying a vision worker", ENROL_WORKERS)
    reason = check_text(reason, "reason", max_length=200, required=True)
    with transaction.atomic():
        worker = VisionWorker.objects.select_for_update().filter(name=name).first()
        if worker is None:
            raise NotFound(f"no vision worker named {name!r}", "worker")
        old = revoke_device_tokens(actor, worker.name)
        issued = issue_token(
            actor,
            name=f"vision worker {worker.name}",
            role=Role.SECURITY_OPERATOR.value,
            device=worker.name,
        )
        worker.token_prefix = issued.token.prefix
        worker.save(update_fields=["token_prefix"])
        ledger.append(
            actor,
            "surveillance.worker.rekeyed",
            "vision_worker",
            worker.name,
            {"revoked": old, "token": issued.token.prefix, "reason": reason},
        )
    return WorkerEnrolment(worker, issued.secret)


# ----------------------------------------------------------------------------- cameras


@dataclass
class CameraSpec:
    """A camera's settings as a person enters them. ``password`` None keeps the stored one."""

    site: str
    name: str
    url: str
    label: str = ""
    username: str = ""
    password: str | None = None
    worker: str | None = None
    enabled: bool = True
    analysis_fps: float = 5.0
    motion_gating: bool = True
    pre_roll_s: float = 3.0
    post_roll_s: float = 3.0


def check_url(url: str) -> str:
    url = check_text(url, "url", max_length=500, required=True)
    if url.startswith("/"):
        return url
    if not url.lower().startswith(URL_SCHEMES):
        raise ServiceError(
            "must be an rtsp://, rtsps://, http(s):// or file:// address, or a file's full path",
            "url",
        )
    authority = url.split("://", 1)[1].split("/", 1)[0]
    if "@" in authority:
        raise ServiceError(
            "put the user name and password in their own fields, not in the address "
            "(they are kept encrypted there)",
            "url",
        )
    return url


def _number(value: float, field_name: str, low: float, high: float) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not low <= value <= high
    ):
        raise ServiceError(f"must be a number from {low:g} to {high:g}", field_name)
    return float(value)


def _apply(camera: Camera, spec: CameraSpec) -> list[str]:
    """Check ``spec`` and copy it onto ``camera``; the names of the fields that changed."""
    values: dict[str, Any] = {
        "label": check_text(spec.label, "label", max_length=120),
        "url": check_url(spec.url),
        "username": check_text(spec.username, "username", max_length=100),
        "enabled": bool(spec.enabled),
        "analysis_fps": _number(spec.analysis_fps, "analysis_fps", 0.2, 30),
        "motion_gating": bool(spec.motion_gating),
        "pre_roll_s": _number(spec.pre_roll_s, "pre_roll_s", 0, 30),
        "post_roll_s": _number(spec.post_roll_s, "post_roll_s", 0, 30),
    }
    worker = worker_named(spec.worker, "worker") if spec.worker else None
    if worker is not None and worker.site_id != camera.site_id:
        raise ServiceError(f"the worker {worker.name} serves another site", "worker")
    values["worker"] = worker
    if spec.password is not None:
        password = check_text(spec.password, "password", max_length=200)
        values["password_secret"] = secrets.encrypt(password)
    changed = [k for k, v in values.items() if getattr(camera, k) != v]
    for key, value in values.items():
        setattr(camera, key, value)
    return changed


def create_camera(actor: Actor, spec: CameraSpec) -> Camera:
    authorise(actor, "adding a camera")
    name = check_slug(spec.name, "name")
    if name in RESERVED_NAMES:
        raise ServiceError(f"{name!r} is a word the console uses: choose another name", "name")
    at = site_by_code(spec.site)
    with transaction.atomic():
        if Camera.objects.filter(name=name).exists():
            raise Conflict(f"a camera named {name!r} exists already", "name")
        camera = Camera(site=at, name=name, created_at=clock.now())
        _apply(camera, spec)
        camera.save()
        ledger.append(
            actor,
            "surveillance.camera.added",
            "camera",
            name,
            {"site": at.code, "url": camera.url, "worker": spec.worker},
        )
    return camera


def update_camera(actor: Actor, name: str, spec: CameraSpec) -> Camera:
    """Change camera ``name``'s settings (not its name or site)."""
    authorise(actor, "changing a camera")
    with transaction.atomic():
        camera = Camera.objects.select_for_update().filter(name=name).first()
        if camera is None:
            raise NotFound(f"no camera named {name!r}", "camera")
        changed = _apply(camera, spec)
        if changed:
            camera.save()
            ledger.append(
                actor,
                "surveillance.camera.changed",
                "camera",
                name,
                # The password's value never reaches the ledger, only that it changed.
                {"changed": changed, "url": camera.url},
            )
    return camera


# ----------------------------------------------------------------------------- regions


@dataclass
class RegionSpec:
    kind: str
    name: str
    # Fractions of the frame; for a zone, an empty list is the whole frame.
    points: list[tuple[float, float]] = field(default_factory=list)
    inside: str = "left"
    door: str | None = None
    rules: list[dict[str, Any]] = field(default_factory=list)


def _points(points: Sequence[Sequence[float]], where: str) -> list[list[float]]:
    if len(points) > MAX_POINTS:
        raise ServiceError(f"at most {MAX_POINTS} points", f"{where}.points")
    checked: list[list[float]] = []
    for i, point in enumerate(points):
        if len(point) != 2:
            raise ServiceError("a point is [x, y]", f"{where}.points.{i}")
        x, y = (_number(v, f"{where}.points.{i}", 0, 1) for v in point)
        checked.append([round(x, 5), round(y, 5)])
    return checked


def _rules(spec: RegionSpec, where: str) -> list[dict[str, Any]]:
    """The region's rules, checked by the vision library's own models so the worker never gets
    a rule it would refuse; an error names the rule and its field."""
    if spec.kind == RegionKind.MASK:
        if spec.rules:
            raise ServiceError("a motion mask has no rules", f"{where}.rules")
        return []
    try:
        if spec.kind == RegionKind.ZONE:
            zone = vision_config.Zone.model_validate({"name": spec.name, "rules": spec.rules})
            return [r.model_dump(mode="json") for r in zone.rules]
        line = vision_config.Line.model_validate(
            {"name": spec.name, "points": [[0, 0], [1, 1]], "rules": spec.rules}
        )
        return [r.model_dump(mode="json") for r in line.rules]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        # pydantic names the rule's type inside the path (rules.0.loitering.seconds); the
        # person's form has no such level.
        if len(loc) > 2 and loc[0] == "rules" and isinstance(loc[1], int):
            rule = spec.rules[loc[1]] if loc[1] < len(spec.rules) else None
            if isinstance(rule, dict) and loc[2] == rule.get("type"):
                del loc[2]
        raise ServiceError(err["msg"], f"{where}.{'.'.join(map(str, loc))}") from None


def _region(camera: Camera, spec: RegionSpec, where: str) -> Region:
    if spec.kind not in RegionKind.values:
        raise ServiceError(f"must be one of {', '.join(RegionKind.values)}", f"{where}.kind")
    # A mask needs no name of its own: it is numbered.
    required = spec.kind != RegionKind.MASK
    name = check_text(spec.name, f"{where}.name", max_length=100, required=required)
    points = _points(spec.points, where)
    if spec.kind == RegionKind.LINE and len(points) != 2:
        raise ServiceError("a door line has exactly two points", f"{where}.points")
    if spec.kind == RegionKind.MASK and len(points) < 3:
        raise ServiceError("a motion mask needs at least three points", f"{where}.points")
    if spec.kind == RegionKind.ZONE and points and len(points) < 3:
        raise ServiceError(
            "a zone needs at least three points, or none for the whole frame", f"{where}.points"
        )
    if spec.inside not in ("left", "right"):
        raise ServiceError("must be left or right", f"{where}.inside")
    door = None
    if spec.door:
        if spec.kind != RegionKind.LINE:
            raise ServiceError("only a door line guards a door", f"{where}.door")
        door = access_queries.door_at(camera.site, spec.door, f"{where}.door")
    rules = _rules(spec, where)
    if any(r["type"] == "tailgating" for r in rules) and door is None:
        raise ServiceError(
            "tailgating compares crossings with a door's badge grants: choose the door",
            f"{where}.door",
        )
    return Region(
        camera=camera,
        kind=spec.kind,
        name=name,
        points=points,
        inside=spec.inside,
        door=door,
        rules=rules,
    )


def set_regions(actor: Actor, camera_name: str, specs: Sequence[RegionSpec]) -> list[Region]:
    """Replace everything drawn on camera ``camera_name`` with ``specs`` (the editor saves the
    whole drawing at once). Errors name the region by its place: ``regions.2.points``."""
    authorise(actor, "drawing zones on a camera")
    if len(specs) > MAX_REGIONS:
        raise ServiceError(f"at most {MAX_REGIONS} zones, lines and masks", "regions")
    with transaction.atomic():
        camera = Camera.objects.select_for_update().filter(name=camera_name).first()
        if camera is None:
            raise NotFound(f"no camera named {camera_name!r}", "camera")
        regions = [_region(camera, spec, f"regions.{i}") for i, spec in enumerate(specs)]
        seen: set[str] = set()
        for i, region in enumerate(regions):
            if region.kind != RegionKind.MASK and region.name in seen:
                raise ServiceError(
                    f"two zones or lines are named {region.name!r}", f"regions.{i}.name"
                )
            seen.add(region.name)
        masks = 0
        for region in regions:
            if region.kind == RegionKind.MASK:
                masks += 1
                region.name = f"mask {masks}"
        camera.regions.all().delete()
        Region.objects.bulk_create(regions)
        ledger.append(
            actor,
            "surveillance.regions.changed",
            "camera",
            camera.name,
            {
                "regions": [
                    {
                        "kind": r.kind,
                        "name": r.name,
                        "points": r.points,
                        "door": r.door.code if r.door else None,
                        "rules": r.rules,
                    }
                    for r in regions
                ]
            },
        )
    return regions
