"""API tokens: shown once at creation, stored as a SHA-256 hash, revocable."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction

from mailwarden.core import clock, ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import NotFound, ServiceError
from mailwarden.core.models import ApiToken
from mailwarden.core.permissions import require
from mailwarden.core.plainsql import first_where
from mailwarden.core.roles import MANAGE_TOKENS, Role

TOKEN_PREFIX = "mw_"
LAST_USED_PRECISION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    secret: str


def issue(
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
            secret_hash=_hash(secret),
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


def revoke(actor: Actor, prefix: str) -> ApiToken:
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


def revoke_device(actor: Actor, device: str) -> list[str]:
    """Revoke every live token issued to ``device``; returns their prefixes."""
    require(actor, MANAGE_TOKENS, "revoking API tokens")
    live = ApiToken.objects.filter(device=device, revoked_at__isnull=True)
    prefixes = sorted(live.values_list("prefix", flat=True))
    for prefix in prefixes:
        revoke(actor, prefix)
    return prefixes


def authenticate(secret: str) -> Actor | None:
    """The actor a presented bearer secret stands for, or None when it is unknown or spent."""
    parts = secret.split("_")
    if len(parts) < 3 or not secret.startswith(TOKEN_PREFIX):
        return None
    # Every API call asks this: plain lookups, not compiled ORM queries (core.plainsql).
    token = first_where(ApiToken, "prefix = %s", [parts[1]])
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        return None
    now = clock.now()
    if token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
        return None
    # Recording every use would add a write to every API call; a minute's precision is enough.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_PRECISION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    role = Role(token.role)
    if token.device:
        return Actor.device(token.device, role)
    owner = first_where(get_user_model(), "id = %s", [token.user_id]) if token.user_id else None
    name = owner.get_username() if owner else f"token-{token.prefix}"
    return Actor("user", name, frozenset({role}), token.user_id)
