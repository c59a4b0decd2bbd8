"""What the console's live pages (server-sent events) share: pacing and the wire format."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StreamSettings:
    """How a live stream paces itself; tests replace ``sleep`` and ``monotonic``."""

    poll_s: float = 1.0
    # The browser reconnects when a stream ends, so a bounded stream costs a reconnect, while an
    # endless one would outlive a revoked role or a signed-out session.
    lifetime_s: float = 600.0
    keepalive_s: float = 15.0
    retry_ms: int = 2000
    # Without ASGI (a WSGI deployment, Django's test server) a stream would hold a worker for its
    # whole life; there it sends the state once and the browser asks again after this.
    fallback_retry_ms: int = 10_000
    sleep: Callable[[float], Awaitable[Any]] = field(default=asyncio.sleep)
    monotonic: Callable[[], float] = field(default=time.monotonic)


def sse(event: str, data: Any) -> str:
    """One server-sent event. JSON escapes newlines, so the payload fits on one data line."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


# ``poll(previous)``: the state's new signature, and what to send (None when nothing changed).
Poll = Callable[[Any], Awaitable[tuple[Any, Any | None]]]


async def events(
    name: str, poll: Poll, *, live: bool, settings: StreamSettings
) -> AsyncIterator[str]:
    """A live page's stream: the state on connecting, then again whenever it changes, for the
    stream's lifetime (without ASGI, ``live`` is false and it ends after the first)."""
    yield f"retry: {settings.retry_ms if live else settings.fallback_retry_ms}\n\n"
    previous: Any = None
    started = quiet_since = settings.monotonic()
    while True:
        previous, data = await poll(previous)
        if data is not None:
            yield sse(name, data)
            quiet_since = settings.monotonic()
        now = settings.monotonic()
        if not live or now - started >= settings.lifetime_s:
            return
        if now - quiet_since >= settings.keepalive_s:
            # A comment line: proxies that close idle connections see traffic.
            yield ": keep-alive\n\n"
            quiet_since = now
        await settings.sleep(settings.poll_s)
