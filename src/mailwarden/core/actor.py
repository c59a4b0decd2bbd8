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
    # True for an API token acting for a person who did not issue it themselves (tokens issued
    # before tokens had to be their person's own). It acts for them but never counts as them in a
    # two-person rule.
    delegated: bool = False

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def person_id(self) -> int | None:
        """The person this actor counts as in a two-person rule: the signed-in user, or the
        person whose own token this is; None for a device, a job or someone else's token."""
        if self.kind != "user" or self.delegated:
            return None
        return self.user_id

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
