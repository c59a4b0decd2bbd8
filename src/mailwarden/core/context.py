"""What every console page needs: the person's roles and the navigation they may use."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from mailwarden.access.services import VIEW_ACCESS
from mailwarden.core.roles import (
    HANDOVER,
    INTAKE,
    MANAGE_SECURITY,
    SCREEN,
    VIEW_ITEMS,
    Role,
    roles_of,
)

# Screening pages are for the people who screen; auditors read them, and the policy is the
# security manager's (the views check the same roles).
SCREENING_READ = (*SCREEN, Role.AUDITOR)
SCREENING_POLICY_READ = (Role.SECURITY_MANAGER, Role.AUDITOR)


@dataclass(frozen=True)
class NavItem:
    url_name: str
    label: str
    icon: str
    roles: tuple[Role, ...]
    # Admin passes every role check, but "My mail" only means something to a recipient.
    admin_too: bool = True

    def visible_to(self, roles: frozenset[Role]) -> bool:
        if self.admin_too and Role.ADMIN in roles:
            return True
        return any(r in roles for r in self.roles)


NAV = (
    NavItem("dashboard", "Dashboard", "gauge", VIEW_ITEMS),
    NavItem("intake", "Intake", "inbox", INTAKE),
    NavItem("items", "Items", "search", VIEW_ITEMS),
    NavItem("screening:queue", "Screening queue", "camera", SCREENING_READ),
    NavItem("screening:quarantine", "Quarantine", "alert", SCREENING_READ),
    NavItem("access:board", "Access control", "key", VIEW_ACCESS),
    NavItem("pickup", "Pickup", "handover", HANDOVER),
    NavItem("directory:recipients", "Recipients", "people", VIEW_ITEMS),
    NavItem("directory:sites", "Sites", "building", VIEW_ITEMS),
    NavItem("my_mail", "My mail", "mail", (Role.RECIPIENT,), admin_too=False),
    NavItem("screening:policy", "Screening policy", "check", SCREENING_POLICY_READ),
    NavItem("security_policy", "Security policy", "shield", MANAGE_SECURITY),
)

# Pages that belong under a nav entry without being its own URL.
_SECTION = {
    "item_detail": "items",
    "pickup_item": "pickup",
    "directory:recipients_import": "directory:recipients",
    "directory:site": "directory:sites",
    "screening:workstation": "screening:queue",
    # Access control is one nav entry; its pages have their own tabs.
    **{
        f"access:{name}": "access:board"
        for name in (
            "lockdown",
            "lift",
            "log",
            "report",
            "cardholders",
            "cardholder_new",
            "cardholder",
            "credential_issue",
            "credentials",
            "credential",
            "credential_levels",
            "credential_revoke",
            "levels",
            "level_new",
            "level_edit",
            "schedules",
            "schedule_new",
            "schedule_edit",
            "holiday_add",
        )
    },
}


def console(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    roles = roles_of(user) if user is not None else frozenset()
    match = getattr(request, "resolver_match", None)
    # The view name carries the app's namespace ("screening:queue"); without one it is the
    # plain URL name, so the custody pages match as before.
    current = match.view_name if match else None
    return {
        "mw_roles": {r.value for r in roles},
        "mw_role_titles": [r.title for r in Role if r in roles],
        "mw_nav": [item for item in NAV if item.visible_to(roles)],
        "mw_section": _SECTION.get(current or "", current),
    }
