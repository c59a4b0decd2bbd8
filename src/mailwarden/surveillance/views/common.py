"""What the surveillance pages share: the buttons the actor may see, the site picker, and
evidence sent from the media store with HTTP Range support (browsers seek a video with it)."""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest, HttpResponse

from mailwarden.core.actor import Actor
from mailwarden.directory.models import Site
from mailwarden.surveillance.queries.cameras import Evidence
from mailwarden.surveillance.services.cameras import MANAGE_CAMERAS
from mailwarden.surveillance.services.events import HANDLE_EVENTS

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


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


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The first range of a ``Range: bytes=...`` header as (first, last), or None when it cannot
    be satisfied. Several ranges are answered with the first only, which HTTP allows."""
    found = _RANGE.match(header.split(",", 1)[0].strip())
    if found is None or size == 0:
        return None
    first_text, last_text = found.groups()
    if not first_text:
        if not last_text:
            return None
        # "bytes=-N": the last N bytes.
        length = min(int(last_text), size)
        return (size - length, size - 1) if length else None
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if first >= size or last < first:
        return None
    return first, last


def send_evidence(request: HttpRequest, found: Evidence, filename: str) -> HttpResponse:
    """The file, whole or the range asked for (206), as its content type; kept private."""
    headers: dict[str, Any] = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, max-age=3600",
        "Content-Disposition": f'inline; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
    }
    wanted = request.headers.get("Range")
    if wanted is None:
        # Evidence is small (the worker contract bounds it), so it is read whole.
        return HttpResponse(
            found.path.read_bytes(), content_type=found.content_type, headers=headers
        )
    span = _byte_range(wanted, found.size)
    if span is None:
        return HttpResponse(
            status=416, headers={**headers, "Content-Range": f"bytes */{found.size}"}
        )
    first, last = span
    with found.path.open("rb") as file:
        file.seek(first)
        body = file.read(last - first + 1)
    return HttpResponse(
        body,
        status=206,
        content_type=found.content_type,
        headers={**headers, "Content-Range": f"bytes {first}-{last}/{found.size}"},
    )
