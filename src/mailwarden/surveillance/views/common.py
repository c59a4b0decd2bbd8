"""What the surveillance pages share: the buttons the actor may see and the site picker."""

from __future__ import annotations

from mailwarden.core.actor import Actor
from mailwarden.directory.models import Site
from mailwarden.surveillance.services.cameras import MANAGE_CAMERAS
from mailwarden.surveillance.services.events import HANDLE_EVENTS


def http_status(failed: bool) -> int:
    return 400 if failed else 200


def perms(actor: Actor) -> dict[str, bool]:
    return {
        "can_manage": actor.has(*MANAGE_CAMERAS),
        "can_handle": actor.has(*HANDLE_EVENTS),
    }


def all_sites() -> list[Site]:
    return list(Site.objects.order_by("name", "code"))


def chosen_site(code: str | None, sites: list[Site]) -> Site | None:
    """The site asked for, or None for every site."""
    for site in sites:
        if site.code == code:
            return site
    return None
