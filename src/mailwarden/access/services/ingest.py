"""Ingesting a controller's events: each exactly once (by its key), each on its own, with the
ledger entries and alarms they call for."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from pydantic import ValidationError

from mailwarden.access import snapshots
from mailwarden.access.models import (
    AccessAlarm,
    AccessController,
    AccessEvent,
    AlarmKind,
    Cardholder,
    Credential,
    Door,
    Reader,
)
from mailwarden.access.services.alarms import clear_alarms, open_alarm, raise_alarm
from mailwarden.access.services.common import (
    MAX_DB_INT,
    controller_with_site,
    site_rules,
    speaks_for,
)
from mailwarden.contracts import access as contract
from mailwarden.contracts import events
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.api import clean_text
from mailwarden.core.durations import spoken
from mailwarden.core.errors import ServiceError
from mailwarden.directory.models import LocationKind
from mailwarden.edge.decisions import Reason

log = logging.getLogger(__name__)


# Invalid attempts are counted over these decisions; a two-person door's first badge is valid.
# Refusals that say nothing about the person at the door: a wait for the second person, and a
# read that waited in the reader while the edge was away (a queue of good cards after an outage
# is no attack).
NOT_INVALID = {Reason.TWO_PERSON_WAITING.value, Reason.STALE_READ.value}


# ----------------------------------------------------------------------------- ingestion


@dataclass
class IngestResult:
    applied: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    rejected: list[tuple[str | None, str]] = field(default_factory=list)


class _Rejected(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def ingest_events(
    actor: Actor,
    controller: str,
    batch: Sequence[Any],
    now: datetime | None = None,
) -> IngestResult:
    """Apply a batch of events from controller ``controller`` (its name), each exactly once (by
    its key), each on its own.

    ``batch`` holds the raw items (``{"key", "type", "event"}``); an item that cannot be read,
    or whose time is too far ahead of ours, is rejected with the reason and the rest still apply.
    """
    speaks_for(actor, controller, "sending a controller's events")
    now = now or clock.now()
    if len(batch) > contract.MAX_BATCH:
        raise ServiceError(f"at most {contract.MAX_BATCH} events per batch", "events")
    result = IngestResult()
    parsed: list[tuple[str, uuid.UUID, str, contract.EdgeEvent, dict[str, Any]]] = []
    for item in batch:
        raw_key = _raw_key(item)
        try:
            key, kind, event, raw = _parse(item, now)
        except _Rejected as exc:
            result.rejected.append((raw_key, exc.reason))
            continue
        parsed.append((raw_key or str(key), key, kind, event, raw))
    known = set(
        AccessEvent.objects.filter(key__in=[p[1] for p in parsed]).values_list("key", flat=True)
    )
    with transaction.atomic():
        ctl = controller_with_site(controller)
        context = _Context(actor, ctl, now)
        for raw_key, key, kind, event, raw in parsed:
            if key in known:
                result.duplicates.append(raw_key)
                continue
            try:
                with transaction.atomic():
                    _apply(context, key, kind, event, raw)
            except IntegrityError:
                # Normally the same key arriving in another request that committed first; a
                # duplicate is marked delivered at the edge, so anything else must not pass as one.
                if AccessEvent.objects.filter(key=key).exists():
                    result.duplicates.append(raw_key)
                else:
                    log.exception("access event %s from %s broke a constraint", key, ctl.name)
                    result.rejected.append(
                        (raw_key, "the server could not store it; send it again")
                    )
                continue
            except Exception:
                log.exception("access event %s from %s could not be applied", key, ctl.name)
                result.rejected.append((raw_key, "the server failed to apply it; send it again"))
                continue
            known.add(key)
            result.applied.append(raw_key)
        AccessController.objects.filter(pk=ctl.pk).update(last_seen_at=now)
        clear_alarms(ctl.site, AlarmKind.CONTROLLER_OFFLINE, now, controller=ctl)
    return result


def _raw_key(item: Any) -> str | None:
    if isinstance(item, Mapping):
        key = item.get("key")
        if isinstance(key, str):
            return key[:100]
    return None


def _check_strings(value: Any, where: str) -> None:
    if isinstance(value, str):
        try:
            clean_text(value)
        except ValueError as exc:
            raise _Rejected(f"{where}: {exc}") from None
    elif isinstance(value, Mapping):
        for k, v in value.items():
            _check_strings(k, where)
            _check_strings(v, f"{where}.{k}")
    elif isinstance(value, list):
        for index, v in enumerate(value):
            _check_strings(v, f"{where}[{index}]")


# Ids and reasons land in columns of these lengths.
_LIMITS = {
    "reader_id": 100,
    "door_id": 100,
    "holder_id": 100,
    "credential_id": 100,
    "companion_id": 100,
    "reason": 100,
    "kind": 100,
    "error": 100,
    "source": 100,
}


def _parse(item: Any, now: datetime) -> tuple[uuid.UUID, str, contract.EdgeEvent, dict[str, Any]]:
    if not isinstance(item, Mapping):
        raise _Rejected("an event must be a JSON object with key, type and event")
    try:
        envelope = contract.EventEnvelope.model_validate(item)
    except ValidationError as exc:
        raise _Rejected(_describe(exc)) from None
    model = contract.EVENT_MODELS.get(envelope.type)
    if model is None:
        known = ", ".join(sorted(contract.EVENT_MODELS))
        raise _Rejected(f"type: unknown event type {envelope.type!r}; known: {known}")
    _check_strings(envelope.event, "event")
    try:
        event = model.model_validate(envelope.event)
    except ValidationError as exc:
        raise _Rejected(_describe(exc, "event")) from None
    for name, limit in _LIMITS.items():
        value = getattr(event, name, None)
        if isinstance(value, str) and len(value) > limit:
            raise _Rejected(f"event.{name}: longer than {limit} characters")
    version = getattr(event, "snapshot_version", None)
    if version is not None and not 0 <= version <= MAX_DB_INT:
        raise _Rejected(f"event.snapshot_version: must be 0 to {MAX_DB_INT}")
    occurred = event.occurred_at
    if occurred.utcoffset() is None:
        raise _Rejected("event.occurred_at: must carry a UTC offset")
    try:
        occurred = occurred.astimezone(UTC)
    except OverflowError:
        raise _Rejected("event.occurred_at: out of range") from None
    ahead = (occurred - now).total_seconds()
    if ahead > contract.MAX_FUTURE_SKEW_S:
        raise _Rejected(
            f"clock skew: occurred_at is {ahead:.0f} s ahead of the server clock "
            f"({now.isoformat()}; at most {contract.MAX_FUTURE_SKEW_S} s allowed); "
            "check the controller's time"
        )
    return envelope.key, envelope.type, event, envelope.event


def _describe(exc: ValidationError, prefix: str = "") -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in (prefix, *first["loc"]) if p != "")
    message = str(first["msg"]).removeprefix("Value error, ")
    more = exc.error_count() - 1
    return f"{where or 'event'}: {message}" + (f" (and {more} more)" if more else "")


class _Context:
    """Lookups shared by the events of one batch."""

    def __init__(self, actor: Actor, ctl: AccessController, now: datetime) -> None:
        self.actor, self.ctl, self.now = actor, ctl, now
        self.site = ctl.site
        self.readers = {
            r.code: r for r in Reader.objects.filter(controller=ctl).select_related("door")
        }
        self.doors = {
            d.code: d for d in Door.objects.filter(site=ctl.site).select_related("location")
        }
        self.rules = site_rules(ctl.site)
        self._holders: dict[int, Cardholder | None] = {}
        self._credentials: dict[int, Credential | None] = {}

    def holder(self, ref: str | None) -> Cardholder | None:
        pk = _pk(ref, snapshots.HOLDER)
        if pk is None:
            return None
        if pk not in self._holders:
            self._holders[pk] = Cardholder.objects.filter(pk=pk).first()
        return self._holders[pk]

    def credential(self, ref: str | None) -> Credential | None:
        pk = _pk(ref, snapshots.CREDENTIAL)
        if pk is None:
            return None
        if pk not in self._credentials:
            self._credentials[pk] = Credential.objects.filter(pk=pk).first()
        return self._credentials[pk]


def _pk(ref: str | None, prefix: str) -> int | None:
    if ref and ref.startswith(prefix) and ref[len(prefix) :].isdigit():
        value = int(ref[len(prefix) :])
        return value if value <= 2**63 - 1 else None
    return None


def _apply(
    ctx: _Context, key: uuid.UUID, kind: str, event: contract.EdgeEvent, raw: dict[str, Any]
) -> None:
    reader_ref = getattr(event, "reader_id", None) or ""
    reader = ctx.readers.get(reader_ref)
    door_ref = getattr(event, "door_id", None) or ""
    door = ctx.doors.get(door_ref) if door_ref else (reader.door if reader else None)
    row = AccessEvent(
        key=key,
        controller=ctx.ctl,
        site=ctx.site,
        type=kind,
        occurred_at=event.occurred_at.astimezone(UTC),
        received_at=ctx.now,
        reader=reader,
        reader_ref=reader_ref,
        door=door,
        door_ref=door_ref,
        payload=raw,
    )
    if isinstance(event, contract.AccessDecisionEvent):
        _fill_decision(ctx, row, event)
    elif isinstance(event, contract.CardErrorEvent):
        row.granted, row.reason = False, f"card_error:{event.error}"[:100]
    elif isinstance(event, contract.ReaderStatusEvent):
        row.reason = "online" if event.online else "offline"
    elif isinstance(event, contract.ReaderTamperEvent):
        row.reason = "tamper" if event.tampered else "tamper_restored"
    elif isinstance(event, contract.ReaderPowerEvent):
        row.reason = "power_failed" if event.failed else "power_restored"
    elif isinstance(event, contract.DoorEventRecord):
        row.reason = event.kind
    elif isinstance(event, contract.RulesRejectedEvent):
        row.reason = f"rules_rejected:{event.reason}"[:100]
    elif isinstance(event, contract.ClockSkewEvent):
        row.reason = "clock_skew" if event.exceeded else "clock_in_line"
    row.save(force_insert=True)
    _ledger_if_security_relevant(ctx, row)
    _alarms_from(ctx, row, event)
    outbox.emit(
        events.AccessEventRecorded(
            event=row.pk,
            type=kind,
            site=ctx.site.code,
            door=door.code if door else door_ref or None,
            reader=reader_ref or None,
            granted=row.granted,
            reason=row.reason,
            occurred_at=row.occurred_at,
        )
    )


def _fill_decision(ctx: _Context, row: AccessEvent, event: contract.AccessDecisionEvent) -> None:
    row.granted, row.reason = event.granted, event.reason
    row.snapshot_version = event.snapshot_version
    row.holder_ref = event.holder_id or ""
    row.credential_ref = event.credential_id or ""
    row.cardholder = ctx.holder(event.holder_id)
    row.companion = ctx.holder(event.companion_id)
    credential = ctx.credential(event.credential_id)
    presented = event.card
    if credential is None and presented is not None and _storable_card(presented):
        # The edge did not know the card (revoked, or never issued here): name it if we can,
        # so a lost card that is still being tried shows whose it was.
        credential = (
            Credential.objects.filter(
                format=presented.format[:12], facility=presented.facility, card=presented.card
            )
            .select_related("holder")
            .order_by("-issued_at")
            .first()
        )
    row.credential = credential
    if row.cardholder is None and credential is not None:
        row.cardholder = credential.holder


def _storable_card(card: contract.PresentedCard) -> bool:
    facility_ok = card.facility is None or 0 <= card.facility <= MAX_DB_INT
    return facility_ok and 0 <= card.card <= 2**63 - 1


def _ledger_if_security_relevant(ctx: _Context, row: AccessEvent) -> None:
    door = row.door
    action = None
    if row.type == contract.ACCESS_DECISION and door is not None and door.location is not None:
        if door.location.kind == LocationKind.QUARANTINE and row.reason not in NOT_INVALID:
            action = "access.quarantine.granted" if row.granted else "access.quarantine.denied"
    elif row.type == contract.READER_TAMPER and row.reason == "tamper":
        action = "access.reader.tampered"
    elif row.type == contract.DOOR_EVENT and row.reason == "forced_open":
        action = "access.door.forced_open"
    elif row.type == contract.RULES_REJECTED:
        # A signature that does not verify may be a forged document: worth a permanent record.
        action = "access.controller.rules_rejected"
    if action is None:
        return
    if door is not None:
        subject_type, subject_id = "door", f"{ctx.site.code}/{door.code}"
    elif row.reader_ref:
        subject_type, subject_id = "reader", f"{ctx.ctl.name}/{row.reader_ref}"
    else:
        subject_type, subject_id = "access_controller", ctx.ctl.name
    ledger.append(
        ctx.actor,
        action,
        subject_type,
        subject_id,
        {
            "event": str(row.key),
            "occurred_at": row.occurred_at.isoformat(),
            "reader": row.reader_ref or None,
            "cardholder": row.cardholder_id,
            "credential": row.credential_id,
            "companion": row.companion_id,
            "reason": row.reason,
        },
        at=ctx.now,
    )


def _alarms_from(ctx: _Context, row: AccessEvent, event: contract.EdgeEvent) -> None:
    at, now, site = row.occurred_at, ctx.now, ctx.site
    where = f"door {row.door.code}" if row.door else f"door {row.door_ref}"
    if isinstance(event, contract.DoorEventRecord):
        kinds = {"forced_open": AlarmKind.FORCED_OPEN, "held_open": AlarmKind.HELD_OPEN}
        alarm_kind = kinds.get(event.kind)
        if alarm_kind is not None and open_alarm(alarm_kind, site=site, door=row.door) is None:
            text = "forced open" if alarm_kind is AlarmKind.FORCED_OPEN else "held open"
            raise_alarm(
                ctx.actor,
                site,
                alarm_kind,
                at,
                now,
                detail=f"{where} {text}",
                controller=ctx.ctl,
                door=row.door,
                event=row,
            )
        elif event.kind == "closed" and row.door is not None:
            for kind in (AlarmKind.FORCED_OPEN, AlarmKind.HELD_OPEN):
                clear_alarms(site, kind, now, door=row.door)
        return
    if isinstance(event, contract.RulesRejectedEvent | contract.ClockSkewEvent):
        _controller_condition(ctx, row, event)
        return
    reader, reader_name = row.reader, row.reader_ref
    if isinstance(event, contract.ReaderTamperEvent):
        _reader_condition(
            ctx,
            row,
            AlarmKind.TAMPER,
            event.tampered,
            f"reader {reader_name} tampered ({event.source})",
        )
        return
    if isinstance(event, contract.ReaderStatusEvent):
        _reader_condition(
            ctx,
            row,
            AlarmKind.READER_OFFLINE,
            not event.online,
            f"reader {reader_name} went offline",
        )
        return
    if row.granted is False and row.reason not in NOT_INVALID and reader is not None:
        _invalid_attempts(ctx, row)


def _controller_condition(
    ctx: _Context, row: AccessEvent, event: contract.RulesRejectedEvent | contract.ClockSkewEvent
) -> None:
    """One open alarm per controller and condition. Refused rules are over when the controller
    next polls holding the latest version; a wrong clock when the controller says it is right."""
    name = ctx.ctl.name
    if isinstance(event, contract.RulesRejectedEvent):
        kind, active = AlarmKind.RULES_REJECTED, True
        offered = "" if event.offered_version is None else f" version {event.offered_version}"
        detail = f"controller {name} refused rules{offered} ({event.reason}): {event.message}"
    else:
        kind, active = AlarmKind.CLOCK_SKEW, event.exceeded
        direction = "behind" if event.offset_s > 0 else "ahead of"
        detail = (
            f"controller {name}'s clock is {spoken(abs(event.offset_s))} {direction} the"
            f" server's (threshold {spoken(event.threshold_s)})"
        )
    _condition(ctx, row, kind, active, detail, controller=ctx.ctl)


def _reader_condition(
    ctx: _Context, row: AccessEvent, kind: AlarmKind, active: bool, detail: str
) -> None:
    if active or row.reader is not None:
        _condition(ctx, row, kind, active, detail, reader=row.reader)


def _condition(
    ctx: _Context, row: AccessEvent, kind: AlarmKind, active: bool, detail: str, **subject: Any
) -> None:
    """Raise one alarm while the subject's condition lasts (``subject``: its reader or its
    controller); mark it over when the edge says the condition has ended."""
    if not active:
        clear_alarms(ctx.site, kind, ctx.now, **subject)
    elif open_alarm(kind, site=ctx.site, **subject) is None:
        raise_alarm(
            ctx.actor,
            ctx.site,
            kind,
            row.occurred_at,
            ctx.now,
            detail=detail,
            controller=ctx.ctl,
            door=row.door,
            reader=row.reader,
            event=row,
        )


def _invalid_attempts(ctx: _Context, row: AccessEvent) -> None:
    """N refusals at one reader within M seconds: someone is trying cards or PINs."""
    limit, window_s = ctx.rules.invalid_attempts_limit, ctx.rules.invalid_attempts_window_s
    start = row.occurred_at - timedelta(seconds=window_s)
    refused = (
        AccessEvent.objects.filter(
            reader=row.reader,
            granted=False,
            occurred_at__gt=start,
            occurred_at__lte=row.occurred_at,
        )
        .exclude(reason__in=NOT_INVALID)
        .count()
    )
    if refused < limit:
        return
    # One alarm per burst: none if one was raised for this reader within the window.
    recent = AccessAlarm.objects.filter(
        kind=AlarmKind.INVALID_ATTEMPTS, reader=row.reader, occurred_at__gt=start
    ).exists()
    if recent:
        return
    assert row.reader is not None
    raise_alarm(
        ctx.actor,
        ctx.site,
        AlarmKind.INVALID_ATTEMPTS,
        row.occurred_at,
        ctx.now,
        detail=(
            f"{refused} refused presentations at reader {row.reader.code} within {spoken(window_s)}"
        ),
        controller=ctx.ctl,
        door=row.door,
        reader=row.reader,
        event=row,
    )
