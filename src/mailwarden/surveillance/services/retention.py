"""Keeping video evidence within bounds, and noticing workers that went silent.

Two periodic jobs (docs/surveillance-events.md):

- :func:`purge_evidence` removes the snapshots and clips of video events older than
  ``surveillance.evidence_days``, then the oldest while all of them together take more than
  ``surveillance.evidence_max_mb``. The event stays, with when and by which rule its evidence
  went; the ledger keeps the files' hashes. A file another live event or a camera's latest
  snapshot still uses is kept.
- :func:`check_workers` marks the cameras of a worker that has not reported for
  ``surveillance.worker_silent_s`` offline, once, and says so with ``CameraDisconnected``.

Both take ``now``, so ``purge_evidence(clock.now())`` runs the retention at once and tests move
time instead of waiting.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.db.models import Q

from mailwarden.config import get_settings
from mailwarden.contracts import events as catalogue
from mailwarden.core import ledger, media, outbox, plugins
from mailwarden.core.actor import Actor
from mailwarden.core.tasks import periodic
from mailwarden.surveillance.models import Camera, CameraState, VideoEvent

log = logging.getLogger(__name__)

RETENTION = Actor.job("surveillance.retention")
WATCH = Actor.job("surveillance.check_workers")
# One run purges at most this many events, so its ledger entry stays readable; the next run
# goes on where it stopped.
MAX_PER_RUN = 500
# The size rule stats every live file, so the tick runs it this often, not every few seconds.
RUN_EVERY = timedelta(minutes=10)
MB = 1024 * 1024


@dataclass
class Purge:
    """What one run removed."""

    # (event id, rule) in the order purged.
    events: list[tuple[int, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    bytes: int = 0


def _size(digest: str) -> int:
    try:
        return media.path_for(digest).stat().st_size
    except OSError:
        return 0


def _files(event: VideoEvent) -> list[str]:
    return [h for h in dict.fromkeys((event.snapshot, event.clip)) if h]


def purge_evidence(now: datetime) -> Purge:
    """Remove the evidence the retention rules no longer keep (see the module's docstring)."""
    settings = get_settings().surveillance
    by_age = f"age {settings.evidence_days} days"
    by_size = f"total size {settings.evidence_max_mb} MB"
    cutoff = now - timedelta(days=settings.evidence_days)
    limit = settings.evidence_max_mb * MB
    done = Purge()
    live = list(
        VideoEvent.objects.filter(evidence_purged_at__isnull=True)
        .filter(~Q(snapshot="") | ~Q(clip=""))
        .order_by("occurred_at", "id")
        .only("id", "occurred_at", "snapshot", "clip")
    )
    # How many live events use each file, and how big each file is (read outside the
    # transaction: stat-ing every file must not hold locks).
    users: Counter[str] = Counter(h for e in live for h in _files(e))
    sizes = {h: _size(h) for h in users}
    total = sum(sizes.values())
    plan: dict[int, str] = {}
    for event in live:
        if len(plan) >= MAX_PER_RUN:
            break
        if event.occurred_at < cutoff:
            rule = by_age
        elif total > limit:
            rule = by_size
        else:
            break  # oldest first: nothing younger is older than the cutoff either
        for digest in _files(event):
            users[digest] -= 1
            if users[digest] == 0:
                total -= sizes[digest]
        plan[event.pk] = rule
    if not plan:
        return done
    with transaction.atomic():
        # Another process running the same job purges each event once: the second finds them
        # purged under the lock and skips them.
        purged = list(
            VideoEvent.objects.select_for_update()
            .filter(pk__in=plan, evidence_purged_at__isnull=True)
            .order_by("occurred_at", "id")
        )
        if not purged:
            return done
        for event in purged:
            event.evidence_purged_at, event.evidence_purged_by = now, plan[event.pk]
            done.events.append((event.pk, plan[event.pk]))
        VideoEvent.objects.bulk_update(purged, ["evidence_purged_at", "evidence_purged_by"])
        candidates = {h for e in purged for h in _files(e)}
        # Looked at again under the lock: an event recorded since may use the same file, a
        # camera's latest snapshot may be the very frame an event kept, and another app's row
        # may hold the same bytes.
        done.files = plugins.release_unused_media(candidates)
        done.bytes = sum(sizes[h] for h in done.files)
        ledger.append(
            RETENTION,
            "surveillance.evidence.purged",
            "video_evidence",
            now.isoformat(),
            {
                "events": [
                    {
                        "event": e.pk,
                        "rule": e.evidence_purged_by,
                        "snapshot": e.snapshot,
                        "clip": e.clip,
                    }
                    for e in purged
                ],
                "deleted": done.files,
                "bytes": done.bytes,
            },
            at=now,
        )
    return done


_last_purge: list[datetime] = []


@periodic("surveillance.purge_evidence")
def scheduled_purge(now: datetime) -> int:
    """The retention on the background tick, every :data:`RUN_EVERY`."""
    if _last_purge and now - _last_purge[0] < RUN_EVERY:
        return 0
    _last_purge[:] = [now]
    return len(purge_evidence(now).events)


# ----------------------------------------------------------------------------- silent workers


@periodic("surveillance.check_workers")
def check_workers(now: datetime) -> int:
    """Mark offline the cameras whose worker has not reported for ``worker_silent_s``; returns
    how many. A camera already offline (or ended) is left alone, so each outage is said once;
    the worker's next report brings it back (``CameraReconnected``)."""
    silent = timedelta(seconds=get_settings().surveillance.worker_silent_s)
    candidates = (
        Camera.objects.filter(
            enabled=True,
            worker__isnull=False,
            state__in=[CameraState.ONLINE, CameraState.UNKNOWN],
        )
        .filter(
            Q(worker__last_seen_at__lt=now - silent)
            | Q(worker__last_seen_at__isnull=True, worker__created_at__lt=now - silent)
        )
        .values_list("pk", flat=True)
    )
    marked = 0
    for pk in list(candidates):
        with transaction.atomic():
            camera = (
                Camera.objects.select_for_update(of=("self",))
                .select_related("worker", "site")
                .filter(pk=pk)
                .first()
            )
            # Looked at again under the lock: the worker may have reported in the meantime.
            if (
                camera is None
                or camera.worker is None
                or camera.state
                not in (
                    CameraState.ONLINE,
                    CameraState.UNKNOWN,
                )
            ):
                continue
            seen = camera.worker.last_seen_at
            if (seen or camera.worker.created_at) >= now - silent:
                continue
            if seen is None:
                reason = f"worker {camera.worker.name} silent since it was enrolled"
            else:
                when = seen.astimezone(UTC)
                reason = f"worker {camera.worker.name} silent since {when:%Y-%m-%d %H:%M:%S} UTC"
            camera.state, camera.state_reason, camera.state_at = CameraState.OFFLINE, reason, now
            camera.save(update_fields=["state", "state_reason", "state_at"])
            ledger.append(
                WATCH,
                "surveillance.camera.disconnected",
                "camera",
                camera.name,
                {"reason": reason, "worker": camera.worker.name},
                at=now,
            )
            outbox.emit(
                catalogue.CameraDisconnected(
                    camera=camera.name, site=camera.site.code, reason=reason, occurred_at=now
                )
            )
            marked += 1
    return marked


def media_in_use(digests: Collection[str]) -> set[str]:
    """The ``media_in_use`` hook: evidence of events not purged, and cameras' latest snapshots."""
    wanted = list(digests)
    live = VideoEvent.objects.filter(evidence_purged_at__isnull=True)
    used = set(live.filter(snapshot__in=wanted).values_list("snapshot", flat=True))
    used |= set(live.filter(clip__in=wanted).values_list("clip", flat=True))
    used |= set(Camera.objects.filter(snapshot__in=wanted).values_list("snapshot", flat=True))
    return used
