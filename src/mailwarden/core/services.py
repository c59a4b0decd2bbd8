"""Changes to shared machinery: console users, API tokens, the two-factor policy and each
person's TOTP device.

Like every other change (docs/architecture.md, rule 1), each is one function that takes the actor,
checks it, writes and appends to the ledger in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import AbstractUser, Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, NotFound, ServiceError
from mailwarden.core.models import ApiToken, RolePolicy
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_SECURITY, MANAGE_TOKENS, Role
from mailwarden.core.tokens import TOKEN_PREFIX, secret_hash


def _role(name: str) -> Role:
    try:
        return Role(name)
    except ValueError:
        raise ServiceError(
            f"unknown role {name!r}; roles are {', '.join(r.value for r in Role)}", "role"
        ) from None


# ----------------------------------------------------------------------------- users


def _ensure_role_groups() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def create_user(
    actor: Actor,
    username: str,
    *,
    password: str,
    roles: Iterable[str],
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    check_password: bool = True,
) -> AbstractUser:
    """A console user holding ``roles`` (each role is a group); administrators are staff."""
    wanted = []
    for name in roles:
        try:
            wanted.append(Role(name))
        except ValueError:
            raise ServiceError(
                f"unknown role {name!r}; roles are {', '.join(r.value for r in Role)}", "role"
            ) from None
    if check_password:
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            raise ServiceError(" ".join(exc.messages), "password") from None
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"user {username!r} exists already", "username")
        _ensure_role_groups()
        user = User.objects.create_user(
            username, email=email, password=password, first_name=first_name, last_name=last_name
        )
        user.is_staff = Role.ADMIN in wanted
        user.is_superuser = Role.ADMIN in wanted
        user.save(update_fields=["is_staff", "is_superuser"])
        user.groups.set(Group.objects.filter(name__in=[r.value for r in wanted]))
        ledger.append(
            actor, "core.user.created", "user", username, {"roles": sorted(r.value for r in wanted)}
        )
    return user


# ----------------------------------------------------------------------------- API tokens


@dataclass(frozen=True)
class IssuedToken:
    """A new token and its secret, which is shown this once and never stored."""

    token: ApiToken
    secret: str


def issue_token(
    actor: Actor,
    *,
    name: str,
    role: str,
    device: str = "",
    user_id: int | None = None,
    expires_at: datetime | None = None,
) -> IssuedToken:
    require(actor, MANAGE_TOKENS, "issuing API tokens")
    if not name.strip():
        raise ServiceError("a token needs a name", "name")
    try:
        token_role = Role(role)
    except ValueError:
        raise ServiceError(
            f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}", "role"
        ) from None
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name.strip(),
            prefix=prefix,
            secret_hash=secret_hash(secret),
            role=token_role.value,
            device=device,
            user_id=user_id,
            created_at=clock.now(),
            expires_at=expires_at,
        )
        ledger.append(
            actor,
            "core.token.issued",
            "token",
            prefix,
            {"name": token.name, "role": token.role, "device": device},
        )
    return IssuedToken(token, secret)


def revoke_token(actor: Actor, prefix: str) -> ApiToken:
    require(actor, MANAGE_TOKENS, "revoking API tokens")
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(prefix=prefix).first()
        if token is None:
            raise NotFound(f"no token with prefix {prefix}", "prefix")
        if token.revoked_at is None:
            token.revoked_at = clock.now()
            token.save(update_fields=["revoked_at"])
            ledger.append(actor, "core.token.revoked", "token", prefix, {"name": token.name})
    return token


def revoke_device_tokens(actor: Actor, device: str) -> list[str]:
    """Revoke every live token issued to ``device``; returns their prefixes."""
    require(actor, MANAGE_TOKENS, "revoking API tokens")
    live = ApiToken.objects.filter(device=device, revoked_at__isnull=True)
    prefixes = sorted(live.values_list("prefix", flat=True))
    for prefix in prefixes:
        revoke_token(actor, prefix)
    return prefixes


# ----------------------------------------------------------------------------- two-factor


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


def _own_account(actor: Actor) -> int:
    """Two-factor devices are a person's own: the actor's user account."""
    if actor.kind != "user" or actor.user_id is None:
        raise ServiceError("two-factor sign-in is for a person's own account", None)
    return actor.user_id


def verify_totp(actor: Actor, token: str) -> TOTPDevice:
    """The actor's device that accepts ``token``: the second step of signing in."""
    devices = list(TOTPDevice.objects.filter(user_id=_own_account(actor), confirmed=True))
    if not devices:
        raise NotFound("there is no two-factor device for this account", "token")
    if all(_throttled(device) for device in devices):
        raise ServiceError(_WAIT, "token")
    for device in devices:
        if device.verify_token(token):
            return device
    raise ServiceError("that code is not right; use the newest code your app shows", "token")


def start_totp_enrolment(actor: Actor) -> TOTPDevice:
    """The actor's unconfirmed device, made on first use so the QR stays the same on reload.

    Nothing is recorded until the device is confirmed (:func:`confirm_totp_enrolment`).
    """
    user_id = _own_account(actor)
    device = TOTPDevice.objects.filter(user_id=user_id, confirmed=False).order_by("-id").first()
    if device is None:
        device = TOTPDevice.objects.create(
            user_id=user_id, name="Authenticator app", confirmed=False
        )
    return device


def confirm_totp_enrolment(actor: Actor, token: str) -> TOTPDevice:
    """Confirm the actor's pending device with a code from the app; any older device is
    replaced."""
    user_id = _own_account(actor)
    token = token.strip().replace(" ", "")
    if not (token.isdigit() and len(token) == 6):
        raise ServiceError("enter the 6-digit code your app shows", "token")
    device = TOTPDevice.objects.filter(user_id=user_id, confirmed=False).order_by("-id").first()
    if device is None:
        raise NotFound("there is no two-factor set-up in progress; start again", "token")
    if _throttled(device):
        raise ServiceError(_WAIT, "token")
    # Outside the transaction: a wrong code must still count towards django-otp's throttling.
    if not device.verify_token(token):
        raise ServiceError("that code is not right; check the time on your phone", "token")
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user_id, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        ledger.append(actor, "core.user.mfa_enrolled", "user", str(user_id), {"device": device.pk})
    return device
