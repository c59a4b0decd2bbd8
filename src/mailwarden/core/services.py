"""Changes to shared security settings: the two-factor policy and each person's TOTP device.

Like every other change (DESIGN rule 1), each is one function that checks the actor, writes and
appends to the ledger in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.models import RolePolicy
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_SECURITY, Role


def _role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        raise ServiceError(
            f"unknown role {name!r}; roles are {', '.join(r.value for r in Role)}", "role"
        ) from None


def mfa_policy() -> dict[Role, bool]:
    """Whether each role needs two-factor sign-in: a stored policy wins over the config default."""
    defaults = set(get_settings().security.mfa_required_roles)
    stored = dict(RolePolicy.objects.values_list("role", "mfa_required"))
    return {role: stored.get(role.value, role.value in defaults) for role in Role}


def mfa_required_for(roles: frozenset[Role]) -> bool:
    if not roles:
        return False
    policy = mfa_policy()
    return any(policy[role] for role in roles)


def set_mfa_required(actor: Actor, role: str, required: bool) -> RolePolicy:
    require(actor, MANAGE_SECURITY, "changing the two-factor policy")
    target = _role(role)
    with transaction.atomic():
        policy, _ = RolePolicy.objects.select_for_update().get_or_create(role=target.value)
        before = policy.mfa_required
        policy.mfa_required = required
        policy.updated_at = clock.now()
        policy.updated_by = actor.label
        policy.save(update_fields=["mfa_required", "updated_at", "updated_by"])
        ledger.append(
            actor,
            "core.mfa_policy.changed",
            "role",
            target.value,
            {"mfa_required": required, "was": before},
        )
    return policy


def set_mfa_policy(actor: Actor, wanted: Mapping[str, bool]) -> dict[Role, bool]:
    """Apply several roles' two-factor settings at once: all of them, or none when one is refused.

    Only real changes are recorded, so saving an unchanged form adds nothing to the ledger.
    """
    require(actor, MANAGE_SECURITY, "changing the two-factor policy")
    with transaction.atomic():
        current = mfa_policy()
        for name, required in wanted.items():
            if current[_role(name)] != required:
                set_mfa_required(actor, name, required)
    return mfa_policy()


_WAIT = "too many wrong codes; wait a few seconds, then enter the newest code"


def _throttled(device: TOTPDevice) -> bool:
    allowed, _ = device.verify_is_allowed()
    return not allowed


def verify_totp(user: AbstractBaseUser, token: str) -> TOTPDevice:
    """The person's device that accepts ``token``: the second step of signing in."""
    devices = list(TOTPDevice.objects.filter(user=user, confirmed=True))
    if not devices:
        raise NotFound("there is no two-factor device for this account", "token")
    if all(_throttled(device) for device in devices):
        raise ServiceError(_WAIT, "token")
    for device in devices:
        if device.verify_token(token):
            return device
    raise ServiceError("that code is not right; use the newest code your app shows", "token")


def start_totp_enrolment(user: AbstractBaseUser) -> TOTPDevice:
    """The person's unconfirmed device, made on first use so the QR stays the same on reload."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    return device


def confirm_totp_enrolment(actor: Actor, user: AbstractBaseUser, token: str) -> TOTPDevice:
    """Confirm the pending device with a code from the app; any older device is replaced."""
    token = token.strip().replace(" ", "")
    if not (token.isdigit() and len(token) == 6):
        raise ServiceError("enter the 6-digit code your app shows", "token")
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()
    if device is None:
        raise NotFound("there is no two-factor set-up in progress; start again", "token")
    if _throttled(device):
        raise ServiceError(_WAIT, "token")
    # Outside the transaction: a wrong code must still count towards django-otp's throttling.
    if not device.verify_token(token):
        raise ServiceError("that code is not right; check the time on your phone", "token")
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        ledger.append(actor, "core.user.mfa_enrolled", "user", str(user.pk), {"device": device.pk})
    return device
