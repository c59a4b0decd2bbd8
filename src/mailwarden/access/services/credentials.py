"""Cardholders and their credentials (cards, PINs, both), and the installation's PIN salt."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from mailwarden.access import queries
from mailwarden.access.models import (
    CardFormat,
    Cardholder,
    Credential,
    CredentialKind,
    HolderKind,
    PinPolicy,
)
from mailwarden.access.services.common import (
    REVOKE_CREDENTIALS,
    authorise,
    bump_rules,
    check_aware,
    check_choice,
)
from mailwarden.contracts import events
from mailwarden.core import clock, ledger, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, ServiceError
from mailwarden.core.validation import check_text
from mailwarden.edge import wiegand
from mailwarden.edge.rules import pin_hash

MAX_RAW_BITS = 63  # a raw frame's value must fit the card column (a signed 64-bit integer)
PIN_DIGITS = (4, 12)


# ----------------------------------------------------------------------------- cardholders


def create_cardholder(
    actor: Actor,
    *,
    name: str = "",
    kind: str = HolderKind.STAFF,
    employee_id: str | None = None,
    user_id: int | None = None,
    company: str = "",
) -> Cardholder:
    """A person to issue credentials to, linked to the recipient with ``employee_id`` or the
    user with ``user_id`` when given; ``name`` defaults to the linked recipient's."""
    authorise(actor, "adding a cardholder")
    recipient = None if employee_id is None else queries.recipient_with_employee_id(employee_id)
    check_choice(kind, HolderKind, "kind")
    name = check_text(name, "name", max_length=150) or (recipient.display_name if recipient else "")
    if not name:
        raise ServiceError("a cardholder needs a name (or a linked recipient)", "name")
    company = check_text(company, "company", max_length=120)
    user = None
    if user_id is not None:
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None:
            raise ServiceError(f"no user with id {user_id}", "user")
    with transaction.atomic():
        holder = Cardholder.objects.create(
            name=name,
            kind=kind,
            recipient=recipient,
            user=user,
            company=company,
            created_at=clock.now(),
        )
        outbox.emit(events.CardholderCreated(cardholder=holder.pk, kind=kind))
        ledger.append(
            actor,
            "access.cardholder.created",
            "cardholder",
            str(holder.pk),
            {
                "kind": kind,
                "recipient": recipient.employee_id if recipient else None,
                "user": user.get_username() if user else None,
            },
        )
    return holder


def update_cardholder(
    actor: Actor, holder_id: int, *, name: str, kind: str, company: str = ""
) -> Cardholder:
    """Correct a cardholder's name, kind or company. Each change is on the ledger, old and new;
    credentials and links to the directory stay as they are."""
    authorise(actor, "changing a cardholder")
    found = queries.cardholder_with_id(holder_id)
    check_choice(kind, HolderKind, "kind")
    wanted = {
        "name": check_text(name, "name", max_length=150, required=True),
        "kind": kind,
        "company": check_text(company, "company", max_length=120),
    }
    with transaction.atomic():
        holder = Cardholder.objects.select_for_update().get(pk=found.pk)
        changed = {f: [getattr(holder, f), v] for f, v in wanted.items() if getattr(holder, f) != v}
        if not changed:
            return holder
        for field_name, (_, value) in changed.items():
            setattr(holder, field_name, value)
        holder.save(update_fields=list(changed))
        outbox.emit(events.CardholderUpdated(cardholder=holder.pk, fields=sorted(changed)))
        ledger.append(
            actor, "access.cardholder.updated", "cardholder", str(holder.pk), {"changed": changed}
        )
    return holder


# ----------------------------------------------------------------------------- credentials


@dataclass
class CredentialData:
    """A credential for the cardholder with ``holder_id``, opening the levels with ``level_ids``.

    A card is ``format`` + ``facility`` + ``card`` (``bit_length`` for raw), or ``bits`` as read
    by an enrolment reader ("0101..."); a PIN is ``pin``; card + PIN is both."""

    holder_id: int
    kind: str = CredentialKind.CARD
    format: str | None = None
    facility: int | None = None
    card: int | None = None
    bit_length: int | None = None
    bits: str | None = None
    pin: str | None = None
    level_ids: Sequence[int] = ()
    valid_from: datetime | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True)
class CardNumber:
    format: str
    facility: int | None
    card: int
    bit_length: int


def _int_or_none(value: Any, field_name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ServiceError("must be a whole number, 0 or more", field_name)
    return value


def parse_card(
    fmt: str | None,
    facility: int | None,
    card: int | None,
    bit_length: int | None = None,
    bits: str | None = None,
) -> CardNumber:
    """Check a card number against its Wiegand format with the edge's own encoder."""
    if bits:
        return _card_from_bits(bits, fmt)
    if not fmt:
        raise ServiceError("a card needs its format", "format")
    check_choice(fmt, CardFormat, "format")
    facility = _int_or_none(facility, "facility")
    card = _int_or_none(card, "card")
    bit_length = _int_or_none(bit_length, "bit_length")
    if card is None:
        raise ServiceError("a card needs its card number", "card")
    if fmt == CardFormat.RAW:
        if facility is not None:
            raise ServiceError("a raw card has no facility code", "facility")
        if bit_length is None or not 1 <= bit_length <= MAX_RAW_BITS:
            raise ServiceError(
                f"a raw card needs its length, 1 to {MAX_RAW_BITS} bits", "bit_length"
            )
        if card >= 1 << bit_length:
            raise ServiceError(f"does not fit in {bit_length} bits", "card")
        wiegand.encode(fmt, None, card, length=bit_length)
        return CardNumber(fmt, None, card, bit_length)
    layout = wiegand.LAYOUTS[wiegand.WiegandFormat(fmt)]
    if bit_length is not None and bit_length != layout.length:
        raise ServiceError(f"{fmt} cards have {layout.length} bits", "bit_length")
    if facility is None or facility > layout.facility.maximum:
        raise ServiceError(
            f"the facility code must be 0 to {layout.facility.maximum} for {fmt}", "facility"
        )
    if card > layout.card.maximum:
        raise ServiceError(f"the card number must be 0 to {layout.card.maximum} for {fmt}", "card")
    wiegand.encode(fmt, facility, card)
    return CardNumber(fmt, facility, card, layout.length)


def _card_from_bits(bits: str, fmt: str | None) -> CardNumber:
    bits = bits.strip()
    if not bits or set(bits) - {"0", "1"}:
        raise ServiceError("write the frame as 0s and 1s, first bit first", "bits")
    if fmt is not None:
        check_choice(fmt, CardFormat, "format")
    if fmt == CardFormat.RAW and len(bits) > MAX_RAW_BITS:
        raise ServiceError(f"a raw card is at most {MAX_RAW_BITS} bits", "bits")
    try:
        decoded = wiegand.decode(int(bits, 2), len(bits), format=fmt)
    except wiegand.WiegandError as exc:
        raise ServiceError(str(exc), "bits") from None
    return CardNumber(decoded.format.value, decoded.facility, decoded.card, len(bits))


PIN_ITERATIONS = 100_000


def ensure_pin_policy(actor: Actor) -> PinPolicy:
    """The installation's PIN salt, made (and recorded on the ledger) by its first user.

    Every PIN hash, here and at the edge, uses it; it never changes once made, because that
    would void every PIN issued.
    """
    with transaction.atomic():
        policy = PinPolicy.objects.filter(id=1).first()
        if policy is not None:
            return policy
        policy, created = PinPolicy.objects.get_or_create(
            id=1, defaults={"salt": secrets.token_hex(16), "iterations": PIN_ITERATIONS}
        )
        if created:
            # The salt goes to every controller, but the ledger has no need of it.
            ledger.append(
                actor,
                "access.pin_policy.created",
                "pin_policy",
                "1",
                {"iterations": policy.iterations},
            )
    return policy


def _check_pin(pin: str | None) -> str:
    low, high = PIN_DIGITS
    if pin is None or not pin.isascii() or not pin.isdigit() or not low <= len(pin) <= high:
        raise ServiceError(f"a PIN is {low} to {high} digits", "pin")
    return pin


def _pin_hash(actor: Actor, pin: str) -> str:
    policy = ensure_pin_policy(actor)
    return pin_hash(pin, policy.salt, policy.iterations)


def issue_credential(actor: Actor, data: CredentialData) -> Credential:
    """Issue a card, a PIN or both. Visitors' and contractors' credentials must expire."""
    authorise(actor, "issuing a credential")
    holder = queries.cardholder_with_id(data.holder_id)
    levels = queries.levels_with_ids(data.level_ids, "level_ids")
    check_choice(data.kind, CredentialKind, "kind")
    card = pin = None
    if data.kind in (CredentialKind.CARD, CredentialKind.CARD_AND_PIN):
        card = parse_card(data.format, data.facility, data.card, data.bit_length, data.bits)
    elif any(v is not None for v in (data.format, data.card, data.bits)):
        raise ServiceError("a PIN credential has no card; use kind card_pin for both", "kind")
    if data.kind in (CredentialKind.PIN, CredentialKind.CARD_AND_PIN):
        pin = _check_pin(data.pin)
    elif data.pin is not None:
        raise ServiceError("a card credential has no PIN; use kind card_pin for both", "pin")
    valid_from = check_aware(data.valid_from, "valid_from")
    valid_until = check_aware(data.valid_until, "valid_until")
    if valid_from and valid_until and valid_from >= valid_until:
        raise ServiceError("must be after valid_from", "valid_until")
    temporary = holder.kind != HolderKind.STAFF
    if temporary and valid_until is None:
        raise ServiceError(
            f"a {holder.get_kind_display().lower()}'s credential needs an end date", "valid_until"
        )
    with transaction.atomic():
        if pin is not None:
            # In the transaction: a refused credential leaves no PIN policy behind either.
            pin = _pin_hash(actor, pin)
        live = Credential.objects.filter(revoked_at__isnull=True)
        if (
            card is not None
            and live.filter(format=card.format, facility=card.facility, card=card.card).exists()
        ):
            raise Conflict("this card is already issued; revoke it first", "card")
        if data.kind == CredentialKind.PIN and live.filter(kind="pin", pin_hash=pin).exists():
            # Saying so tells the issuer that someone holds this PIN; a PIN that opens a door
            # on its own has to be unique, so the alternative is a PIN the door cannot place.
            raise Conflict("this PIN is taken; choose another", "pin")
        credential = Credential.objects.create(
            holder=holder,
            kind=data.kind,
            format=card.format if card else "",
            facility=card.facility if card else None,
            card=card.card if card else None,
            bit_length=card.bit_length if card else None,
            pin_hash=pin or "",
            valid_from=valid_from,
            valid_until=valid_until,
            temporary=temporary,
            issued_at=clock.now(),
        )
        credential.levels.set(levels)
        sites = {lv.site for lv in levels}
        for site in sorted(sites, key=lambda s: s.pk):
            bump_rules(site)
        issued = events.CredentialIssued(
            credential=credential.pk,
            holder=holder.pk,
            kind=data.kind,
            card=f"{card.format} {card.facility}/{card.card}" if card else None,
            levels=sorted(lv.pk for lv in levels),
            valid_until=valid_until,
        )
        outbox.emit(issued)
        ledger.append(
            actor,
            "access.credential.issued",
            "credential",
            str(credential.pk),
            {
                "holder": holder.pk,
                "kind": data.kind,
                "card": issued.card,
                "levels": issued.levels,
                "valid_until": valid_until.isoformat() if valid_until else None,
            },
        )
    return credential


def set_credential_levels(actor: Actor, credential_id: int, level_ids: Sequence[int]) -> Credential:
    """From now on the credential opens what the levels with ``level_ids`` open, and no more."""
    authorise(actor, "changing a credential's access levels")
    found = queries.credential_with_id(credential_id)
    levels = queries.levels_with_ids(level_ids, "level_ids")
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=found.pk)
        if credential.revoked_at is not None:
            raise Conflict("this credential is revoked", "credential")
        before = set(credential.levels.all())
        credential.levels.set(levels)
        for site in sorted({lv.site for lv in before | set(levels)}, key=lambda s: s.pk):
            bump_rules(site)
        ids = sorted(lv.pk for lv in levels)
        outbox.emit(events.CredentialLevelsChanged(credential=credential.pk, levels=ids))
        ledger.append(
            actor,
            "access.credential.levels_changed",
            "credential",
            str(credential.pk),
            {"levels": ids},
        )
    return credential


def revoke_credential(actor: Actor, credential_id: int, *, reason: str) -> Credential:
    authorise(actor, "revoking a credential", REVOKE_CREDENTIALS)
    found = queries.credential_with_id(credential_id)
    reason = check_text(reason, "reason", max_length=200, required=True)
    with transaction.atomic():
        credential = Credential.objects.select_for_update().get(pk=found.pk)
        if credential.revoked_at is not None:
            raise Conflict("this credential is revoked already", "credential")
        credential.revoked_at = clock.now()
        credential.revoked_reason = reason
        credential.save(update_fields=["revoked_at", "revoked_reason"])
        for site in sorted({lv.site for lv in credential.levels.all()}, key=lambda s: s.pk):
            bump_rules(site)
        outbox.emit(events.CredentialRevoked(credential=credential.pk, reason=reason))
        ledger.append(
            actor, "access.credential.revoked", "credential", str(credential.pk), {"reason": reason}
        )
    return credential
