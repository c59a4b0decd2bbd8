"""The ASGI application: each request's sync work runs in one hop on a long-lived thread.

Django's ASGI handler runs the middleware and the view as a relay between the event loop and a
new thread per request: the request-started signal, the sync middleware, the async ones, the
view and the response's close each hop across, and every new thread opens a new database
connection. Here a request borrows one of a few single-thread executors and runs all of that in
one call there, through Django's plain sync handler, as a WSGI server would; the threads live
on, and so do their connections. Server-sent event streams (async views that stay open for
minutes) keep Django's own async path and hold no pooled thread.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

from mailwarden.config import get_settings

# Server-sent event endpoints end with this; their views are async and stream.
STREAM_SUFFIX = "/stream"


def request_threads() -> int:
    cfg = get_settings()
    if cfg.request_threads:
        return cfg.request_threads
    return 8 if cfg.database_url else 2


class PooledThreadASGIHandler(ASGIHandler):
    def __init__(self, threads: int) -> None:
        super().__init__()
        self._sync = BaseHandler()
        self._sync.load_middleware(is_async=False)
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"mw-request-{n}")
            for n in range(max(1, threads))
        ]
        self._free: asyncio.Queue[ThreadPoolExecutor] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].endswith(STREAM_SUFFIX):
            await super().__call__(scope, receive, send)
            return
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        if self._free is None:
            # Made on first use so the queue belongs to the server's event loop.
            self._free = asyncio.Queue()
            for executor in self._executors:
                self._free.put_nowait(executor)
        executor = await self._free.get()
        try:
            async with ThreadSensitiveContext(executor=executor):
                response = await sync_to_async(self._respond)(scope, body_file)
                try:
                    await self.send_response(response, send)
                finally:
                    if response.streaming:
                        await sync_to_async(response.close)()
        finally:
            self._free.put_nowait(executor)
            body_file.close()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The whole of a request's sync work, on the borrowed thread."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        created = self.create_request(scope, body_file)
        # Either a request, or no request and the error response that says why (400, 413).
        response = created[1] if created[0] is None else self._sync.get_response(created[0])
        # Django's own handlers set this private attribute too; the stubs do not declare it.
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        if not response.streaming:
            # The body is already in memory, so the response can be closed (request_finished,
            # upload clean-up) here rather than in one more hop after sending.
            response.close()
        return response


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailwarden.server.settings")
django.setup(set_prefix=False)
application = PooledThreadASGIHandler(request_threads())
