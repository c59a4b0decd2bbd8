from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mailwarden.core.roles import roles_of


def console(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    roles = roles_of(user) if user is not None else frozenset()
    return {"mw_roles": {r.value for r in roles}}
