"""Who is acting: a person, a device token or a background job."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mailwarden.core.roles import Role, roles_of

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractUser, AnonymousUser


@dataclass(frozen=True)
class Actor:
    kind: Literal["user", "device", "job"]
    name: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    user_id: int | None = None

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    def has(self, *wanted: Role) -> bool:
        return Role.ADMIN in self.roles or any(r in self.roles for r in wanted)

    @classmethod
    def for_user(cls, user: AbstractUser | AnonymousUser) -> Actor:
        return cls("user", user.get_username(), roles_of(user), user.pk)

    @classmethod
    def job(cls, name: str) -> Actor:
        return cls("job", name, frozenset({Role.ADMIN}))

    @classmethod
    def device(cls, name: str, role: Role) -> Actor:
        return cls("device", name, frozenset({role}))
