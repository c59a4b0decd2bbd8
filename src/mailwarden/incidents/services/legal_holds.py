"""Legal holds on incidents (docs/retention.md).

An incident under a legal hold keeps the content (photo, signatures, X-ray images) of every item
linked to it. Custody asks :func:`items_held` through the ``legal_holds`` plug-in hook at each
purge, rather than this app copying holds onto the items: releasing the incident's hold then
frees exactly the items no other hold covers, with nothing to undo item by item.
"""

from __future__ import annotations

from collections.abc import Collection

from django.db import transaction

from mailwarden.contracts import events as catalogue
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_SECURITY
from mailwarden.core.validation import check_text
from mailwarden.incidents.models import Incident, IncidentEvidence, IncidentLink, LinkKind
from mailwarden.incidents.services import timeline
from mailwarden.incidents.services.incidents import _locked

REASON_MAX = 300


def place_legal_hold(actor: Actor, incident_id: int, reason: str) -> Incident:
    """Keep the content of the incident's items from every purge until released. A closed
    incident may be held too: litigation often starts after the case is closed."""
    require(actor, MANAGE_SECURITY, "placing a legal hold")
    why = check_text(reason, "reason", max_length=REASON_MAX, required=True)
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id, open_only=False)
        if incident.legal_hold_reason:
            raise Conflict(
                f"{incident.reference} is held already ({incident.legal_hold_reason})",
                "incident_id",
            )
        incident.legal_hold_reason, incident.legal_hold_by = why, actor.label
        incident.legal_hold_at = now
        incident.save(update_fields=["legal_hold_reason", "legal_hold_by", "legal_hold_at"])
        timeline.append(incident.pk, "hold", f"Legal hold placed: {why}", by=actor.label, at=now)
        ledger.append(
            actor,
            "incidents.legal_hold.placed",
            "incident",
            str(incident.pk),
            {"reference": incident.reference, "reason": why},
            at=now,
        )
        outbox.emit(
            catalogue.IncidentLegalHoldPlaced(
                reference=incident.reference, reason=why, by=actor.label
            )
        )
    return incident


def release_legal_hold(actor: Actor, incident_id: int, reason: str) -> Incident:
    require(actor, MANAGE_SECURITY, "releasing a legal hold")
    why = check_text(reason, "reason", max_length=REASON_MAX, required=True)
    now = clock.now()
    with transaction.atomic():
        incident = _locked(incident_id, open_only=False)
        if not incident.legal_hold_reason:
            raise Conflict(f"{incident.reference} is not under a legal hold", "incident_id")
        held = {"hold_reason": incident.legal_hold_reason, "held_by": incident.legal_hold_by}
        incident.legal_hold_reason, incident.legal_hold_by, incident.legal_hold_at = "", "", None
        incident.save(update_fields=["legal_hold_reason", "legal_hold_by", "legal_hold_at"])
        timeline.append(incident.pk, "hold", f"Legal hold released: {why}", by=actor.label, at=now)
        ledger.append(
            actor,
            "incidents.legal_hold.released",
            "incident",
            str(incident.pk),
            {"reference": incident.reference, "reason": why, **held},
            at=now,
        )
        outbox.emit(
            catalogue.IncidentLegalHoldReleased(
                reference=incident.reference, reason=why, by=actor.label
            )
        )
    return incident


def items_held(item_uids: Collection[str]) -> dict[str, str]:
    """The ``legal_holds`` hook: items linked to a held incident, each with the first hold."""
    links = (
        IncidentLink.objects.filter(kind=LinkKind.ITEM, target__in=list(item_uids))
        .exclude(incident__legal_hold_reason="")
        .select_related("incident")
        .order_by("incident__legal_hold_at", "id")
    )
    found: dict[str, str] = {}
    for link in links:
        incident = link.incident
        found.setdefault(
            link.target,
            f"incident {incident.reference}: {incident.legal_hold_reason} "
            f"(by {incident.legal_hold_by})",
        )
    return found


def media_in_use(digests: Collection[str]) -> set[str]:
    """The ``media_in_use`` hook: an incident's evidence files are kept as long as it is."""
    return set(
        IncidentEvidence.objects.filter(sha256__in=list(digests)).values_list("sha256", flat=True)
    )
