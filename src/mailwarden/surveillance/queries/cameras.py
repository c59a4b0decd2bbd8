"""What the console and the API read about cameras: the grid's cards, what is drawn on a camera,
the doors its door lines may guard, and evidence from the media store."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from mailwarden.access.models import Door
from mailwarden.core import media
from mailwarden.core.downloads import StoredFile
from mailwarden.directory.models import Site
from mailwarden.surveillance.models import Camera, CameraState, EventState, Region, VideoEvent


@dataclass(frozen=True)
class CameraCard:
    camera: Camera
    new_events: int
    events: int
    regions: int

    @property
    def state_line(self) -> str:
        """ "online", "offline: the reason", "not reported yet"."""
        camera = self.camera
        if camera.state == CameraState.UNKNOWN:
            return "not reported yet"
        label = camera.get_state_display().lower()
        return f"{label}: {camera.state_reason}" if camera.state_reason else label


def cameras(site: Site | None = None) -> QuerySet[Camera]:
    found = Camera.objects.select_related("site", "worker")
    return found.filter(site=site) if site is not None else found


def camera_cards(site: Site | None = None, camera: Camera | None = None) -> list[CameraCard]:
    found = cameras(site)
    if camera is not None:
        found = found.filter(pk=camera.pk)
    counted = found.annotate(
        n_new=Count("events", filter=Q(events__state=EventState.NEW), distinct=True),
        n_events=Count("events", distinct=True),
        n_regions=Count("regions", distinct=True),
    )
    return [CameraCard(c, c.n_new, c.n_events, c.n_regions) for c in counted]


def regions_of(camera: Camera) -> list[Region]:
    return list(camera.regions.select_related("door").order_by("id"))


def region_dict(region: Region) -> dict[str, Any]:
    """A region in the editor's and the API's form."""
    return {
        "kind": region.kind,
        "name": region.name,
        "points": [[float(x), float(y)] for x, y in region.points],
        "inside": region.inside,
        "door": region.door.code if region.door else None,
        "rules": region.rules,
    }


def doors_for(camera: Camera) -> list[Door]:
    """The doors a line on this camera may guard: those at the camera's site."""
    return list(Door.objects.filter(site=camera.site).order_by("name", "code"))


def recent_events(camera: Camera, limit: int = 10) -> list[VideoEvent]:
    return list(camera.events.select_related("camera", "door")[:limit])


def events(*, camera: str = "", type: str = "", state: str = "") -> QuerySet[VideoEvent]:
    found = VideoEvent.objects.select_related("camera", "site", "door")
    if camera:
        found = found.filter(camera__name=camera)
    if type:
        found = found.filter(type=type)
    if state:
        found = found.filter(state=state)
    return found


def event_types() -> list[str]:
    return sorted(set(VideoEvent.objects.values_list("type", flat=True).distinct()))


# Evidence is a file of the media store, sent by core.downloads.send_file.
Evidence = StoredFile


def evidence(digest: str, content_type: str) -> Evidence | None:
    if not digest:
        return None
    path = media.path_for(digest)
    try:
        size = path.stat().st_size
    except OSError:
        # Purged by retention, or never uploaded: the page says there is none.
        return None
    return Evidence(path, content_type, size)


def snapshot_of(camera: Camera) -> Evidence | None:
    return evidence(camera.snapshot, "image/jpeg")
