"""Read-side queries of shared machinery: people, their roles, lockouts, two-factor devices and
tokens, for the console's People and API tokens pages and the API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.db.models import Count, Q, Sum
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailwarden.config import get_settings
from mailwarden.core.errors import NotFound
from mailwarden.core.models import ApiToken
from mailwarden.core.roles import Role


@dataclass(frozen=True)
class PersonRow:
    username: str
    first_name: str
    last_name: str
    email: str
    roles: list[Role]
    is_active: bool
    date_joined: datetime
    last_login: datetime | None
    mfa_enrolled: bool
    failed_sign_ins: int
    locked_out: bool
    live_tokens: int

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _rows(users: Iterable[User]) -> list[PersonRow]:
    users = list(users)
    names = [u.username for u in users]
    failures = dict(
        AccessAttempt.objects.filter(username__in=names)
        .values("username")
        .annotate(n=Sum("failures_since_start"))
        .values_list("username", "n")
    )
    enrolled = set(
        TOTPDevice.objects.filter(user__in=users, confirmed=True).values_list("user_id", flat=True)
    )
    limit = get_settings().security.login_failure_limit
    rows = []
    for user in users:
        groups = {g.name for g in user.groups.all()}
        roles = [r for r in Role if r.value in groups or (r == Role.ADMIN and user.is_superuser)]
        failed = int(failures.get(user.username) or 0)
        rows.append(
            PersonRow(
                username=user.username,
                first_name=user.first_name,
                last_name=user.last_name,
                email=user.email,
                roles=roles,
                is_active=user.is_active,
                date_joined=user.date_joined,
                last_login=user.last_login,
                mfa_enrolled=user.pk in enrolled,
                failed_sign_ins=failed,
                locked_out=failed >= limit,
                live_tokens=getattr(user, "live_tokens", 0),
            )
        )
    return rows


def _users() -> Any:
    live = Count("apitoken", filter=Q(apitoken__revoked_at__isnull=True))
    return User.objects.prefetch_related("groups").annotate(live_tokens=live)


def people(*, include_inactive: bool = True) -> list[PersonRow]:
    """Everyone who can sign in (and, unless asked not to, those deactivated), by username."""
    users = _users().order_by("username")
    if not include_inactive:
        users = users.filter(is_active=True)
    return _rows(users)


def person(username: str) -> PersonRow:
    user = _users().filter(username=username).first()
    if user is None:
        raise NotFound(f"no user {username!r}", "username")
    return _rows([user])[0]


def tokens(*, include_revoked: bool = True, acting_for: str | None = None) -> list[ApiToken]:
    """API tokens, newest first, with the person each acts for and who issued it; only those
    that act for the person ``acting_for`` when it is given."""
    query = ApiToken.objects.select_related("user", "issued_by").order_by("-created_at", "-id")
    if acting_for is not None:
        query = query.filter(user__username=acting_for)
    if not include_revoked:
        query = query.filter(revoked_at__isnull=True)
    return list(query)
