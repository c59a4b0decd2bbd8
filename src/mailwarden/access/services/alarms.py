"""Access alarms: raised from edge events and by the controller watch, cleared when the
condition ends, acknowledged by an operator; and the site's invalid-attempt thresholds.

:func:`check_controllers` is the periodic job that notices a controller that stopped syncing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction

from mailwarden.access import queries
from mailwarden.access.models import (
    AccessAlarm,
    AccessController,
    AccessEvent,
    AlarmKind,
    Door,
    Reader,
    SiteRules,
)
from mailwarden.access.services.common import HANDLE_ALARMS, authorise, check_seconds, site_rules
from mailwarden.contracts import events
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.durations import spoken
from mailwarden.core.errors import Conflict, NotFound
from mailwarden.core.tasks import periodic
from mailwarden.core.validation import check_text
from mailwarden.directory.models import Site


def set_alarm_thresholds(
    actor: Actor, site: str, *, invalid_attempts: int, window_s: int
) -> SiteRules:
    """How many refused presentations at one reader, within how long, raise an alarm at the site
    with code ``site``."""
    authorise(actor, "changing alarm thresholds")
    at = queries.site_named(site)
    check_seconds(invalid_attempts, "invalid_attempts", 2, 1000)
    check_seconds(window_s, "window_s", 10, 86_400)
    with transaction.atomic():
        rules = site_rules(at, lock=True)
        rules.invalid_attempts_limit, rules.invalid_attempts_window_s = invalid_attempts, window_s
        rules.save(update_fields=["invalid_attempts_limit", "invalid_attempts_window_s"])
        outbox.emit(
            events.AlarmThresholdsChanged(
                site=at.code, invalid_attempts=invalid_attempts, window_s=window_s
            )
        )
        data = {"invalid_attempts": invalid_attempts, "window_s": window_s}
        ledger.append(actor, "access.alarm_thresholds.changed", "site", at.code, data)
    return rules


# ----------------------------------------------------------------------------- alarms


def raise_alarm(
    actor: Actor,
    site: Site,
    kind: AlarmKind,
    occurred_at: datetime,
    now: datetime,
    *,
    detail: str,
    controller: AccessController | None = None,
    door: Door | None = None,
    reader: Reader | None = None,
    event: AccessEvent | None = None,
) -> AccessAlarm:
    alarm = AccessAlarm.objects.create(
        site=site,
        kind=kind,
        controller=controller,
        door=door,
        reader=reader,
        event=event,
        occurred_at=occurred_at,
        raised_at=now,
        detail=detail[:300],
    )
    raised = events.ACCESS_ALARMS[kind.value](
        alarm=alarm.pk,
        site=site.code,
        controller=controller.name if controller else None,
        door=door.code if door else None,
        reader=reader.code if reader else None,
        occurred_at=occurred_at,
        detail=alarm.detail,
    )
    outbox.emit(raised)
    # One action for every kind (the kind is in the entry); the event's topic names the kind.
    ledger.append(
        actor,
        "access.alarm.raised",
        "access_alarm",
        str(alarm.pk),
        {
            "alarm": alarm.pk,
            "kind": kind.value,
            "site": site.code,
            "controller": raised.controller,
            "door": raised.door,
            "reader": raised.reader,
            "occurred_at": occurred_at.isoformat(),
            "detail": alarm.detail,
        },
        at=now,
    )
    return alarm


def open_alarm(kind: AlarmKind, **where: Any) -> AccessAlarm | None:
    return AccessAlarm.objects.filter(kind=kind, cleared_at__isnull=True, **where).first()


def clear_alarms(site: Site, kind: AlarmKind, now: datetime, **where: Any) -> int:
    """Mark the condition over; operators still acknowledge the alarm."""
    alarms = list(AccessAlarm.objects.filter(kind=kind, cleared_at__isnull=True, **where))
    for alarm in alarms:
        alarm.cleared_at = now
        alarm.save(update_fields=["cleared_at"])
    if alarms:
        outbox.emit_many(
            [
                events.AccessAlarmCleared(alarm=alarm.pk, kind=kind.value, site=site.code)
                for alarm in alarms
            ]
        )
    return len(alarms)


def acknowledge_alarm(actor: Actor, alarm_id: int, *, note: str = "") -> AccessAlarm:
    authorise(actor, "acknowledging an alarm", HANDLE_ALARMS)
    if not AccessAlarm.objects.filter(pk=alarm_id).exists():
        raise NotFound(f"no alarm {alarm_id}", "alarm_id")
    note = check_text(note, "note", max_length=500)
    with transaction.atomic():
        alarm = AccessAlarm.objects.select_for_update().get(pk=alarm_id)
        if alarm.acknowledged_at is not None:
            raise Conflict("this alarm is acknowledged already", "alarm")
        alarm.acknowledged_at, alarm.acknowledged_by, alarm.note = clock.now(), actor.label, note
        alarm.save(update_fields=["acknowledged_at", "acknowledged_by", "note"])
        outbox.emit(events.AccessAlarmAcknowledged(alarm=alarm.pk, by=actor.label))
        ledger.append(
            actor, "access.alarm.acknowledged", "access_alarm", str(alarm.pk), {"note": note}
        )
    return alarm


class _Watch:
    """When this process began watching the controllers: its first check.

    A controller cannot sync with a server that is down, so silence from before the watch began
    is not the controller's: counted, every restart after a night off (or a demo started again
    the next day) raised "no sync for 7 hours" at once, for a controller that synced seconds
    later. A controller silent for longer than its limit after the watch began is alarmed, and
    the alarm still says how long it has been silent in all.
    """

    began: datetime | None = None


_watch = _Watch()


def watching_since(now: datetime) -> datetime:
    """When this process's watch began; ``now`` if this is its first check (or the clock was
    put back before it, as tests do)."""
    if _watch.began is None or now < _watch.began:
        _watch.began = now
    return _watch.began


def restart_watch(began: datetime | None = None) -> None:
    """Begin the watch again at ``began`` (None: at the next check), as a restart does."""
    _watch.began = began


@periodic("access.check_controllers")
def check_controllers(now: datetime) -> int:
    """Raise a controller-offline alarm for each controller silent for longer than allowed
    while this process has been watching (:class:`_Watch`)."""
    actor = Actor.job("access.check_controllers")
    since = watching_since(now)
    raised = 0
    for ctl in AccessController.objects.select_related("site"):
        last = ctl.last_seen_at or ctl.created_at
        if now - max(last, since) <= timedelta(seconds=ctl.offline_after_s):
            continue
        with transaction.atomic():
            if open_alarm(AlarmKind.CONTROLLER_OFFLINE, controller=ctl) is not None:
                continue
            silent = int((now - last).total_seconds())
            raise_alarm(
                actor,
                ctl.site,
                AlarmKind.CONTROLLER_OFFLINE,
                last,
                now,
                detail=(
                    f"no sync from {ctl.name} for {spoken(silent)}"
                    f" (limit {spoken(ctl.offline_after_s)})"
                ),
                controller=ctl,
            )
            raised += 1
    return raised
