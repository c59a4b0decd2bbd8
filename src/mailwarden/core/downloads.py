"""Files sent from the media store, whole or in part (HTTP Range: browsers seek a video with it),
for the console's pages and the API alike: video evidence, a course's video."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse


@dataclass(frozen=True)
class StoredFile:
    """A file from the media store: its path (the bytes are read, or sent in part, by
    :func:`send_file`) and its content type."""

    path: Path
    content_type: str
    size: int


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str, size: int) -> tuple[int, int] | None:
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


def send_file(
    request: HttpRequest,
    found: StoredFile,
    filename: str,
    cache_control: str = "private, max-age=3600",
) -> HttpResponse:
    """The file, whole or the range asked for (206), as its content type; kept private."""
    headers: dict[str, Any] = {
        "Accept-Ranges": "bytes",
        "Cache-Control": cache_control,
        "Content-Disposition": f'inline; filename="{filename}"',
        "X-Content-Type-Options": "nosniff",
    }
    wanted = request.headers.get("Range")
    if wanted is None:
        # Evidence is small (the worker contract bounds it), so it is read whole.
        return HttpResponse(
            found.path.read_bytes(), content_type=found.content_type, headers=headers
        )
    span = byte_range(wanted, found.size)
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
