"""Received CAP 1.2 alerts (``POST /api/cap``): kept once by sender and identifier, and an alarm
on the console for each of our sites an alert names.

How an alert names a site, first rule that finds any:

1. an area's geocode ``mailwarden:site`` whose value is a site's code (what mailwarden's own
   alerts carry, see :func:`mailwarden.incidents.cap.cap_for_site_message`);
2. an area's ``areaDesc`` whose text up to its first comma is a site's code or name, ignoring
   case and surrounding spaces ("Site HQ, 1 High Street" names the site called "Site HQ").

An Actual or Exercise alert raises an alarm per named site (an exercise's titled EXERCISE); an
Update folds into the alarm of the alert it updates, a Cancel marks that alarm's condition over.
Test, System and Draft alerts, and alerts that name no site of ours, are kept and answered as
such, with no alarm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Q

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import ServiceError
from mailwarden.core.permissions import require
from mailwarden.directory.models import Site
from mailwarden.incidents import cap
from mailwarden.incidents.models import AlarmSource, ReceivedAlert, ReceivedOutcome, Severity
from mailwarden.incidents.services import alarms
from mailwarden.incidents.services.alarms import HANDLE_ALARMS, VIEW_ALARMS, AlarmSignal

logger = logging.getLogger(__name__)

# Devices feeding CAP hold a token with the security operator role (core.api's device tokens).
RECEIVE_CAP = HANDLE_ALARMS
VIEW_CAP = VIEW_ALARMS

_SEVERITY = {
    "Extreme": Severity.CRITICAL,
    "Severe": Severity.HIGH,
    "Moderate": Severity.MEDIUM,
}
_ACTIONABLE = {"Actual", "Exercise"}
_LIMITS = {"identifier": 200, "sender": 200}


class CapRefused(ServiceError):
    """A received message that is not acceptable CAP 1.2 (400, or 413 when too large)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message, "body")
        if too_large:
            self.status = 413


@dataclass(frozen=True)
class Receipt:
    alert: ReceivedAlert
    # False when this sender's alert of this identifier had been received already.
    created: bool


def sites_named(received: cap.Received) -> list[Site]:
    """The sites of ours an alert names (rules in the module's docstring), by code."""
    codes = {
        value.strip()
        for area in received.areas
        for name, value in area.geocodes
        if name.strip().lower() == cap.SITE_GEOCODE
    }
    found = list(Site.objects.filter(code__in=codes).order_by("code")) if codes else []
    if found:
        return found
    wanted = {area.description.split(",", 1)[0].strip().lower() for area in received.areas}
    wanted.discard("")
    if not wanted:
        return []
    query = Q()
    for text in wanted:
        query |= Q(code__iexact=text) | Q(name__iexact=text)
    return list(Site.objects.filter(query).order_by("code"))


def _condition(received: cap.Received) -> tuple[str, str]:
    """(sender, identifier) of the alert whose condition this one is about: an update's or a
    cancel's first reference, else itself."""
    if received.msg_type in ("Update", "Cancel") and received.references:
        return received.references[0]
    return received.sender, received.identifier


def receive_alert(actor: Actor, xml: bytes) -> Receipt:
    """Check, keep and act on one received CAP message (idempotent by sender and identifier)."""
    require(actor, RECEIVE_CAP, "sending CAP alerts")
    try:
        received = cap.read(xml)
    except cap.CapError as exc:
        logger.warning("CAP message refused from %s: %s", actor.label, exc.reason)
        raise CapRefused(exc.reason, too_large=exc.too_large) from None
    for name, limit in _LIMITS.items():
        if len(getattr(received, name)) > limit:
            raise CapRefused(f"{name} is longer than {limit} characters")
    existing = ReceivedAlert.objects.filter(
        sender=received.sender, identifier=received.identifier
    ).first()
    if existing is not None:
        return Receipt(existing, created=False)
    now = clock.now()
    sites = sites_named(received)
    try:
        with transaction.atomic():
            alert = ReceivedAlert.objects.create(
                identifier=received.identifier,
                sender=received.sender,
                sent=received.sent,
                status=received.status,
                msg_type=received.msg_type,
                scope=received.scope,
                event=received.event[:200],
                headline=received.headline[:200],
                severity=received.severity,
                urgency=received.urgency,
                certainty=received.certainty,
                area="; ".join(a.description for a in received.areas)[:1000],
                sites=[s.code for s in sites],
                outcome=ReceivedOutcome.NO_SITE,
                received_at=now,
                received_by=actor.label,
                xml=received.xml,
            )
            alert.outcome, alert.alarms = _act(received, sites, alert.pk)
            alert.save(update_fields=["outcome", "alarms"])
            ledger.append(
                actor,
                "incidents.cap.received",
                "cap_alert",
                str(alert.pk),
                {
                    "identifier": alert.identifier,
                    "sender": alert.sender,
                    "status": alert.status,
                    "msg_type": alert.msg_type,
                    "sites": alert.sites,
                    "alarms": alert.alarms,
                    "outcome": alert.outcome,
                },
                at=now,
            )
    except IntegrityError:
        # The same alert, received at the same moment by another request.
        existing = ReceivedAlert.objects.get(sender=received.sender, identifier=received.identifier)
        return Receipt(existing, created=False)
    if not sites:
        logger.info("CAP alert %s from %s names no site of ours", alert.identifier, alert.sender)
    return Receipt(alert, created=True)


def _act(
    received: cap.Received, sites: list[Site], alert_id: int
) -> tuple[ReceivedOutcome, list[int]]:
    if received.status not in _ACTIONABLE:
        return ReceivedOutcome.NOT_ACTIONABLE, []
    if not sites:
        return ReceivedOutcome.NO_SITE, []
    sender, identifier = _condition(received)
    if received.msg_type == "Cancel":
        for site in sites:
            alarms.clear_by_ref(alarms.JOB, f"cap:{sender}:{identifier}:{site.code}")
        return ReceivedOutcome.CANCELLED, []
    raised: list[int] = []
    label = "EXERCISE: " if received.status == "Exercise" else ""
    title = received.headline or received.event or "CAP alert"
    for site in sites:
        alarm = alarms.raise_alarm(
            alarms.JOB,
            AlarmSignal(
                key=f"cap:{received.sender}:{received.identifier}:{site.code}",
                type="cap.alert",
                severity=_SEVERITY.get(received.severity, Severity.LOW),
                source=AlarmSource.CAP,
                source_key=f"cap:{sender}:{identifier}:{site.code}"[:200],
                title=f"{label}CAP: {title}",
                occurred_at=received.sent,
                site=site.code,
                evidence=(
                    {
                        "label": f"CAP {received.identifier} from {received.sender}"[:200],
                        "url": f"/incidents/cap/{alert_id}/",
                    },
                ),
                ref=f"cap:{sender}:{identifier}:{site.code}"[:100],
            ),
        )
        if alarm is not None:
            raised.append(alarm.pk)
    return ReceivedOutcome.ALARM, raised
