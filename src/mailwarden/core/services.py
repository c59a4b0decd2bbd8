"""Changes to shared machinery: console users, API tokens, the two-factor policy and each
person's TOTP device.

Like every other change (docs/architecture.md, rule 1), each is one function that takes the actor,
checks it, writes and appends to the ledger in one transaction.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.contrib.auth.models import AbstractUser, Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, Forbidden, NotFound, ServiceError
from mailwarden.core.models import ApiToken, RolePolicy
from mailwarden.core.permissions import require
from mailwarden.core.roles import MANAGE_PEOPLE, MANAGE_SECURITY, MANAGE_TOKENS, Role
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


def _roles(names: Iterable[str]) -> list[Role]:
    wanted: list[Role] = []
    for name in names:
        role = _role(name)
        if role not in wanted:
            wanted.append(role)
    return wanted


def _set_roles(user: User, roles: Iterable[Role]) -> None:
    """Roles are groups; administrators are also Django's staff and superusers."""
    wanted = set(roles)
    _ensure_role_groups()
    user.is_staff = Role.ADMIN in wanted
    user.is_superuser = Role.ADMIN in wanted
    user.save(update_fields=["is_staff", "is_superuser"])
    user.groups.set(Group.objects.filter(name__in=[r.value for r in wanted]))
    # roles_of caches a user's roles on the object; this one's have just changed.
    user.__dict__.pop("_mw_roles", None)


def held_roles(user: AbstractUser) -> frozenset[Role]:
    """The roles ``user`` holds now, read from the database (never a cached copy)."""
    names = set(user.groups.values_list("name", flat=True))
    roles = frozenset(r for r in Role if r.value in names)
    return roles | {Role.ADMIN} if user.is_superuser else roles


def _user(username: str, *, lock: bool = False) -> User:
    query = User.objects.select_for_update() if lock else User.objects
    user = query.filter(username=username).first()
    if user is None:
        raise NotFound(f"no user {username!r}", "username")
    return user


def _keep_an_admin(user: User, losing: bool) -> None:
    """Refuse the change that would leave no active administrator to run the system."""
    if not losing or not user.is_superuser or not user.is_active:
        return
    others = User.objects.filter(is_superuser=True, is_active=True).exclude(pk=user.pk)
    if not others.exists():
        raise Conflict(f"{user.username} is the last active administrator", "username")


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
    require(actor, MANAGE_PEOPLE, "creating users")
    username = username.strip()
    if not username:
        raise ServiceError("a user needs a username", "username")
    wanted = _roles(roles)
    if check_password:
        try:
            validate_password(password, User(username=username, email=email))
        except ValidationError as exc:
            raise ServiceError(" ".join(exc.messages), "password") from None
    with transaction.atomic():
        if User.objects.filter(username=username).exists():
            raise Conflict(f"user {username!r} exists already", "username")
        user = User.objects.create_user(
            username, email=email, password=password, first_name=first_name, last_name=last_name
        )
        _set_roles(user, wanted)
        ledger.append(
            actor,
            "core.user.created",
            "user",
            username,
            {
                "roles": sorted(r.value for r in wanted),
                "email": email,
                "first_name": first_name,
                "last_name": last_name,
            },
        )
    return user


def update_user(
    actor: Actor, username: str, *, email: str, first_name: str, last_name: str
) -> User:
    """Change a person's name and email address; only real changes are recorded."""
    require(actor, MANAGE_PEOPLE, "changing users")
    wanted = {"email": email.strip(), "first_name": first_name.strip(), "last_name": last_name}
    wanted["last_name"] = wanted["last_name"].strip()
    with transaction.atomic():
        user = _user(username, lock=True)
        changes = {
            name: {"was": getattr(user, name), "now": value}
            for name, value in wanted.items()
            if getattr(user, name) != value
        }
        if changes:
            for name, value in wanted.items():
                setattr(user, name, value)
            user.save(update_fields=list(wanted))
            ledger.append(actor, "core.user.updated", "user", user.username, changes)
    return user


def set_user_roles(actor: Actor, username: str, roles: Iterable[str]) -> User:
    """Give a person exactly ``roles``. Their live tokens whose role they no longer hold are
    revoked, each on the ledger; an unchanged set records nothing."""
    require(actor, MANAGE_PEOPLE, "changing roles")
    wanted = _roles(roles)
    with transaction.atomic():
        user = _user(username, lock=True)
        before = held_roles(user)
        if set(wanted) == set(before):
            return user
        _keep_an_admin(user, Role.ADMIN in before and Role.ADMIN not in wanted)
        _set_roles(user, wanted)
        revoked: list[str] = []
        if Role.ADMIN not in wanted:
            stale = ApiToken.objects.filter(user=user, revoked_at__isnull=True).exclude(
                role__in=[r.value for r in wanted]
            )
            revoked = sorted(stale.values_list("prefix", flat=True))
        ledger.append(
            actor,
            "core.user.roles_changed",
            "user",
            user.username,
            {
                "roles": sorted(r.value for r in wanted),
                "was": sorted(r.value for r in before),
                "tokens_revoked": revoked,
            },
        )
        for prefix in revoked:
            _revoke(actor, prefix, f"{user.username} no longer holds the token's role")
    return user


def deactivate_user(actor: Actor, username: str, reason: str = "") -> User:
    """What deleting a person means here: they can no longer sign in and every live token that
    acts for them is revoked (each on the ledger). Their account, their tokens and everything the
    ledger says they did stay."""
    require(actor, MANAGE_PEOPLE, "deactivating users")
    with transaction.atomic():
        user = _user(username, lock=True)
        if user.pk == actor.user_id:
            raise Forbidden("you cannot deactivate yourself; ask another administrator", "username")
        if not user.is_active:
            raise Conflict(f"{user.username} is deactivated already", "username")
        _keep_an_admin(user, True)
        user.is_active = False
        user.save(update_fields=["is_active"])
        live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
        revoked = sorted(live.values_list("prefix", flat=True))
        ledger.append(
            actor,
            "core.user.deactivated",
            "user",
            user.username,
            {"reason": reason.strip(), "tokens_revoked": revoked},
        )
        for prefix in revoked:
            _revoke(actor, prefix, f"{user.username} was deactivated")
    return user


def reactivate_user(actor: Actor, username: str) -> User:
    """Let a deactivated person sign in again; their revoked tokens stay revoked."""
    require(actor, MANAGE_PEOPLE, "reactivating users")
    with transaction.atomic():
        user = _user(username, lock=True)
        if user.is_active:
            raise Conflict(f"{user.username} is active already", "username")
        user.is_active = True
        user.save(update_fields=["is_active"])
        ledger.append(actor, "core.user.reactivated", "user", user.username, {})
    return user


def failed_sign_ins(username: str) -> int:
    """Failed sign-ins django-axes holds against ``username`` (what a lockout counts)."""
    total = AccessAttempt.objects.filter(username=username).aggregate(n=Sum("failures_since_start"))
    return int(total["n"] or 0)


def clear_lockout(actor: Actor, username: str) -> int:
    """Forget a person's failed sign-ins, so a locked-out person can sign in again; returns how
    many django-axes records were cleared."""
    require(actor, MANAGE_PEOPLE, "clearing sign-in lockouts")
    with transaction.atomic():
        user = _user(username, lock=True)
        failures = failed_sign_ins(user.username)
        if failures == 0:
            raise Conflict(f"{user.username} has no failed sign-ins to clear", "username")
        records = axes_reset(username=user.username)
        ledger.append(
            actor,
            "core.user.lockout_cleared",
            "user",
            user.username,
            {"failures": failures, "records": records},
        )
    return records


def reset_mfa(actor: Actor, username: str) -> int:
    """Remove a person's two-factor devices, for a lost phone: they enrol a new one at their
    next sign-in if their role needs it. Returns how many devices were removed."""
    require(actor, MANAGE_PEOPLE, "resetting two-factor sign-in")
    with transaction.atomic():
        user = _user(username, lock=True)
        if user.pk == actor.user_id:
            raise Forbidden(
                "you cannot reset your own two-factor sign-in; ask another administrator",
                "username",
            )
        devices = [*TOTPDevice.objects.filter(user=user), *StaticDevice.objects.filter(user=user)]
        if not devices:
            raise Conflict(f"{user.username} has no two-factor device", "username")
        for device in devices:
            device.delete()
        ledger.append(
            actor,
            "core.user.mfa_reset",
            "user",
            user.username,
            {"devices": len(devices)},
        )
    return len(devices)


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
    """A token for a device (administrators only) or one that acts for a person.

    A token that acts for a person is issued by that person and nobody else: signed in, or with
    a token of their own. Its role is one the person holds. So its secret is only ever shown to
    the person it acts for, and one person's tokens are always that one person
    (core.permissions.require_person); an administrator cannot mint a second person.
    """
    person: User | None = None
    if user_id is None:
        require(actor, MANAGE_TOKENS, "issuing API tokens")
    if not name.strip():
        raise ServiceError("a token needs a name", "name")
    try:
        token_role = Role(role)
    except ValueError:
        raise ServiceError(
            f"unknown role {role!r}; choose one of {', '.join(r.value for r in Role)}", "role"
        ) from None
    if user_id is not None:
        if device:
            raise ServiceError("a token acts for a device or for a person, not both", "device")
        person = User.objects.filter(pk=user_id).first()
        if person is None or not person.is_active:
            raise NotFound(f"no active user with id {user_id}", "username")
        held = held_roles(person)
        if token_role not in held and Role.ADMIN not in held:
            raise Forbidden(
                f"{person.username} does not hold the role {token_role.value}; a token carries "
                "at most its person's roles",
                "role",
            )
        if actor.person_id != person.pk:
            raise Forbidden(
                f"only {person.username} can issue a token that acts for them: they sign in and "
                "issue it themselves",
                "username",
            )
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name.strip(),
            prefix=prefix,
            secret_hash=secret_hash(secret),
            role=token_role.value,
            device=device,
            user=person,
            issued_by_id=actor.person_id,
            created_at=clock.now(),
            expires_at=expires_at,
        )
        ledger.append(
            actor,
            "core.token.issued",
            "token",
            prefix,
            {
                "name": token.name,
                "role": token.role,
                "device": device,
                "acts_for": person.username if person else None,
                "issued_by": actor.label,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return IssuedToken(token, secret)


def _revoke(actor: Actor, prefix: str, reason: str = "") -> ApiToken:
    token = ApiToken.objects.select_for_update().filter(prefix=prefix).first()
    if token is None:
        raise NotFound(f"no token with prefix {prefix}", "prefix")
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        token.save(update_fields=["revoked_at"])
        data = {"name": token.name, "reason": reason} if reason else {"name": token.name}
        ledger.append(actor, "core.token.revoked", "token", prefix, data)
    return token


def revoke_token(actor: Actor, prefix: str) -> ApiToken:
    """Revoke a token: administrators any, a person their own."""
    with transaction.atomic():
        token = ApiToken.objects.select_for_update().filter(prefix=prefix).first()
        own = token is not None and token.user_id is not None and token.user_id == actor.person_id
        if not own:
            require(actor, MANAGE_TOKENS, "revoking API tokens")
        return _revoke(actor, prefix)


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
# A person who mistypes a code or catches it as it changes tries again at once: the first
# wrong codes cost nothing, after that each one doubles the wait. django-otp's own delay (from
# the first wrong code) is switched off in the settings, as it refused the right code next.
FREE_TRIES = 3
MAX_WAIT_S = 300


def _throttled(device: TOTPDevice) -> bool:
    failures = device.throttling_failure_count
    last = device.throttling_failure_timestamp
    if failures < FREE_TRIES or last is None:
        return False
    wait = min(2 ** (failures - FREE_TRIES), MAX_WAIT_S)
    return clock.now() < last + timedelta(seconds=wait)


def _verify(device: TOTPDevice, token: str) -> bool:
    if device.verify_token(token):
        return True
    # django-otp stamps the failure with the wall clock; the wait is measured on the injected one.
    device.throttling_failure_timestamp = clock.now()
    device.save(update_fields=["throttling_failure_timestamp"])
    return False


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
        if not _throttled(device) and _verify(device, token):
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
    if not _verify(device, token):
        raise ServiceError("that code is not right; check the time on your phone", "token")
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user_id, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        ledger.append(actor, "core.user.mfa_enrolled", "user", str(user_id), {"device": device.pk})
    return device
