"""Site-wide messages with a roll call (docs/architecture.md rule 1): sending one to everyone at
a site on every channel they have, re-sending it to those who have not answered, and recording
the answers people give from the one-click links in their message.

Sending is people's work (security managers and operators) and must be confirmed; answering is
done by whoever holds a valid link, without signing in: the link itself is the credential, an
HMAC over the message, the person, the channel and an expiry time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.urls import reverse

from mailwarden.contracts.events import IncidentBroadcastSent, IncidentRollCallAnswered
from mailwarden.core import clock, ledger, outbox, plainsql
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.roles import Role
from mailwarden.core.validation import check_text
from mailwarden.directory.models import Recipient, Site
from mailwarden.incidents import cap, delivery
from mailwarden.incidents.models import (
    Answer,
    Broadcast,
    BroadcastKind,
    Channel,
    Incident,
    RollCallAnswer,
)
from mailwarden.incidents.services import alarms, timeline

SEND_BROADCASTS = (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR)
VIEW_BROADCASTS = (*SEND_BROADCASTS, Role.AUDITOR)

JOB = alarms.JOB
# Who answers a roll call: the holder of a link, not a signed-in person.
ROLL_CALL = Actor.job("roll-call")

LINK_LIFETIME = timedelta(hours=24)
DEFAULT_RESEND_MINUTES = 10
DEFAULT_MAX_ROUNDS = 3
# However often people press "re-send", a message goes out at most this many times.
ROUND_LIMIT = 10
MAX_HEADLINE = 120
MAX_TEXT = 1000
MAX_NOTE = 300
MAX_LOCATION = 120
BATCH = 2000

_CHANNEL_CODES = {Channel.EMAIL: "e", Channel.SMS: "s", Channel.INAPP: "i"}
_CODE_CHANNELS = {code: channel for channel, code in _CHANNEL_CODES.items()}
ANSWER_SLUGS = {"safe": Answer.SAFE, "help": Answer.NEED_HELP}


# ----------------------------------------------------------------------------- signed links


class LinkRefused(ServiceError):
    """A roll-call link that does not hold: tampered with, made up, or too old."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message, "token")
        self.expired = expired
        self.status = 410 if expired else 400


@dataclass(frozen=True)
class LinkClaim:
    broadcast_id: int
    recipient_id: int
    channel: Channel
    expires_at: datetime


@lru_cache(maxsize=4)
def _keyed(secret: str) -> Any:
    # A key of its own, so a roll-call token is never valid as any other signature of the site.
    # The keyed state is made once and copied for each token: a message to 5,000 people signs
    # 10,000 of them.
    key = hashlib.sha256(b"mailwarden.incidents.roll_call\x00" + secret.encode()).digest()
    return hmac.new(key, digestmod=hashlib.sha256)


def _hex(n: int) -> str:
    return format(n, "x")


def _mac(body: str) -> str:
    mac = _keyed(settings.SECRET_KEY).copy()
    mac.update(body.encode())
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def token_maker(broadcast_id: int, expires_at: datetime) -> Callable[[int, Channel], str]:
    """Makes the tokens of one message's links, each person's and channel's: what is the same
    for all of them is worked out once (a message to 5,000 people makes 10,000 tokens).

    A token names the message, the person, the channel and its expiry, and carries 144 bits of
    HMAC over them: unguessable, and the expiry cannot be stretched."""
    keyed = _keyed(settings.SECRET_KEY)
    head, tail = _hex(broadcast_id), _hex(int(expires_at.timestamp()))
    encode = base64.urlsafe_b64encode

    def make(recipient_id: int, channel: Channel) -> str:
        body = f"{head}.{_hex(recipient_id)}.{_CHANNEL_CODES[channel]}.{tail}"
        mac = keyed.copy()
        mac.update(body.encode())
        return f"{body}.{encode(mac.digest()[:18]).decode()}"

    return make


def make_token(broadcast_id: int, recipient_id: int, channel: Channel, expires_at: datetime) -> str:
    """The token of one person's links in one message on one channel."""
    return token_maker(broadcast_id, expires_at)(recipient_id, channel)


def read_token(token: str) -> LinkClaim:
    """What a link's token says, once its signature and expiry hold; LinkRefused otherwise."""
    parts = (token or "").split(".")
    invalid = LinkRefused("this link is not valid: it may have been cut short or changed")
    if len(parts) != 5 or len(token) > 120:
        raise invalid
    body, mac = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(mac.encode(), _mac(body).encode()):
        raise invalid
    try:
        broadcast_id, recipient_id, expires = (int(parts[i], 16) for i in (0, 1, 3))
        channel = _CODE_CHANNELS[parts[2]]
    except (KeyError, ValueError):
        raise invalid from None
    expires_at = datetime.fromtimestamp(expires, tz=UTC)
    if clock.now() > expires_at:
        raise LinkRefused("this link has expired", expired=True)
    return LinkClaim(broadcast_id, recipient_id, channel, expires_at)


def _link_template() -> str:
    # Reversed once per sending: thousands of reverse() calls would cost more than the inserts.
    path = reverse("incidents:roll_call_answer", args=["TOKEN", "ANSWER"])
    return settings.BASE_URL.rstrip("/") + path


def answer_url(template: str, token: str, answer: str) -> str:
    return template.replace("TOKEN", token).replace("ANSWER", answer)


# ----------------------------------------------------------------------------- sending


@dataclass(frozen=True)
class BroadcastRequest:
    site: str
    kind: str
    headline: str
    text: str
    incident: int | None = None
    resend_minutes: int = DEFAULT_RESEND_MINUTES
    max_rounds: int = DEFAULT_MAX_ROUNDS


@dataclass(frozen=True)
class _Checked:
    site: Site
    kind: BroadcastKind
    headline: str
    text: str
    incident: Incident | None
    resend_minutes: int
    max_rounds: int


def check_request(request: BroadcastRequest) -> None:
    """Refuse a message the sending would refuse (before asking for the confirmation)."""
    _check(request)


def _check(request: BroadcastRequest) -> _Checked:
    if request.kind not in BroadcastKind.values:
        raise ServiceError(
            f"unknown kind {request.kind!r}; choose one of {', '.join(BroadcastKind.values)}",
            "kind",
        )
    headline = check_text(request.headline, "headline", max_length=MAX_HEADLINE, required=True)
    text = check_text(request.text, "text", max_length=MAX_TEXT, required=True)
    if not 0 <= request.resend_minutes <= 24 * 60:
        raise ServiceError("must be 0 (never) to 1440 minutes", "resend_minutes")
    if not 1 <= request.max_rounds <= ROUND_LIMIT:
        raise ServiceError(f"must be 1 to {ROUND_LIMIT}", "max_rounds")
    site = Site.objects.filter(code=(request.site or "").strip()).first()
    if site is None:
        raise NotFound(f"no site {request.site!r}", "site")
    incident = None
    if request.incident is not None:
        incident = Incident.objects.filter(pk=request.incident).first()
        if incident is None:
            raise NotFound(f"no incident {request.incident}", "incident")
        if incident.site_id != site.pk:
            raise ServiceError(
                f"incident {incident.reference} is at another site than {site.code}", "incident"
            )
    return _Checked(
        site,
        BroadcastKind(request.kind),
        headline,
        text,
        incident,
        request.resend_minutes,
        request.max_rounds,
    )


# (id, email, phone, user id) of a person: all a message needs, without model instances.
Person = tuple[int, str, str, int | None]


def people_at(site: Site) -> list[Person]:
    """Everyone active at the site, with only what their addresses need, in one query."""
    return list(
        Recipient.objects.filter(site=site, active=True)
        .order_by("id")
        .values_list("id", "email", "phone", "user_id")
    )


@dataclass(frozen=True)
class Reach:
    people: int
    messages: int


def reach(site_code: str) -> Reach:
    """How many people and messages a site message would make now (for the confirmation)."""
    site = Site.objects.filter(code=site_code).first()
    if site is None:
        raise NotFound(f"no site {site_code!r}", "site")
    people = messages = 0
    for _, email, phone, user_id in people_at(site):
        people += 1
        messages += len(delivery.recipient_addresses(email, phone, user_id))
    return Reach(people, messages)


def send_broadcast(actor: Actor, request: BroadcastRequest, *, confirm: bool = False) -> Broadcast:
    """Queue a site message to every active person at the site, on every channel they have,
    each with their own links to answer the roll call (not for an all clear, which also stops
    the re-sending of the site's earlier messages). Nothing goes out unless ``confirm``."""
    require(actor, SEND_BROADCASTS, "sending a site message")
    checked = _check(request)
    if not confirm:
        raise ServiceError(
            f"confirm the message: it goes to everyone at {checked.site.code} at once", "confirm"
        )
    now = clock.now()
    with transaction.atomic():
        broadcast = Broadcast.objects.create(
            site=checked.site,
            kind=checked.kind,
            headline=checked.headline,
            text=checked.text,
            incident=checked.incident,
            exercise=bool(checked.incident and checked.incident.exercise),
            sent_at=now,
            sent_by=actor.label,
            resend_minutes=checked.resend_minutes,
            max_rounds=1 if checked.kind == BroadcastKind.ALL_CLEAR else checked.max_rounds,
            last_round_at=now,
        )
        people = people_at(checked.site)
        if broadcast.has_roll_call:
            _roll_call_rows(broadcast, people)
        else:
            Broadcast.objects.filter(
                site=checked.site, closed_at__isnull=True, sent_at__lte=now
            ).exclude(pk=broadcast.pk).update(closed_at=now)
        queued = _queue_round(broadcast, people, 1, now)
        broadcast.recipients, broadcast.messages = len(people), queued
        broadcast.save(update_fields=["recipients", "messages"])
        _record_round(actor, broadcast, 1, len(people), queued)
    return broadcast


def _roll_call_rows(broadcast: Broadcast, people: Sequence[Person]) -> None:
    """One empty answer per person, in plain SQL: the ORM's bulk_create costs several times the
    database's own work for thousands of rows (see delivery.queue)."""
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    columns = ("broadcast_id", "recipient_id", "answer", "note", "location", "via")
    into = (
        f"INSERT INTO {quote(RollCallAnswer._meta.db_table)} "
        f"({', '.join(quote(c) for c in columns)}) "
    )
    with plainsql.cursor() as cursor:
        if connection.vendor == "postgresql":
            plainsql.execute_bound(
                cursor,
                f"{into}SELECT %s, r, '', '', '', '' FROM unnest(%b::bigint[]) AS r",
                [broadcast.pk, [p[0] for p in people]],
            )
        else:
            cursor.executemany(
                f"{into}VALUES (%s, %s, %s, %s, %s, %s)",
                [(broadcast.pk, p[0], "", "", "", "") for p in people],
            )


def _queue_round(broadcast: Broadcast, people: Sequence[Person], round_: int, now: datetime) -> int:
    expires_at = now + LINK_LIFETIME
    template = _link_template() if broadcast.has_roll_call else ""
    kind = broadcast.get_kind_display().upper()
    again = f" (reminder {round_ - 1})" if round_ > 1 else ""
    subject = f"{kind}{again}: {broadcast.headline}"
    site = broadcast.site.name
    base_payload = {
        "broadcast": broadcast.pk,
        "kind": broadcast.kind,
        "site": broadcast.site.code,
        "round": round_,
    }
    messages = []
    make = token_maker(broadcast.pk, expires_at) if template else None
    key_head, ref, exercise = f"broadcast:{broadcast.pk}:", broadcast.ref, broadcast.exercise
    body = f"{subject}\n{site}\n\n{broadcast.text}"
    for person_id, email, phone, user_id in people:
        for address in delivery.recipient_addresses(email, phone, user_id):
            text = body
            if make is not None:
                token = make(person_id, address.channel)
                safe = answer_url(template, token, "safe")
                help_ = answer_url(template, token, "help")
                text += (
                    f"\n\nAre you safe? Answer with one click (no sign-in):\n"
                    f"I am safe: {safe}\nI need help: {help_}"
                )
            messages.append(
                delivery.Outgoing(
                    to=address,
                    subject=subject,
                    text=text,
                    key=f"{key_head}{person_id}:{address.channel}:{round_}",
                    ref=ref,
                    # One payload for the round (the links are in the text): it is serialised once.
                    payload=base_payload,
                    exercise=exercise,
                )
            )
    return delivery.queue(messages)


def _record_round(
    actor: Actor, broadcast: Broadcast, round_: int, people: int, queued: int
) -> None:
    data = {
        "site": broadcast.site.code,
        "kind": broadcast.kind,
        "headline": broadcast.headline,
        "incident": broadcast.incident_id,
        "exercise": broadcast.exercise,
        "round": round_,
        "recipients": people,
        "messages": queued,
    }
    outbox.emit(
        IncidentBroadcastSent(
            broadcast=broadcast.pk,
            site=broadcast.site.code,
            kind=broadcast.kind,
            headline=broadcast.headline,
            incident=broadcast.incident_id,
            exercise=broadcast.exercise,
            round=round_,
            recipients=people,
            messages=queued,
        )
    )
    action = "incidents.broadcast.sent" if round_ == 1 else "incidents.broadcast.sent_again"
    ledger.append(actor, action, "broadcast", str(broadcast.pk), data)
    if broadcast.incident_id is not None:
        whom = f"{people} {'person' if people == 1 else 'people'}"
        what = (
            f"{broadcast.get_kind_display()} message to {whom} at "
            f"{broadcast.site.code}: {broadcast.headline}"
            if round_ == 1
            else f"Site message re-sent (round {round_}) to {whom} who had not answered"
        )
        timeline.append(
            broadcast.incident_id,
            "message",
            what,
            by=actor.label,
            data={"broadcast": broadcast.pk, "round": round_, "messages": queued},
        )


# ----------------------------------------------------------------------------- re-sending


def resend_unanswered(actor: Actor, broadcast_id: int) -> Broadcast:
    """Send the message again, as a new round, to everyone who has not answered yet."""
    require(actor, SEND_BROADCASTS, "re-sending a site message")
    with transaction.atomic():
        broadcast = _locked(broadcast_id)
        if not broadcast.has_roll_call:
            raise Conflict("an all clear has no roll call to re-send for", "broadcast_id")
        if broadcast.rounds >= ROUND_LIMIT:
            raise Conflict(f"sent {broadcast.rounds} times already, the most", "broadcast_id")
        if not _resend(actor, broadcast, clock.now()):
            raise Conflict("everyone has answered", "broadcast_id")
    return broadcast


def _locked(broadcast_id: int) -> Broadcast:
    broadcast = (
        Broadcast.objects.select_for_update(of=("self",))
        .select_related("site", "incident")
        .filter(pk=broadcast_id)
        .first()
    )
    if broadcast is None:
        raise NotFound(f"no site message {broadcast_id}", "broadcast_id")
    return broadcast


def _resend(actor: Actor, broadcast: Broadcast, now: datetime) -> int:
    people = list(
        Recipient.objects.filter(
            roll_call_answers__broadcast=broadcast,
            roll_call_answers__answer=Answer.NONE,
            active=True,
        )
        .order_by("id")
        .values_list("id", "email", "phone", "user_id")
    )
    if not people:
        return 0
    round_ = broadcast.rounds + 1
    queued = _queue_round(broadcast, people, round_, now)
    broadcast.rounds, broadcast.last_round_at = round_, now
    broadcast.save(update_fields=["rounds", "last_round_at"])
    _record_round(actor, broadcast, round_, len(people), queued)
    return len(people)


def resend_due(now: datetime) -> int:
    """The periodic re-send: each open roll call whose interval has passed since its last round,
    while it has rounds left and its links are young. Returns how many people were sent to."""
    candidates = Broadcast.objects.filter(
        closed_at__isnull=True, resend_minutes__gt=0, sent_at__gt=now - LINK_LIFETIME
    ).exclude(kind=BroadcastKind.ALL_CLEAR)
    sent = 0
    for broadcast_id, rounds, max_rounds, last, minutes in candidates.values_list(
        "id", "rounds", "max_rounds", "last_round_at", "resend_minutes"
    ):
        if rounds >= max_rounds or now < last + timedelta(minutes=minutes):
            continue
        with transaction.atomic():
            broadcast = _locked(broadcast_id)
            # Another runner may have sent this round between the read and the lock.
            if broadcast.rounds != rounds:
                continue
            done = _resend(JOB, broadcast, now)
            if not done:
                broadcast.closed_at = now
                broadcast.save(update_fields=["closed_at"])
            sent += done
    return sent


def close_roll_call(actor: Actor, broadcast_id: int) -> Broadcast:
    """Stop the periodic re-sending. A re-send by hand stays possible, and answers are still
    taken while the links last."""
    require(actor, SEND_BROADCASTS, "closing a roll call")
    with transaction.atomic():
        broadcast = _locked(broadcast_id)
        if broadcast.closed_at is not None:
            raise Conflict("the roll call is closed already", "broadcast_id")
        broadcast.closed_at = clock.now()
        broadcast.save(update_fields=["closed_at"])
        ledger.append(actor, "incidents.roll_call.closed", "broadcast", str(broadcast.pk), {})
    return broadcast


def open_roll_calls(incident_id: int) -> list[int]:
    """The site messages of an incident whose roll call still re-sends."""
    return list(
        Broadcast.objects.filter(incident_id=incident_id, closed_at__isnull=True)
        .order_by("id")
        .values_list("pk", flat=True)
    )


# ----------------------------------------------------------------------------- answering


def answer_roll_call(
    token: str, answer: str, *, note: str | None = None, location: str | None = None
) -> RollCallAnswer:
    """Record (or change) the answer of the person a link was made for. ``answer`` is safe or
    need_help; a note and a location are kept when not given again."""
    claim = read_token(token)
    if answer not in (Answer.SAFE, Answer.NEED_HELP):
        raise ServiceError("answer safe or need_help", "answer")
    clean_note = None if note is None else check_text(note, "note", max_length=MAX_NOTE)
    clean_location = (
        None if location is None else check_text(location, "location", max_length=MAX_LOCATION)
    )
    now = clock.now()
    with transaction.atomic():
        row = (
            RollCallAnswer.objects.select_for_update(of=("self",))
            .select_related("broadcast__site", "recipient")
            .filter(broadcast_id=claim.broadcast_id, recipient_id=claim.recipient_id)
            .first()
        )
        if row is None:
            # A signed link for someone the message never went to: a message since deleted.
            raise LinkRefused("this link does not belong to a roll call any more")
        changed = row.answer != answer
        row.answer, row.answered_at, row.via = answer, now, claim.channel
        if clean_note is not None:
            row.note = clean_note
        if clean_location is not None:
            row.location = clean_location
        row.save(update_fields=["answer", "answered_at", "via", "note", "location"])
        broadcast = row.broadcast
        if changed or clean_note is not None or clean_location is not None:
            outbox.emit(
                IncidentRollCallAnswered(
                    broadcast=broadcast.pk,
                    site=broadcast.site.code,
                    recipient=row.recipient_id,
                    answer=answer,
                    via=claim.channel,
                    exercise=broadcast.exercise,
                    incident_reference=broadcast.incident.reference if broadcast.incident else "",
                    incident_title=broadcast.incident.title if broadcast.incident else "",
                    answered_at=now,
                )
            )
            ledger.append(
                ROLL_CALL,
                "incidents.roll_call.answered",
                "broadcast",
                str(broadcast.pk),
                {
                    "recipient": row.recipient.employee_id,
                    "answer": answer,
                    "via": claim.channel,
                    "note": row.note,
                    "location": row.location,
                },
            )
            if answer == Answer.NEED_HELP and changed and broadcast.incident_id is not None:
                timeline.append(
                    broadcast.incident_id,
                    "message",
                    f"{row.recipient.display_name} needs help"
                    + (f": {row.note}" if row.note else ""),
                    by=ROLL_CALL.label,
                    data={"broadcast": broadcast.pk, "recipient": row.recipient_id},
                )
    return row


# ----------------------------------------------------------------------------- CAP 1.2

# An all clear names at most this many of the messages it ends (CAP lists them in one element).
MAX_CAP_REFERENCES = 20


def cap_sender() -> str:
    """Who this mailwarden is in the alerts it writes: one word, from the console's host name."""
    host = urlsplit(settings.BASE_URL).hostname or "localhost"
    return f"mailwarden@{host}"


def cap_identifier(broadcast: Broadcast) -> str:
    return f"mailwarden-broadcast-{broadcast.pk}"


def cap_earlier(broadcast: Broadcast) -> list[Broadcast]:
    """The messages an all clear ends: the site's messages since its previous all clear, latest
    first. Any other kind refers to nothing."""
    if broadcast.kind != BroadcastKind.ALL_CLEAR:
        return []
    earlier = Broadcast.objects.filter(site_id=broadcast.site_id, pk__lt=broadcast.pk)
    previous_clear = (
        earlier.filter(kind=BroadcastKind.ALL_CLEAR).order_by("-pk").values_list("pk", flat=True)
    ).first()
    ended = earlier.exclude(kind=BroadcastKind.ALL_CLEAR)
    if previous_clear is not None:
        ended = ended.filter(pk__gt=previous_clear)
    return list(ended.order_by("-pk")[:MAX_CAP_REFERENCES])


def cap_alert(broadcast: Broadcast) -> bytes:
    """The site message as a CAP 1.2 alert: status Exercise for an exercise's message, and an
    all clear as an Update referring to the messages it ends. Built from the stored message, so
    the same message always gives the same alert."""
    sender = cap_sender()
    references = [(sender, cap_identifier(b), b.sent_at) for b in cap_earlier(broadcast)]
    site = broadcast.site
    return cap.cap_for_site_message(
        site.name,
        broadcast.kind,  # type: ignore[arg-type]
        broadcast.headline,
        broadcast.text,
        cap_identifier(broadcast),
        broadcast.sent_at,
        broadcast.exercise,
        references,
        sender=sender,
        site_code=site.code,
        site_address=site.address,
    )
