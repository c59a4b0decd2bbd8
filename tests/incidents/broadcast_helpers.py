"""People at two sites, in departments, reachable on different channels, for the site message
tests; and helpers to read the links out of the queued messages."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from mailwarden.core import clock
from mailwarden.directory.models import Recipient, Site
from mailwarden.incidents.models import (
    Broadcast,
    Delivery,
    Incident,
    IncidentSeverity,
    IncidentType,
)
from mailwarden.incidents.services import broadcasts as services
from tests.factories import make_recipient, make_site


@dataclass
class Town:
    hq: Site
    other: Site
    alice: Recipient  # Finance, email and phone
    bob: Recipient  # Finance, email only
    carol: Recipient  # Mailroom, email, phone and a console account (in-app)
    dan: Recipient  # no department, email and phone
    gone: Recipient  # at hq but no longer active
    away: Recipient  # at the other site
    nowhere: Recipient  # no site


def make_town() -> Town:
    hq = make_site("hq")
    other = make_site("annex")
    user = User.objects.create_user("carol-user", email="carol@example.org")
    carol = make_recipient(
        first_name="Carol", phone="+441234567890", department="Mailroom", site="hq"
    )
    Recipient.objects.filter(pk=carol.pk).update(user=user)
    carol.refresh_from_db()
    gone = make_recipient(first_name="Gone", phone="+441234567899", site="hq")
    Recipient.objects.filter(pk=gone.pk).update(active=False)
    return Town(
        hq=hq,
        other=other,
        alice=make_recipient(
            first_name="Alice", phone="+441234567001", department="Finance", site="hq"
        ),
        bob=make_recipient(first_name="Bob", department="Finance", site="hq"),
        carol=carol,
        dan=make_recipient(first_name="Dan", phone="+441234567002", site="hq"),
        gone=gone,
        away=make_recipient(first_name="Away", phone="+441234567003", site="annex"),
        nowhere=make_recipient(first_name="Nowhere"),
    )


def evacuate(site: str = "hq", **kw: object) -> services.BroadcastRequest:
    data: dict[str, object] = {
        "site": site,
        "kind": "evacuate",
        "headline": "Leave the building now",
        "text": "Use the nearest exit and go to assembly point B.",
        **kw,
    }
    return services.BroadcastRequest(**data)  # type: ignore[arg-type]


def make_incident(site: Site, *, exercise: bool = False) -> Incident:
    return Incident.objects.create(
        reference=f"INC-{Incident.objects.count() + 1:05d}",
        type=IncidentType.SUSPICIOUS_PACKAGE,
        severity=IncidentSeverity.SEV1,
        title="Parcel with wires in the mailroom",
        site=site,
        opened_at=clock.now(),
        opened_by="user:mona",
        exercise=exercise,
    )


def link(
    broadcast: Broadcast,
    recipient: Recipient,
    answer: str = "safe",
    *,
    channel: str = "email",
    round_: int = 1,
) -> str:
    """The answer link in the message queued to ``recipient`` on ``channel`` in ``round_``."""
    delivery = Delivery.objects.get(
        key=f"broadcast:{broadcast.pk}:{recipient.pk}:{channel}:{round_}"
    )
    label = "I am safe: " if answer == "safe" else "I need help: "
    return delivery.text.split(label, 1)[1].split()[0]


def token(broadcast: Broadcast, recipient: Recipient, **kw: object) -> str:
    return link(broadcast, recipient, **kw).split("/rollcall/")[1].split("/")[0]  # type: ignore[arg-type]
