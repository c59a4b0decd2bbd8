"""Read-side questions about video events: the filtered list, one event, its evidence files.

Nothing here writes. Callers check the reader's role (``services.cameras.VIEW_CAMERAS``) first.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from django.db.models import QuerySet

from mailwarden.core import media
from mailwarden.core.errors import NotFound
from mailwarden.surveillance.models import Camera, EventState, VideoEvent

# The clip types a worker may send (contracts.vision.MEDIA_TYPES); anything else is served as
# MP4, the type every worker writes.
CLIP_TYPES = ("video/mp4", "video/webm")


def video_events(
    *,
    camera: Camera | None = None,
    site_code: str | None = None,
    type: str | None = None,
    state: str | None = None,
    since: datetime | None = None,
) -> QuerySet[VideoEvent]:
    """Video events, newest first; slice it for a page. Without ``state``, door-line crossings
    that were only recorded are left out, as on the console's list."""
    found = VideoEvent.objects.select_related("camera", "site", "door", "crossing")
    if camera is not None:
        found = found.filter(camera=camera)
    if site_code is not None:
        found = found.filter(site__code=site_code)
    if type is not None:
        found = found.filter(type=type)
    found = found.filter(state=state) if state else found.exclude(state=EventState.RECORDED)
    if since is not None:
        found = found.filter(occurred_at__gte=since)
    return found.order_by("-occurred_at", "-id")


def video_event(event_id: int, field: str = "event_id") -> VideoEvent:
    event = (
        VideoEvent.objects.select_related("camera", "site", "door", "crossing")
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        raise NotFound(f"no video event {event_id}", field)
    return event


def tailgating_of(event: VideoEvent) -> int | None:
    """The tailgating event raised from this crossing, if any."""
    return VideoEvent.objects.filter(crossing=event).values_list("pk", flat=True).first()


def evidence_file(event: VideoEvent, part: str) -> Path:
    """The stored file of the event's ``part`` ("snapshot" or "clip"); NotFound says why there
    is none."""
    digest = event.snapshot if part == "snapshot" else event.clip
    if not digest:
        raise NotFound(f"video event {event.pk} has no {part}", part)
    if event.evidence_purged_at is not None:
        raise NotFound(
            f"the {part} of video event {event.pk} was removed on "
            f"{event.evidence_purged_at:%Y-%m-%d} by the retention rule "
            f"'{event.evidence_purged_by}' (its hash stays on the ledger)",
            part,
        )
    path = media.path_for(digest)
    if not path.is_file():
        raise NotFound(f"the {part} of video event {event.pk} is not in the media store", part)
    return path


def clip_type(event: VideoEvent) -> str:
    return event.clip_type if event.clip_type in CLIP_TYPES else CLIP_TYPES[0]
