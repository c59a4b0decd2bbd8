"""CAP 1.2 in (``POST /api/cap``) and the alerts received (``GET /api/cap``).

The body is the CAP XML itself (``application/cap+xml`` or ``application/xml``), parsed with no
DTD, no entity expansion and no network access, and checked against the OASIS schema; a message
that fails is answered 400 naming why, one over the size limit 413. A device feeding alerts uses
a token with the security operator role.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Path, Query, Router, Status
from pydantic import Field

from mailwarden.core.api import ERRORS, Input, actor_of, allow
from mailwarden.core.errors import NotFound
from mailwarden.core.permissions import require
from mailwarden.incidents import cap
from mailwarden.incidents.models import ReceivedAlert
from mailwarden.incidents.schemas.alarms import AlarmId
from mailwarden.incidents.schemas.cap import ReceivedAlertOut, received_out
from mailwarden.incidents.services import cap as services

router = Router()

# A device whose name starts with this feeds CAP alerts and may call nothing else.
CAP_FEED_PREFIX = "cap-"


def cap_feed_scope(device: str) -> frozenset[str] | None:
    """The operations a CAP feed's device token may call; None for any other device."""
    return frozenset({"cap_receive"}) if device.startswith(CAP_FEED_PREFIX) else None


_CAP_BODY = {
    "requestBody": {
        "required": True,
        "description": f"One CAP 1.2 alert ({cap.NS}), at most {cap.MAX_BYTES} bytes. A "
        "document type declaration is refused.",
        "content": {
            media: {"schema": {"type": "string", "format": "xml"}}
            for media in ("application/cap+xml", "application/xml", "text/xml")
        },
    }
}


@router.post(
    "/cap",
    response={201: ReceivedAlertOut, 200: ReceivedAlertOut, **ERRORS},
    summary="Receive a CAP 1.2 alert: an alarm for each of our sites it names",
    description=(services.__doc__ or "").strip(),
    openapi_extra=_CAP_BODY,
    url_name="cap_receive",
)
@allow(services.RECEIVE_CAP, "sending CAP alerts")
def receive(request: HttpRequest) -> Status[ReceivedAlertOut]:
    actor = actor_of(request)
    require(actor, services.RECEIVE_CAP, "sending CAP alerts")
    declared = request.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > cap.MAX_BYTES:
        raise services.CapRefused(
            f"the message is {declared} bytes; the limit is {cap.MAX_BYTES}", too_large=True
        )
    receipt = services.receive_alert(actor, request.body)
    out = received_out(receipt.alert, duplicate=not receipt.created)
    return Status(201 if receipt.created else 200, out)


class ReceivedQuery(Input):
    outcome: str | None = Field(None, max_length=20)
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0, le=1_000_000)


@router.get("/cap", response={200: list[ReceivedAlertOut], **ERRORS}, summary="CAP alerts received")
@allow(services.VIEW_CAP, "reading received CAP alerts")
def list_received(request: HttpRequest, filters: Query[ReceivedQuery]) -> list[ReceivedAlertOut]:
    require(actor_of(request), services.VIEW_CAP, "reading received CAP alerts")
    alerts = ReceivedAlert.objects.all()
    if filters.outcome:
        alerts = alerts.filter(outcome=filters.outcome)
    return [received_out(a) for a in alerts[filters.offset : filters.offset + filters.limit]]


@router.get(
    "/cap/{alert_id}", response={200: ReceivedAlertOut, **ERRORS}, summary="One received alert"
)
@allow(services.VIEW_CAP, "reading received CAP alerts")
def get_received(request: HttpRequest, alert_id: Path[AlarmId]) -> ReceivedAlertOut:
    require(actor_of(request), services.VIEW_CAP, "reading received CAP alerts")
    alert = ReceivedAlert.objects.filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(f"no received CAP alert {alert_id}", "alert_id")
    return received_out(alert)
