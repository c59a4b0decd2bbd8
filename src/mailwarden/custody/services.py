"""Every change to custody data is one function here (docs/architecture.md rule 1).

Each takes an explicit actor, validates, writes, appends to the ledger and emits its domain event in
one transaction. Views, the API, the CLI, tasks and tests all come through these functions.
"""

from __future__ import annotations

import base64
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django.db import transaction
from PIL import Image

from mailwarden.config import get_settings
from mailwarden.contracts import events
from mailwarden.core import clock, duties, ledger, media, notify, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.duties import Duty
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.permissions import require
from mailwarden.core.plainsql import first_where, insert
from mailwarden.core.roles import HANDOVER, INTAKE, MANAGE_DIRECTORY, SCREEN
from mailwarden.core.tasks import periodic
from mailwarden.custody import carriers, holds, manifests, notifications, pickup
from mailwarden.custody.models import ItemKind, MailItem
from mailwarden.custody.states import (
    GONE_FROM_MAILROOM,
    HANDOVER_STATES,
    QUARANTINE_EXITS,
    TRANSITIONS,
    State,
    allowed_after,
)
from mailwarden.directory.models import Location, LocationKind, Recipient, Site

UID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U


def new_uid() -> str:
    return "MW-" + "".join(secrets.choice(UID_ALPHABET) for _ in range(8))


# ----------------------------------------------------------------------------- intake


@dataclass
class IntakeRequest:
    """An item arriving at the site with code ``site``, for the recipient with ``recipient_id``."""

    site: str
    recipient_id: int
    kind: str
    tracking_number: str = ""
    sender: str = ""
    accountable: bool = False
    length_mm: int | None = None
    width_mm: int | None = None
    height_mm: int | None = None
    weight_g: int | None = None
    photo: bytes | None = None
    notes: str = ""
    location_code: str | None = None
    confirm_duplicate: bool = False
    suspicious: bool = False
    # The clerk's reason to log a tracking number that no carrier's rule accepts; the item is
    # then flagged for review instead of the intake being refused.
    unverified_reason: str = ""


UNVERIFIED_REASON_MAX = 300


class UnverifiedTrackingNumber(ServiceError):
    """No carrier's rule accepts the number; the clerk may log it anyway with a reason."""

    def __init__(self, problem: str) -> None:
        super().__init__(
            f"This tracking number does not check out: {problem}. If the label really reads "
            "so, give a reason to log it anyway; the item will be flagged for review.",
            "tracking_number",
        )
        self.problem = problem


class PossibleDuplicate(Conflict):
    def __init__(self, previous: MailItem) -> None:
        super().__init__(
            f"{previous.tracking_number} was already scanned as {previous.uid} at "
            f"{previous.received_at:%Y-%m-%d %H:%M} UTC; confirm if this is another item",
            "tracking_number",
        )
        self.previous = previous


def _dock(site: Site, code: str | None) -> Location:
    if code:
        loc = first_where(Location, "site_id = %s AND code = %s", [site.pk, code])
    else:
        loc = first_where(
            Location,
            "site_id = %s AND kind = %s",
            [site.pk, LocationKind.DOCK.value],
            order_by="id",
        )
    if loc is None:
        raise ServiceError(
            f"no location {code!r} at {site.code}" if code else f"{site.code} has no dock",
            "location_code",
        )
    return loc


def intake(actor: Actor, req: IntakeRequest) -> MailItem:
    require(actor, INTAKE, "logging an item")
    site = first_where(Site, "code = %s", [req.site])
    if site is None:
        raise ServiceError(f"no site {req.site!r}", "site")
    if req.kind not in ItemKind.values:
        raise ServiceError(
            f"unknown item type {req.kind!r}; choose one of {', '.join(ItemKind.values)}", "kind"
        )
    for name in ("length_mm", "width_mm", "height_mm", "weight_g"):
        value = getattr(req, name)
        if value is not None and not 0 < value <= 10_000_000:
            raise ServiceError("must be a positive number", name)
    number, carrier, tracking_type, unverified = _checked_number(req)
    review = _review_reason(unverified) if unverified else ""
    recipient = first_where(Recipient, "id = %s AND active = %s", [req.recipient_id, True])
    if recipient is None:
        raise ServiceError(f"no active recipient with id {req.recipient_id}", "recipient_id")
    photo_hash = ""
    cfg = get_settings()
    checked = None
    if req.photo is not None:
        checked = media.check_image(
            req.photo,
            field="photo",
            max_bytes=cfg.uploads.max_bytes,
            max_pixels=cfg.uploads.max_pixels,
        )
    # A clerk without current mail-handling training is warned, and the entry records it.
    warnings = duties.check(actor, Duty.INTAKE)
    now = clock.now()
    location = _dock(site, req.location_code)
    with transaction.atomic():
        if number and not req.confirm_duplicate:
            window = timedelta(minutes=cfg.intake.duplicate_window_minutes)
            previous = first_where(
                MailItem,
                "tracking_number = %s AND received_at >= %s",
                [number, now - window],
                order_by="received_at DESC",
            )
            if previous is not None:
                raise PossibleDuplicate(previous)
        if checked is not None:
            photo_hash = media.put(checked.data)
        # Every item is screened: it is logged and moved to the screening queue at once, so
        # the row is written in its queued state and both steps share one lock of the ledger.
        item = _create_item(
            req, site, recipient, location, number, carrier, tracking_type, photo_hash, review
        )
        # A parcel a carrier's manifest announced is no longer expected once it is here.
        expected = manifests.mark_arrived([(number, item.uid)], item.received_at)
        intake_record = ledger.Record(
            "custody.item.received",
            "mailitem",
            item.uid,
            {
                "tracking_number": number,
                "carrier": carrier,
                "kind": req.kind,
                "recipient": recipient.employee_id,
                "location": location.code,
                "photo_sha256": photo_hash,
                "duplicate_confirmed": req.confirm_duplicate,
                **({"flagged": True} if req.suspicious else {}),
                **({"unverified_tracking_number": unverified} if unverified else {}),
                **({"warnings": warnings} if warnings else {}),
                **({"manifest": expected[number]} if number in expected else {}),
            },
        )
        queued = _transition_record(item, State.RECEIVED, location, "logged at intake")
        outbox.emit_many(
            [
                events.ItemReceived(uid=item.uid, site=site.code, kind=req.kind),
                _transition_event(item, State.RECEIVED),
            ]
        )
        # Last, because the ledger's head stays locked until the commit.
        ledger.append_many(actor, [intake_record, queued], at=item.received_at)
    item.intake_warnings = tuple(warnings)
    return item


def _checked_number(req: IntakeRequest) -> tuple[str, str, str, dict[str, str]]:
    """The number, carrier and type; and, for an override, what was wrong and the reason."""
    number = carriers.normalise(req.tracking_number)
    if not number:
        return "", "", "", {}
    try:
        found = carriers.validate(number)
    except carriers.InvalidTrackingNumber as exc:
        reason = " ".join(req.unverified_reason.split())
        # Too long for any label, and for the column: a reason cannot make it a number.
        if len(number) > carriers.MAX_LENGTH:
            raise ServiceError(
                f"This is not a tracking number: {exc}.", "tracking_number"
            ) from None
        if not reason:
            raise UnverifiedTrackingNumber(exc.reason) from None
        if len(reason) > UNVERIFIED_REASON_MAX:
            raise ServiceError(
                f"The reason is {len(reason)} characters; keep it to {UNVERIFIED_REASON_MAX}.",
                "unverified_reason",
            ) from None
        return number, "", "", {"problem": exc.reason, "reason": reason}
    return found.number, found.carrier, found.type, {}


def _review_reason(unverified: dict[str, str]) -> str:
    text = (
        f"Tracking number logged unchecked ({unverified['problem']}). "
        f"Clerk's reason: {unverified['reason']}"
    )
    return text[:500]


def _create_item(
    req: IntakeRequest,
    site: Site,
    recipient: Recipient,
    location: Location,
    number: str,
    carrier: str,
    tracking_type: str,
    photo_hash: str,
    review_reason: str,
) -> MailItem:
    now = clock.now()
    item = MailItem(
        site=site,
        tracking_number=number,
        carrier=carrier,
        tracking_type=tracking_type,
        kind=req.kind,
        sender=req.sender.strip()[:200],
        accountable=req.accountable,
        flagged=req.suspicious,
        review_reason=review_reason,
        length_mm=req.length_mm,
        width_mm=req.width_mm,
        height_mm=req.height_mm,
        weight_g=req.weight_g,
        photo_sha256=photo_hash,
        recipient=recipient,
        state=State.AWAITING_SCREENING,
        location=location,
        received_at=now,
        state_changed_at=now,
        notes=req.notes,
        version=2,  # logged (1), then queued for screening (2)
    )
    for _ in range(5):
        item.uid = new_uid()
        if insert(item, unless_taken="uid"):
            return item
    raise RuntimeError("could not allocate a unique item id")


def attach_photo(actor: Actor, uid: str, photo: bytes) -> MailItem:
    """Add or replace an item's photo after intake (a second camera, a better shot)."""
    require(actor, INTAKE, "attaching a photo")
    cfg = get_settings()
    checked = media.check_image(
        photo, field="photo", max_bytes=cfg.uploads.max_bytes, max_pixels=cfg.uploads.max_pixels
    )
    with transaction.atomic():
        item = _locked_item(uid)
        previous = item.photo_sha256
        digest = media.put(checked.data)
        item.photo_sha256 = digest
        item.version += 1
        item.save(update_fields=["photo_sha256", "version"])
        ledger.append(
            actor,
            "custody.item.photo_attached",
            "mailitem",
            uid,
            {"photo_sha256": digest, "replaces": previous},
        )
    return item


# ----------------------------------------------------------------------------- transitions


class IllegalTransition(ServiceError):
    status = 409

    def __init__(self, item: MailItem, target: str) -> None:
        current = State(item.state)
        allowed = ", ".join(s.value for s in allowed_after(current)) or "none (final state)"
        super().__init__(
            f"{item.uid} is {current.value}; it cannot become {target}. Allowed next: {allowed}",
            "state",
        )


def _locked_item(uid: str) -> MailItem:
    item = MailItem.objects.select_for_update().filter(uid=uid).select_related("site").first()
    if item is None:
        raise NotFound(f"no item {uid}", "uid")
    return item


def _apply(
    actor: Actor,
    item: MailItem,
    target: State,
    location: Location,
    reason: str,
    extra: dict[str, object] | None = None,
) -> MailItem:
    previous = State(item.state)
    now = clock.now()
    item.state = target
    item.location = location
    item.state_changed_at = now
    item.version += 1
    item.save(update_fields=["state", "location", "state_changed_at", "version"])
    outbox.emit_many([_transition_event(item, previous)])
    # Last, because the ledger's head stays locked until the commit.
    ledger.append_many(actor, [_transition_record(item, previous, location, reason, extra)], at=now)
    return item


def _transition_record(
    item: MailItem,
    previous: State,
    location: Location,
    reason: str,
    extra: dict[str, object] | None = None,
) -> ledger.Record:
    """The ledger's account of the move an item (already in its new state) has just made."""
    data = {
        "from": previous.value,
        "to": State(item.state).value,
        "location": location.code,
        "reason": reason,
        **(extra or {}),
    }
    return ledger.Record("custody.item.transitioned", "mailitem", item.uid, data)


def _transition_event(item: MailItem, previous: State) -> events.ItemTransitioned:
    """The catalogued event of the move an item (already in its new state) has just made."""
    model = events.TRANSITIONS[State(item.state).value]
    return model(
        uid=item.uid, previous=previous.value, location=item.location.code, version=item.version
    )


_TRANSITION_ROLES = {
    State.CLEARED: SCREEN,
    State.QUARANTINED: SCREEN,
}


def transition(
    actor: Actor,
    uid: str,
    target: str,
    *,
    reason: str = "",
    location_code: str | None = None,
    expected_version: int | None = None,
) -> MailItem:
    """Move an item to ``target``; refused unless the state machine allows it."""
    try:
        state = State(target)
    except ValueError:
        raise ServiceError(
            f"unknown state {target!r}; states are {', '.join(State.values)}", "state"
        ) from None
    require(actor, _TRANSITION_ROLES.get(state, HANDOVER), f"moving an item to {state.value}")
    if state in HANDOVER_STATES:
        raise ServiceError(
            f"{state.value} needs proof of hand-over; use the pickup or delivery action", "state"
        )
    if state in QUARANTINE_EXITS:
        raise ServiceError(f"{state.value} is a quarantine decision and needs two people", "state")
    if state == State.QUARANTINED and not reason.strip():
        raise ServiceError("quarantine needs a reason", "reason")
    with transaction.atomic():
        item = _locked_item(uid)
        if expected_version is not None and item.version != expected_version:
            raise Conflict(
                f"{uid} was changed by someone else (now {item.state}); reload and try again",
                "expected_version",
            )
        if state not in TRANSITIONS[State(item.state)]:
            raise IllegalTransition(item, state.value)
        location = _target_location(item, state, location_code)
        return _apply(actor, item, state, location, reason)


def _target_location(item: MailItem, state: State, code: str | None) -> Location:
    query = Location.objects.filter(site_id=item.site_id)
    if code:
        loc = query.filter(code=code).first()
        if loc is None:
            raise ServiceError(f"no location {code!r} at this site", "location_code")
        return loc
    wanted = {
        State.QUARANTINED: LocationKind.QUARANTINE,
        State.READY_FOR_PICKUP: LocationKind.SHELF,
        State.OUT_FOR_DELIVERY: LocationKind.VEHICLE,
    }.get(state)
    if wanted:
        loc = query.filter(kind=wanted).order_by("code").first()
        if loc is not None:
            return loc
    return item.location


def move(actor: Actor, uid: str, location_code: str, reason: str = "") -> MailItem:
    """Record a change of place without a change of state."""
    require(actor, (*HANDOVER, *SCREEN), "moving an item")
    with transaction.atomic():
        item = _locked_item(uid)
        gone = GONE_FROM_MAILROOM.get(State(item.state))
        if gone:
            # Its last shelf is history; a move would claim it is back in the mailroom.
            raise ServiceError(
                f"{item.uid} has left the mailroom ({gone.lower()}); it cannot be moved",
                "location_code",
            )
        location = _target_location(item, State(item.state), location_code)
        item.location = location
        item.version += 1
        item.save(update_fields=["location", "version"])
        ledger.append(
            actor,
            "custody.item.moved",
            "mailitem",
            uid,
            {"state": item.state, "location": location.code, "reason": reason},
        )
    return item


def clear_review(actor: Actor, uid: str, note: str = "") -> MailItem:
    """A manager has looked at an item flagged for review (an unchecked tracking number) and
    clears the flag; the ledger keeps what the flag said and the manager's note."""
    require(actor, MANAGE_DIRECTORY, "clearing an item's review flag")
    note = " ".join(note.split())
    if len(note) > REVIEW_NOTE_MAX:
        raise ServiceError(
            f"The note is {len(note)} characters; keep it to {REVIEW_NOTE_MAX}.", "note"
        )
    with transaction.atomic():
        item = _locked_item(uid)
        if not item.review_reason:
            raise Conflict(f"{item.uid} is not flagged for review", "uid")
        previous = item.review_reason
        item.review_reason = ""
        item.version += 1
        item.save(update_fields=["review_reason", "version"])
        ledger.append(
            actor,
            "custody.item.review_cleared",
            "mailitem",
            item.uid,
            # Under "reason", as every step the item page shows with its why.
            {"review_reason": previous, "reason": note},
        )
    return item


REVIEW_NOTE_MAX = 300


# ----------------------------------------------------------------------------- hand-over


ProofMethod = Literal["signature", "code", "qr"]


def _signature_hash(data_url: str) -> str:
    prefix = "data:image/png;base64,"
    if not data_url.startswith(prefix):
        raise ServiceError("the signature must be a PNG data URL", "signature")
    try:
        raw = base64.b64decode(data_url[len(prefix) :], validate=True)
    except ValueError:
        raise ServiceError("the signature is not valid base64", "signature") from None
    cfg = get_settings()
    checked = media.check_image(
        raw,
        field="signature",
        max_bytes=min(cfg.uploads.max_bytes, 2_000_000),
        max_pixels=4_000_000,
    )
    with Image.open(io.BytesIO(checked.data)) as img:
        alpha = img.convert("LA")
        extrema = alpha.getchannel("L").getextrema(), alpha.getchannel("A").getextrema()
    (lo, hi), (_, alpha_hi) = extrema
    if alpha_hi == 0 or lo == hi:
        raise ServiceError("the signature is blank", "signature")
    return media.put(checked.data)


def hand_over(
    actor: Actor,
    uid: str,
    *,
    method: ProofMethod,
    proof: str,
    collected_by: str = "",
    delivered: bool = False,
) -> MailItem:
    """Give the item to its recipient (or their delegate), with proof."""
    require(actor, HANDOVER, "handing over an item")
    target = State.DELIVERED if delivered else State.PICKED_UP
    evidence: dict[str, object] = {"method": method, "collected_by": collected_by.strip()}
    if method == "signature":
        evidence["signature_sha256"] = _signature_hash(proof)
        if not collected_by.strip():
            raise ServiceError("write the name of the person who signed", "collected_by")
    elif method not in ("code", "qr"):
        raise ServiceError("method must be signature, code or qr", "method")
    elif method == "code" and not pickup.is_code_shaped(proof):
        # Not a try: nothing that could be a code was typed (letters, another script's digits).
        raise ServiceError(f"a pickup code is {pickup.CODE_DIGITS} digits (0-9)", "proof")
    # A higher app may refuse the hand-over (a planted test parcel never reaches anyone).
    duties.check(actor, Duty.HAND_OVER, item_uid=uid.strip().upper())
    with transaction.atomic():
        item = _locked_item(uid)
        holds.refuse_if_held(item)
        if target not in TRANSITIONS[State(item.state)]:
            raise IllegalTransition(item, target.value)
        if method == "qr" and pickup.qr_uid(proof) != item.uid:
            raise ServiceError("this QR code is not the pickup code for this item", "proof")
        if method == "code":
            if item.pickup_failures >= pickup.MAX_CODE_FAILURES:
                raise ServiceError(
                    "too many wrong codes for this item; use a signature or the QR", "proof"
                )
            if not pickup.code_matches(item.uid, proof):
                # The failure is counted and committed; the refusal is raised after the commit.
                item.pickup_failures += 1
                item.save(update_fields=["pickup_failures"])
                ledger.append(actor, "custody.pickup_code.rejected", "mailitem", uid, {})
                failed = item
            else:
                failed = None
        else:
            failed = None
        if failed is None:
            signature = str(evidence.get("signature_sha256", ""))
            if signature:
                # Kept on the row too, so retention finds an item's signature by an index
                # rather than by reading the ledger.
                item.signature_sha256 = signature
                item.save(update_fields=["signature_sha256"])
            return _apply(actor, item, target, item.location, f"handed over by {method}", evidence)
    left = max(0, pickup.MAX_CODE_FAILURES - failed.pickup_failures)
    raise ServiceError(f"wrong pickup code; {left} tries left for this item", "proof")


def two_person_quarantine_outcome(
    confirmer: Actor, uid: str, target: str, *, reason: str, proposed_by: str
) -> MailItem:
    """Apply a quarantine outcome that ``proposed_by`` proposed and ``confirmer`` confirmed.

    The screening workflow (:func:`mailwarden.screening.services.confirm_quarantine_outcome`)
    checks the two people, their roles and the time limit; here the item's custody record is
    written naming both.
    """
    require(confirmer, MANAGE_DIRECTORY, "confirming a quarantine outcome")
    if not proposed_by or proposed_by == confirmer.label:
        raise ServiceError("a quarantine outcome needs two different people", "proposed_by")
    if target not in QUARANTINE_EXITS:
        raise ServiceError(f"{target} is not a quarantine outcome", "state")
    state = State(target)
    if not reason.strip():
        raise ServiceError("a quarantine outcome needs a reason", "reason")
    with transaction.atomic():
        item = _locked_item(uid)
        if state not in TRANSITIONS[State(item.state)]:
            raise IllegalTransition(item, state.value)
        return _apply(
            confirmer,
            item,
            state,
            item.location,
            reason,
            {"proposed_by": proposed_by, "confirmed_by": confirmer.label},
        )


# ----------------------------------------------------------------------------- reminders

# Once per item each, while it still waits on the shelf: what the messages say, and when they are
# due, is in mailwarden.custody.notifications.
REMINDER_JOB = Actor.job("reminders")


def _locked_waiting_item(uid: str) -> MailItem | None:
    return (
        # Lock the item only: the manager is an outer join, which PostgreSQL will not lock.
        MailItem.objects.select_for_update(of=("self",))
        .select_related("recipient__manager")
        .filter(uid=uid, state=State.READY_FOR_PICKUP)
        .first()
    )


def record_reminder(actor: Actor, uid: str, *, now: datetime) -> bool:
    """Send the item's one reminder; False when it is not waiting or was reminded already."""
    with transaction.atomic():
        item = _locked_waiting_item(uid)
        if item is None or item.reminders_sent:
            return False
        item.reminders_sent += 1
        item.save(update_fields=["reminders_sent"])
        ledger.append(
            actor,
            "custody.reminder.sent",
            "mailitem",
            uid,
            {
                "recipient": item.recipient.employee_id,
                "waiting_since": item.state_changed_at.isoformat(),
            },
            at=now,
        )
        notify.queue(
            key=f"{notifications.REMINDER}:{uid}",
            kind=notifications.REMINDER,
            to_address=item.recipient.email,
            subject_ref=notifications.subject_ref(uid),
        )
    return True


def send_reminder(actor: Actor, uid: str) -> MailItem:
    """Remind the recipient now, at a clerk's or manager's word, of an item waiting for them.

    Unlike the automatic reminder this may be sent again; each one is its own message and its
    own ledger entry. The automatic reminder is not sent after a manual one.
    """
    require(actor, HANDOVER, "sending a pickup reminder")
    now = clock.now()
    with transaction.atomic():
        item = MailItem.objects.select_for_update(of=("self",)).filter(uid=uid).first()
        if item is None:
            raise NotFound(f"no item {uid}", "uid")
        if item.state != State.READY_FOR_PICKUP:
            raise ServiceError(
                f"{item.uid} is {State(item.state).label.lower()}; only an item waiting for "
                "pickup gets a reminder",
                "state",
            )
        recipient = Recipient.objects.filter(pk=item.recipient_id).values("email", "employee_id")[0]
        if not recipient["email"]:
            raise ServiceError(f"the recipient of {item.uid} has no email address", "recipient")
        item.reminders_sent += 1
        item.save(update_fields=["reminders_sent"])
        ledger.append(
            actor,
            "custody.reminder.sent",
            "mailitem",
            item.uid,
            {
                "recipient": recipient["employee_id"],
                "waiting_since": item.state_changed_at.isoformat(),
                "requested": True,
            },
            at=now,
        )
        notify.queue(
            # Keyed on the count: the first reminder keeps the automatic one's key, so the two
            # never both go out; each later one is a message of its own.
            key=f"{notifications.REMINDER}:{item.uid}"
            + (f":{item.reminders_sent}" if item.reminders_sent > 1 else ""),
            kind=notifications.REMINDER,
            to_address=recipient["email"],
            subject_ref=notifications.subject_ref(item.uid),
        )
    return item


def record_escalation(actor: Actor, uid: str, *, now: datetime) -> bool:
    """Tell the recipient's manager; False when not waiting, escalated already, or no manager."""
    with transaction.atomic():
        item = _locked_waiting_item(uid)
        if item is None or item.escalated_at is not None:
            return False
        manager = item.recipient.manager
        if manager is None or not manager.active:
            return False
        item.escalated_at = now
        item.save(update_fields=["escalated_at"])
        ledger.append(
            actor,
            "custody.item.escalated",
            "mailitem",
            uid,
            {
                "recipient": item.recipient.employee_id,
                "manager": manager.employee_id,
                "waiting_since": item.state_changed_at.isoformat(),
            },
            at=now,
        )
        notify.queue(
            key=f"{notifications.ESCALATION}:{uid}",
            kind=notifications.ESCALATION,
            to_address=manager.email,
            subject_ref=notifications.subject_ref(uid),
        )
    return True


@periodic("reminders")
def send_due_reminders(now: datetime | None = None) -> int:
    """Queue every reminder and escalation that is due; returns how many were queued."""
    now = now or clock.now()
    cfg = get_settings().notifications
    waiting = MailItem.objects.filter(state=State.READY_FOR_PICKUP)
    remind = waiting.filter(
        reminders_sent=0,
        state_changed_at__lte=now - timedelta(days=cfg.reminder_after_days),
    )
    escalate = waiting.filter(
        escalated_at__isnull=True,
        recipient__manager__isnull=False,
        recipient__manager__active=True,
        state_changed_at__lte=now - timedelta(days=cfg.escalate_after_days),
    )
    sent = sum(
        record_reminder(REMINDER_JOB, uid, now=now) for uid in remind.values_list("uid", flat=True)
    )
    sent += sum(
        record_escalation(REMINDER_JOB, uid, now=now)
        for uid in escalate.values_list("uid", flat=True)
    )
    return sent
