"""Console users and their roles (groups)."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractUser, Group, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from mailwarden.core import ledger
from mailwarden.core.actor import Actor
from mailwarden.core.errors import Conflict, ServiceError
from mailwarden.core.roles import Role


def ensure_role_groups() -> None:
    for role in Role:
        Group.objects.get_or_create(name=role.value)


def create_user(
    username: str,
    *,
    password: str,
    roles: Iterable[str],
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    check_password: bool = True,
    actor: Actor | None = None,
) -> AbstractUser:
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
        ensure_role_groups()
        user = User.objects.create_user(
            username, email=email, password=password, first_name=first_name, last_name=last_name
        )
        user.is_staff = Role.ADMIN in wanted
        user.is_superuser = Role.ADMIN in wanted
        user.save(update_fields=["is_staff", "is_superuser"])
        user.groups.set(Group.objects.filter(name__in=[r.value for r in wanted]))
        ledger.append(
            actor or Actor.job("users"),
            "core.user.created",
            "user",
            username,
            {"roles": sorted(r.value for r in wanted)},
        )
    return user
