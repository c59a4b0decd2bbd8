"""Roles are Django groups with fixed names; these are the only ones the code checks."""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser


class Role(StrEnum):
    ADMIN = "admin"
    SECURITY_MANAGER = "security_manager"
    SECURITY_OPERATOR = "security_operator"
    SCREENER = "screener"
    CLERK = "clerk"
    AUDITOR = "auditor"
    RECIPIENT = "recipient"

    @property
    def title(self) -> str:  # type: ignore[override]
        return ROLE_TITLES[self]


ROLE_TITLES = {
    Role.ADMIN: "Administrator",
    Role.SECURITY_MANAGER: "Security manager",
    Role.SECURITY_OPERATOR: "Security operator",
    Role.SCREENER: "Screener",
    Role.CLERK: "Mailroom clerk",
    Role.AUDITOR: "Auditor",
    Role.RECIPIENT: "Recipient",
}

STAFF = frozenset(
    {
        Role.SECURITY_MANAGER,
        Role.SECURITY_OPERATOR,
        Role.SCREENER,
        Role.CLERK,
        Role.AUDITOR,
    }
)

# What each capability needs. Admin passes every check (see Actor.has).
VIEW_ITEMS = (*STAFF,)
INTAKE = (Role.CLERK, Role.SECURITY_MANAGER)
SCREEN = (Role.SCREENER, Role.SECURITY_MANAGER)
HANDOVER = (Role.CLERK, Role.SECURITY_MANAGER)
MANAGE_DIRECTORY = (Role.SECURITY_MANAGER,)
AUDIT = (Role.AUDITOR, Role.SECURITY_MANAGER)
MANAGE_SECURITY = (Role.SECURITY_MANAGER,)
MANAGE_TOKENS: tuple[Role, ...] = ()
# People and their roles, lockouts and two-factor devices: administrators only.
MANAGE_PEOPLE: tuple[Role, ...] = ()


def roles_of(user: AbstractUser | AnonymousUser) -> frozenset[Role]:
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_mw_roles", None)
    if cached is not None:
        return cached
    names = set(user.groups.values_list("name", flat=True))
    roles = frozenset(r for r in Role if r.value in names)
    if getattr(user, "is_superuser", False):
        roles = roles | {Role.ADMIN}
    # Kept on the user object, which lives for one request, so its roles are read once.
    user._mw_roles = roles  # type: ignore[attr-defined]
    return roles
