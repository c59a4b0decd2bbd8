"""Video events once recorded: raising them, the tailgating join of door-line crossings with the
door's badge grants, and their handling by an operator (docs/surveillance-events.md)."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q

from mailwarden.access import queries as access_queries
from mailwarden.access.models import Door
from mailwarden.contracts import events as catalogue
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.roles import Role
from mailwarden.core.validation import check_text
from mailwarden.surveillance.models import EventState, Region, RegionKind, VideoEvent
from mailwarden.surveillance.services.cameras import authorise

HANDLE_EVENTS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)

LINE_CROSSING = "line_crossing"
TAILGATING = "tailgating"
ENTRY = "entry"
# The tailgating event raised from a crossing is keyed from the crossing's own key, so the same
# crossing can never raise two.
_TAILGATING_KEYS = uuid.UUID("5b0f8d4e-2f53-4d4a-9a53-0d6c1d7e6a11")


def describe(event: VideoEvent) -> str:
    """What happened, in words, for the alarm console and messages."""
    if event.type == TAILGATING:
        entries = event.detail.get("entries")
        grants = event.detail.get("grants_in_window")
        window = event.detail.get("window_s")
        door = event.door.code if event.door else event.zone
        if isinstance(entries, int) and isinstance(grants, int):
            return (
                f"tailgating at door {door} on {event.camera.name}: {entries} "
                f"{'entry' if entries == 1 else 'entries'} on {grants} badge "
                f"{'grant' if grants == 1 else 'grants'} within {window:g} s"
            )
        return f"tailgating at door {door} on {event.camera.name}"
    return f"{event.type.replace('_', ' ')} in {event.zone} on {event.camera.name}"


def after_recorded(actor: Actor, event: VideoEvent) -> None:
    """Raise a freshly recorded event, or record it, in the transaction that recorded it.

    A door-line crossing is only recorded; an entry on a line with a tailgating rule is joined
    with its door's badge grants first, and raises a tailgating event when no grant is left for
    it. Every other type is raised: a ledger entry and ``VideoEventRaised``.
    """
    if event.type == LINE_CROSSING:
        _crossing(actor, event)
    elif event.type == TAILGATING and event.crossing_id is None:
        _reported_tailgating(actor, event)
    else:
        _raise(actor, event)


def _raise(actor: Actor, event: VideoEvent) -> None:
    ledger.append(
        actor,
        "surveillance.video_event.raised",
        "video_event",
        str(event.pk),
        {
            "camera": event.camera.name,
            "type": event.type,
            "zone": event.zone,
            "occurred_at": event.occurred_at.isoformat(),
            "snapshot": event.snapshot,
            "clip": event.clip,
            "crossing": event.crossing_id,
        },
        at=clock.now(),
    )
    outbox.emit(
        catalogue.VideoEventRaised(
            event=event.pk,
            type=event.type,
            camera=event.camera.name,
            site=event.site.code,
            zone=event.zone,
            door=event.door.code if event.door else None,
            occurred_at=event.occurred_at,
            detail=describe(event),
            has_snapshot=bool(event.snapshot),
            has_clip=bool(event.clip),
        )
    )


# ----------------------------------------------------------------------------- tailgating


@dataclass(frozen=True)
class _Guard:
    """A door line with a tailgating rule: its door and the rule's window in seconds."""

    door: Door
    window_s: float


def _line(event: VideoEvent) -> Region | None:
    return (
        Region.objects.select_related("door")
        .filter(camera_id=event.camera_id, kind=RegionKind.LINE, name=event.zone)
        .first()
    )


def _guard(event: VideoEvent, line: Region | None = None) -> _Guard | None:
    line = line or _line(event)
    if line is None or line.door is None:
        return None
    for rule in line.rules:
        if isinstance(rule, dict) and rule.get("type") == TAILGATING:
            return _Guard(line.door, float(rule.get("window", 10.0)))
    return None


def _record(crossing: VideoEvent, fields: list[str]) -> None:
    crossing.state = EventState.RECORDED
    crossing.save(update_fields=["state", *fields])


def _crossing(actor: Actor, crossing: VideoEvent) -> None:
    guard = _guard(crossing) if crossing.detail.get("direction") == ENTRY else None
    if guard is None:
        # An exit, or a line nobody asked to compare with badge grants.
        _record(crossing, [])
        return
    with transaction.atomic():
        # One door's crossings are joined one at a time: two people entering on one grant,
        # reported by two requests at once, must not both find the grant unused.
        Door.objects.select_for_update().filter(pk=guard.door.pk).first()
        crossing.door = guard.door
        at = crossing.occurred_at
        window = timedelta(seconds=guard.window_s)
        grants = access_queries.entry_grants(guard.door, at - window, at)
        uses = _uses([g.event_id for g in grants])
        for grant in grants:
            if uses[grant.event_id] >= grant.admits:
                continue
            crossing.detail = {**crossing.detail, "grant": grant.event_id}
            if uses[grant.event_id] == 0:
                crossing.grant_event_id = grant.event_id
            else:
                # The second person of a two-person entry: the grant's ID is unique to the
                # first crossing, so the second names it in its detail.
                crossing.detail["companion_grant"] = grant.event_id
            _record(crossing, ["door", "grant_event_id", "detail"])
            return
        _record(crossing, ["door"])
        entries = (
            VideoEvent.objects.filter(
                door=guard.door,
                type=LINE_CROSSING,
                detail__direction=ENTRY,
                occurred_at__gte=at - window,
                occurred_at__lte=at,
            ).count()
            or 1
        )
        _tailgating(actor, crossing, guard, grants_in_window=len(grants), entries=entries)


def _reported_tailgating(actor: Actor, event: VideoEvent) -> None:
    """A worker's own tailgating report. The vision library knows no badge grants, so on a
    door line it calls every entry tailgating; the server, which has the grants, judges the
    entry instead."""
    line = _line(event)
    guard = _guard(event, line)
    if line is None or guard is None:
        _raise(actor, event)  # not a door line the server knows: as reported
        return
    if any(isinstance(r, dict) and r.get("type") == LINE_CROSSING for r in line.rules):
        # The worker reported the same entry as a crossing too, and that one is joined.
        event.detail = {**event.detail, "reported_as": TAILGATING, "judged_as": "its crossing"}
        _record(event, ["detail"])
        return
    kept = {k: v for k, v in event.detail.items() if k != "grants_in_window"}
    event.type = LINE_CROSSING
    event.detail = {**kept, "direction": ENTRY, "reported_as": TAILGATING}
    event.save(update_fields=["type", "detail"])
    _crossing(actor, event)


def _uses(grant_ids: list[int]) -> Counter[int]:
    """How many crossings each grant has admitted already."""
    uses: Counter[int] = Counter()
    if not grant_ids:
        return uses
    matched = VideoEvent.objects.filter(
        Q(grant_event_id__in=grant_ids) | Q(detail__companion_grant__in=grant_ids)
    ).values_list("grant_event_id", "detail")
    for grant_id, detail in matched:
        if grant_id is not None:
            uses[grant_id] += 1
        companion = detail.get("companion_grant") if isinstance(detail, dict) else None
        if isinstance(companion, int):
            uses[companion] += 1
    return uses


def _tailgating(
    actor: Actor, crossing: VideoEvent, guard: _Guard, *, grants_in_window: int, entries: int
) -> VideoEvent:
    event = VideoEvent.objects.create(
        key=uuid.uuid5(_TAILGATING_KEYS, str(crossing.key)),
        camera=crossing.camera,
        site=crossing.site,
        worker=crossing.worker,
        type=TAILGATING,
        zone=crossing.zone,
        door=guard.door,
        occurred_at=crossing.occurred_at,
        received_at=clock.now(),
        frame=crossing.frame,
        track=crossing.track,
        bbox=crossing.bbox,
        frame_size=crossing.frame_size,
        detail={
            "direction": ENTRY,
            "window_s": guard.window_s,
            "grants_in_window": grants_in_window,
            "entries": entries,
        },
        snapshot=crossing.snapshot,
        clip=crossing.clip,
        clip_type=crossing.clip_type,
        crossing=crossing,
    )
    _raise(actor, event)
    return event


# ----------------------------------------------------------------------------- handling


def handle(actor: Actor, event_id: int, *, false_positive: bool, note: str = "") -> VideoEvent:
    """Acknowledge video event ``event_id``, or mark it as a false positive, with a note. An
    event is handled once; a recorded door-line crossing needs no handling."""
    authorise(actor, "handling a video event", HANDLE_EVENTS)
    if not isinstance(false_positive, bool):
        raise ServiceError("must be true or false", "false_positive")
    note = check_text(note, "note", max_length=500)
    now = clock.now()
    with transaction.atomic():
        event = (
            VideoEvent.objects.select_for_update()
            .select_related("camera", "site")
            .filter(pk=event_id)
            .first()
        )
        if event is None:
            raise NotFound(f"no video event {event_id}", "event_id")
        if event.state == EventState.RECORDED:
            raise Conflict(
                f"video event {event_id} is a door-line crossing that was only recorded; "
                "there is nothing to handle",
                "event_id",
            )
        if event.state != EventState.NEW:
            done = (
                "marked as a false positive"
                if event.state == EventState.FALSE_POSITIVE
                else "acknowledged"
            )
            when = f"{event.handled_at:%Y-%m-%d %H:%M} UTC" if event.handled_at else "earlier"
            raise Conflict(
                f"video event {event_id} was {done} already, by "
                f"{event.handled_by_label or 'someone'} at {when}",
                "event_id",
            )
        event.state = EventState.FALSE_POSITIVE if false_positive else EventState.ACKNOWLEDGED
        user_id = actor.user_id if actor.kind == "user" else None
        if user_id is not None and not get_user_model().objects.filter(pk=user_id).exists():
            user_id = None
        event.handled_by_id = user_id
        event.handled_by_label = actor.label
        event.handled_at = now
        event.note = note
        event.save(update_fields=["state", "handled_by", "handled_by_label", "handled_at", "note"])
        ledger.append(
            actor,
            "surveillance.video_event.handled",
            "video_event",
            str(event.pk),
            {"type": event.type, "false_positive": false_positive, "note": note},
            at=now,
        )
        outbox.emit(
            catalogue.VideoEventHandled(
                event=event.pk, by=actor.label, false_positive=false_positive, note=note
            )
        )
    return event
