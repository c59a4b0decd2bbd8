"""What every page of the access console shares: the HTTP status a form page answers with, the
site a page is about and its time zone, the buttons the actor may see, and query strings.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from datetime import UTC, tzinfo
from typing import Any

from django.http import Http404
from django.utils.http import urlencode

from mailwarden.access.services import HANDLE_ALARMS, LOCKDOWN, MANAGE_ACCESS, REVOKE_CREDENTIALS
from mailwarden.core.actor import Actor
from mailwarden.directory.models import Site


def http_status(failed: bool) -> int:
    return 400 if failed else 200


def site_zone(site: Site | None) -> tzinfo:
    if site is None:
        return UTC
    try:
        return zoneinfo.ZoneInfo(site.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return UTC


def all_sites() -> list[Site]:
    return list(Site.objects.order_by("name", "code"))


def chosen_site(code: str | None, sites: Sequence[Site]) -> Site | None:
    """The site asked for, or the first one: most installations have one site."""
    for site in sites:
        if site.code == code:
            return site
    return sites[0] if sites else None


def _can(actor: Actor, roles: Iterable[Any]) -> bool:
    return actor.has(*roles)


def perms(actor: Actor) -> dict[str, bool]:
    return {
        "can_manage": _can(actor, MANAGE_ACCESS),
        "can_revoke": _can(actor, REVOKE_CREDENTIALS),
        "can_lockdown": _can(actor, LOCKDOWN),
        "can_ack": _can(actor, HANDLE_ALARMS),
    }


def with_query(url: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return f"{url}?{query}" if query else url


def site_or_404(code: str | None) -> Site:
    site = Site.objects.filter(code=code or "").first()
    if site is None:
        raise Http404("no such site")
    return site
