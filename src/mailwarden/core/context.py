"""What every console page needs: the person's roles and the navigation they may use.

The menu is every installed app's declared entries (:mod:`mailwarden.core.plugins`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from mailwarden.core.plugins import nav_entries, nav_sections
from mailwarden.core.roles import Role, roles_of


def console(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    roles = roles_of(user) if user is not None else frozenset()
    match = getattr(request, "resolver_match", None)
    # The view name carries the app's namespace ("screening:queue"); without one it is the
    # plain URL name.
    current = match.view_name if match else None
    return {
        "mw_roles": {r.value for r in roles},
        "mw_role_titles": [r.title for r in Role if r in roles],
        "mw_nav": [item for item in nav_entries() if item.visible_to(roles)],
        "mw_section": nav_sections().get(current or "", current),
    }
