"""Every change of the alarm console (docs/architecture.md rule 1): raising and folding alarms
from the sources' events, clearing them, acknowledging them, and the alarm rules.

Raising and clearing run in the outbox handlers (:mod:`mailwarden.incidents.handlers`) as the
``job:incidents`` actor; acknowledging and the rules are people's work, checked by role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any

from django.db import IntegrityError, transaction

from mailwarden.access.services import alarms as access_alarms
from mailwarden.contracts.events import IncidentAlarmAcknowledged, IncidentAlarmRaised
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.core.validation import check_text
from mailwarden.directory.models import Site
from mailwarden.incidents.models import (
    Alarm,
    AlarmOccurrence,
    AlarmRule,
    AlarmSource,
    AlarmState,
    RuleAction,
    Severity,
)
from mailwarden.incidents.queries import alarms as queries

HANDLE_ALARMS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
VIEW_ALARMS = (*HANDLE_ALARMS, Role.AUDITOR)
MANAGE_RULES = (Role.SECURITY_MANAGER,)

JOB = Actor.job("incidents")
MAX_BULK = 200
MAX_EVIDENCE = 20
ACCESS_REF = "access.alarm:"


# ----------------------------------------------------------------------------- raising


def _only_jobs(actor: Actor, what: str) -> None:
    if actor.kind != "job":
        raise Forbidden(f"{what} is done by the sources' events, not by people")


@dataclass(frozen=True)
class AlarmSignal:
    """What a source's event says, in the console's terms."""

    # The delivered event's identity: the same key twice is the same event, counted once.
    key: str
    type: str
    severity: Severity
    source: AlarmSource
    source_key: str
    title: str
    occurred_at: datetime
    site: str | None = None
    evidence: Sequence[dict[str, str]] = field(default_factory=tuple)
    ref: str = ""


def raise_alarm(actor: Actor, signal: AlarmSignal) -> Alarm | None:
    """Raise an alarm, or fold the signal into the unacknowledged alarm of the same condition.
    Returns None when this event was counted already. Sources raise alarms through their events,
    so only jobs (the handlers, the demo) call this."""
    _only_jobs(actor, "raising alarms")
    now = clock.now()
    site = Site.objects.filter(code=signal.site).first() if signal.site else None
    with transaction.atomic():
        if AlarmOccurrence.objects.filter(key=signal.key).exists():
            return None
        alarm = (
            Alarm.objects.select_for_update()
            .filter(source_key=signal.source_key, acknowledged_at__isnull=True)
            .first()
        )
        if alarm is None:
            alarm = _new_alarm(actor, signal, site, now)
        else:
            alarm.count += 1
            alarm.last_seen = max(alarm.last_seen, signal.occurred_at)
            alarm.severity = max(alarm.severity, signal.severity)
            alarm.state, alarm.cleared_at = AlarmState.OPEN, None
            alarm.evidence = [*alarm.evidence, *signal.evidence][-MAX_EVIDENCE:]
            alarm.save(
                update_fields=["count", "last_seen", "severity", "state", "cleared_at", "evidence"]
            )
        try:
            with transaction.atomic():
                AlarmOccurrence.objects.create(
                    alarm=alarm, key=signal.key, ref=signal.ref, occurred_at=signal.occurred_at
                )
        except IntegrityError:
            # The same event, delivered at the same moment by another dispatcher.
            transaction.set_rollback(True)
            return None
    return alarm


def _new_alarm(actor: Actor, signal: AlarmSignal, site: Site | None, now: datetime) -> Alarm:
    rule, action = queries.decide(signal.type, site, signal.severity, signal.occurred_at)
    alarm = Alarm.objects.create(
        type=signal.type,
        severity=signal.severity,
        site=site,
        source=signal.source,
        source_key=signal.source_key,
        title=signal.title[:200],
        evidence=list(signal.evidence)[-MAX_EVIDENCE:],
        first_seen=signal.occurred_at,
        last_seen=signal.occurred_at,
        action=action,
        rule=rule,
    )
    outbox.emit(
        IncidentAlarmRaised(
            alarm=alarm.pk,
            type=alarm.type,
            severity=alarm.severity,
            site=site.code if site else None,
            source=alarm.source,
            source_key=alarm.source_key,
            action=action.value,
        )
    )
    ledger.append(
        actor,
        "incidents.alarm.raised",
        "alarm",
        str(alarm.pk),
        {
            "type": alarm.type,
            "severity": alarm.severity,
            "site": site.code if site else None,
            "source": alarm.source,
            "source_key": alarm.source_key,
            "title": alarm.title,
            "action": action.value,
            "rule": rule.pk if rule else None,
        },
        at=now,
    )
    return alarm


def clear_by_ref(actor: Actor, ref: str) -> int:
    """The source says its condition ended (``ref`` names its record): the alarm it fed is
    marked cleared. Returns how many."""
    _only_jobs(actor, "clearing alarms")
    now = clock.now()
    cleared = 0
    with transaction.atomic():
        alarm_ids = set(AlarmOccurrence.objects.filter(ref=ref).values_list("alarm_id", flat=True))
        for alarm in Alarm.objects.select_for_update().filter(pk__in=alarm_ids):
            # Cleared already: an acknowledged alarm keeps its state, so its time says it.
            # A source that reuses a ref for a later outage (a camera) clears only the alarm
            # still going on, not the earlier ones again.
            if alarm.state == AlarmState.CLEARED or alarm.cleared_at is not None:
                continue
            alarm.cleared_at = now
            if alarm.state == AlarmState.OPEN:
                alarm.state = AlarmState.CLEARED
            alarm.save(update_fields=["cleared_at", "state"])
            cleared += 1
    return cleared


# ----------------------------------------------------------------------------- acknowledging


def acknowledge_alarm(actor: Actor, alarm_id: int, *, note: str = "") -> Alarm:
    return acknowledge_alarms(actor, [alarm_id], note=note)[0]


def acknowledge_alarms(actor: Actor, alarm_ids: Sequence[int], *, note: str = "") -> list[Alarm]:
    """Acknowledge one or many alarms with one note. All or nothing: an unknown or already
    acknowledged alarm refuses the whole request. The access alarms an alarm came from are
    acknowledged too, so the door board and the console agree."""
    require(actor, HANDLE_ALARMS, "acknowledging alarms")
    ids = list(dict.fromkeys(alarm_ids))
    if not ids:
        raise ServiceError("name at least one alarm", "alarm_ids")
    if len(ids) > MAX_BULK:
        raise ServiceError(f"at most {MAX_BULK} alarms at once", "alarm_ids")
    note = check_text(note, "note", max_length=500)
    now = clock.now()
    with transaction.atomic():
        found = {a.pk: a for a in Alarm.objects.select_for_update().filter(pk__in=ids)}
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"no alarm {', '.join(map(str, missing))}", "alarm_ids")
        done = [i for i in ids if found[i].acknowledged_at is not None]
        if done:
            raise Conflict(
                f"alarm {', '.join(map(str, done))} is acknowledged already", "alarm_ids"
            )
        alarms = [found[i] for i in ids]
        for alarm in alarms:
            _acknowledge(actor, alarm, note, now)
        _acknowledge_access_alarms(actor, alarms, note)
    return alarms


def _acknowledge(
    actor: Actor, alarm: Alarm, note: str, now: datetime, *, by: str | None = None
) -> None:
    by = by or actor.label
    alarm.acknowledged_at, alarm.acknowledged_by, alarm.note = now, by, note
    if alarm.state == AlarmState.OPEN:
        alarm.state = AlarmState.ACKNOWLEDGED
    alarm.save(update_fields=["acknowledged_at", "acknowledged_by", "note", "state"])
    outbox.emit(IncidentAlarmAcknowledged(alarm=alarm.pk, by=by, note=note))
    ledger.append(
        actor, "incidents.alarm.acknowledged", "alarm", str(alarm.pk), {"note": note, "by": by}
    )


def _acknowledge_access_alarms(actor: Actor, alarms: Sequence[Alarm], note: str) -> None:
    refs = AlarmOccurrence.objects.filter(alarm__in=alarms, ref__startswith=ACCESS_REF).values_list(
        "ref", flat=True
    )
    for ref in refs:
        try:
            access_alarms.acknowledge_alarm(actor, int(ref.removeprefix(ACCESS_REF)), note=note)
        except (Conflict, NotFound):
            continue  # acknowledged on the board already, or gone


def acknowledged_at_source(
    actor: Actor, ref: str, by: str, *, note: str = "acknowledged on the door board"
) -> int:
    """The source's own alarm was acknowledged (an access alarm on the door board, a video
    event on its page): the console's alarm it fed is acknowledged too, in that person's
    name."""
    _only_jobs(actor, "acknowledging alarms for their source")
    now = clock.now()
    done = 0
    with transaction.atomic():
        alarm_ids = set(AlarmOccurrence.objects.filter(ref=ref).values_list("alarm_id", flat=True))
        for alarm in Alarm.objects.select_for_update().filter(
            pk__in=alarm_ids, acknowledged_at__isnull=True
        ):
            _acknowledge(actor, alarm, note, now, by=by)
            done += 1
    return done


# ----------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class RuleRequest:
    name: str
    action: str
    alarm_type: str = ""
    site: str | None = None
    min_severity: int = Severity.LOW
    starts_at: time | None = None
    ends_at: time | None = None
    position: int = 100
    active: bool = True


def _validated(request: RuleRequest) -> dict[str, Any]:
    name = check_text(request.name, "name", max_length=120, required=True)
    alarm_type = check_text(request.alarm_type, "alarm_type", max_length=80)
    if request.action not in RuleAction.values:
        choices = ", ".join(RuleAction.values)
        raise ServiceError(f"must be one of {choices}", "action")
    if request.min_severity not in Severity.values:
        raise ServiceError("must be 1 (low) to 4 (critical)", "min_severity")
    if (request.starts_at is None) != (request.ends_at is None):
        field_name = "ends_at" if request.ends_at is None else "starts_at"
        raise ServiceError("give both ends of the time window, or neither", field_name)
    if request.starts_at is not None and request.starts_at == request.ends_at:
        raise ServiceError("the window must not start and end at the same time", "ends_at")
    if not 0 <= request.position <= 10_000:
        raise ServiceError("must be 0 to 10000", "position")
    site = None
    if request.site:
        site = Site.objects.filter(code=request.site).first()
        if site is None:
            raise NotFound(f"no site {request.site!r}", "site")
    return {
        "name": name,
        "alarm_type": alarm_type,
        "site": site,
        "min_severity": request.min_severity,
        "starts_at": request.starts_at,
        "ends_at": request.ends_at,
        "action": request.action,
        "position": request.position,
        "active": request.active,
    }


def _rule_data(rule: AlarmRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "alarm_type": rule.alarm_type,
        "site": rule.site.code if rule.site else None,
        "min_severity": rule.min_severity,
        "starts_at": rule.starts_at.isoformat() if rule.starts_at else None,
        "ends_at": rule.ends_at.isoformat() if rule.ends_at else None,
        "action": rule.action,
        "position": rule.position,
        "active": rule.active,
    }


def create_rule(actor: Actor, request: RuleRequest) -> AlarmRule:
    require(actor, MANAGE_RULES, "changing alarm rules")
    values = _validated(request)
    now = clock.now()
    with transaction.atomic():
        rule = AlarmRule.objects.create(**values, created_at=now, updated_at=now)
        ledger.append(actor, "incidents.rule.created", "alarm_rule", str(rule.pk), _rule_data(rule))
    return rule


def update_rule(actor: Actor, rule_id: int, request: RuleRequest) -> AlarmRule:
    require(actor, MANAGE_RULES, "changing alarm rules")
    if not AlarmRule.objects.filter(pk=rule_id).exists():
        raise NotFound(f"no alarm rule {rule_id}", "rule_id")
    values = _validated(request)
    with transaction.atomic():
        rule = AlarmRule.objects.select_for_update().get(pk=rule_id)
        for name, value in values.items():
            setattr(rule, name, value)
        rule.updated_at = clock.now()
        rule.save()
        ledger.append(actor, "incidents.rule.updated", "alarm_rule", str(rule.pk), _rule_data(rule))
    return rule


def delete_rule(actor: Actor, rule_id: int) -> None:
    require(actor, MANAGE_RULES, "changing alarm rules")
    with transaction.atomic():
        rule = AlarmRule.objects.select_for_update().filter(pk=rule_id).first()
        if rule is None:
            raise NotFound(f"no alarm rule {rule_id}", "rule_id")
        data = _rule_data(rule)
        rule.delete()
        ledger.append(actor, "incidents.rule.deleted", "alarm_rule", str(rule_id), data)
