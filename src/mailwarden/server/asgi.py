"""The ASGI application: each request's sync work runs in one hop on a long-lived thread.

Django's ASGI handler runs the middleware and the view as a relay between the event loop and a
new thread per request: the request-started signal, the sync middleware, the async ones, the
view and the response's close each hop across, and every new thread opens a new database
connection. Here a request borrows one of a few single-thread executors and runs all of that in
one call there, through Django's plain sync handler, as a WSGI server would; the threads live
on, and so do their connections. Server-sent event streams (async views that stay open for
minutes) keep Django's own async path and hold no pooled thread.

An API call that carries a bearer token takes a lean chain of middleware: it has no session, so
the session, CSRF, sign-in, two-factor, messages, sign-in lockout and page-policy middleware
have nothing to do for it (the token is checked by the API itself). Every other request, the
console's included, passes through all of them.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.core.handlers.base import BaseHandler
from django.http import FileResponse, HttpResponseBase
from django.urls import set_script_prefix

from mailwarden.config import get_settings

# Server-sent event endpoints end with this; their views are async and stream.
STREAM_SUFFIX = "/stream"
API_PREFIX = "/api/"
# What a token-authenticated API call still passes through: transport security headers, the
# request metrics, Django's common handling and the API's JSON answer to a wrong method.
TOKEN_API_MIDDLEWARE = (
    "django.middleware.security.SecurityMiddleware",
    "mailwarden.server.metrics.MetricsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mailwarden.server.api.json_method_not_allowed",
)


def lean_handler() -> BaseHandler:
    """A sync handler whose chain is the part of ``MIDDLEWARE`` a token API call needs."""
    full = list(settings.MIDDLEWARE)
    kept = [path for path in full if path in TOKEN_API_MIDDLEWARE]
    handler = BaseHandler()
    # Django builds a handler's chain from the setting; the setting is restored at once, and
    # this runs while the server starts, before any request.
    settings.MIDDLEWARE = kept
    try:
        handler.load_middleware(is_async=False)
    finally:
        settings.MIDDLEWARE = full
    return handler


def bears_token(scope: dict[str, Any]) -> bool:
    """An API call with a bearer token: it is answered by the token or refused, never a session."""
    if not scope["path"].startswith(API_PREFIX):
        return False
    for name, value in scope["headers"]:
        if name == b"authorization":
            return bool(value[:7].lower() == b"bearer ")
    return False


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
        self._lean = lean_handler()
        self._executors = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"mw-request-{n}")
            for n in range(max(1, threads))
        ]
        self._free: asyncio.Queue[ThreadPoolExecutor] | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
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

    async def _lifespan(self, receive: Any, send: Any) -> None:
        """Each server process starts its background runner, which works while it holds the lease.

        Started here rather than by the ``serve`` command, so that every worker process that
        uvicorn spawns has one, and one takes over when another dies.
        """
        from mailwarden.core.runner import start_background_runner

        runner = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                runner = await sync_to_async(start_background_runner, thread_sensitive=False)()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if runner is not None:
                    await sync_to_async(runner.stop, thread_sensitive=False)()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """The whole of a request's sync work, on the borrowed thread."""
        set_script_prefix(get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        created = self.create_request(scope, body_file)
        # Either a request, or no request and the error response that says why (400, 413).
        handler = self._lean if bears_token(scope) else self._sync
        response = created[1] if created[0] is None else handler.get_response(created[0])
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
