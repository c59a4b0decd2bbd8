"""API tokens: who a presented bearer secret stands for.

A token's secret is shown once, when it is issued, and stored only as its SHA-256 hash. Issuing and
revoking tokens are services (:func:`mailwarden.core.services.issue_token`, ``revoke_token``).
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from django.contrib.auth import get_user_model

from mailwarden.core import clock
from mailwarden.core.actor import Actor
from mailwarden.core.models import ApiToken
from mailwarden.core.plainsql import first_where
from mailwarden.core.roles import Role, roles_of

TOKEN_PREFIX = "mw_"
LAST_USED_PRECISION = timedelta(minutes=1)


def secret_hash(secret: str) -> str:
    """What is stored of a token's secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def authenticate(secret: str) -> Actor | None:
    """The actor a presented bearer secret stands for, or None when it is unknown or spent."""
    parts = secret.split("_")
    if len(parts) < 3 or not secret.startswith(TOKEN_PREFIX):
        return None
    # Every API call asks this: plain lookups, not compiled ORM queries (core.plainsql).
    token = first_where(ApiToken, "prefix = %s", [parts[1]])
    if token is None or not hmac.compare_digest(token.secret_hash, secret_hash(secret)):
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
    if not token.user_id:
        return Actor("user", f"token-{token.prefix}", frozenset({role}))
    owner = first_where(get_user_model(), "id = %s", [token.user_id])
    if owner is None or not owner.is_active:
        return None
    # A person's token carries at most the roles the person holds now: taking a role away from
    # someone takes it from their tokens too.
    held = roles_of(owner)
    roles = frozenset({role}) if role in held or Role.ADMIN in held else frozenset()
    return Actor(
        "user",
        owner.get_username(),
        roles,
        owner.pk,
        delegated=token.issued_by_id != token.user_id,
    )
