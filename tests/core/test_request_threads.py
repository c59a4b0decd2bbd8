"""The ASGI application: each request's sync work in one call on a long-lived request thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.core import signals

import mailwarden.core
from mailwarden.server.asgi import PooledThreadASGIHandler


class Sent:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    @property
    def status(self) -> int | None:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        return starts[0]["status"] if starts else None

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"].endswith("body"))


def call(
    app: PooledThreadASGIHandler,
    path: str,
    *,
    query: bytes = b"",
    disconnect: bool = False,
) -> Sent:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query,
        "root_path": "",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    messages = [
        {"type": "http.disconnect"} if disconnect else {"type": "http.request", "body": b""}
    ]
    sent = Sent()

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        return await asyncio.Future()  # the client stays connected until the response is sent

    async def send(message: dict[str, Any]) -> None:
        sent.messages.append(message)

    # A thread of its own, as a server's loop would have: browser tests leave a loop running
    # on the test thread, where asyncio.run would refuse to start another.
    with ThreadPoolExecutor(max_workers=1) as server:
        server.submit(asyncio.run, app(scope, receive, send)).result()
    return sent


@pytest.fixture
def threads_seen() -> Iterator[dict[str, list[str]]]:
    seen: dict[str, list[str]] = {"started": [], "finished": []}

    def started(**_: Any) -> None:
        seen["started"].append(threading.current_thread().name)

    def finished(**_: Any) -> None:
        seen["finished"].append(threading.current_thread().name)

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield seen
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


@pytest.mark.django_db(transaction=True)
def test_requests_run_start_to_finish_on_the_same_long_lived_thread(threads_seen):
    app = PooledThreadASGIHandler(threads=1)
    for _ in range(2):
        sent = call(app, "/livez")
        assert sent.status == 200
        assert sent.body == b'{"status": "ok"}'
    assert threads_seen["started"] == threads_seen["finished"]
    assert len(threads_seen["started"]) == 2
    assert set(threads_seen["started"]) == {"mw-request-0_0"}


# Django itself warns that it reads a file response's sync iterator before sending it.
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
@pytest.mark.django_db(transaction=True)
def test_file_responses_stream_whole_and_are_closed_after_sending(threads_seen):
    app = PooledThreadASGIHandler(threads=1)
    sent = call(app, "/static/core/console.css")
    assert sent.status == 200
    css = Path(mailwarden.core.__file__).with_name("static") / "core" / "console.css"
    assert sent.body == css.read_bytes()
    assert len(threads_seen["finished"]) == 1


@pytest.mark.django_db(transaction=True)
def test_streams_keep_the_async_path_and_hold_no_request_thread(threads_seen):
    app = PooledThreadASGIHandler(threads=1)
    sent = call(app, "/no-such-board/stream")
    assert sent.status == 404
    assert threads_seen["started"] and not any(
        name.startswith("mw-request") for name in threads_seen["started"]
    )


@pytest.mark.django_db(transaction=True)
def test_a_request_django_cannot_read_gets_400(threads_seen):
    sent = call(PooledThreadASGIHandler(threads=1), "/livez", query=b"q=\xff")
    assert sent.status == 400
    assert len(threads_seen["finished"]) == 1


def test_a_client_that_leaves_before_its_body_gets_nothing(threads_seen):
    sent = call(PooledThreadASGIHandler(threads=1), "/livez", disconnect=True)
    assert sent.messages == []
    assert threads_seen["started"] == []
