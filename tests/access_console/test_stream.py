"""The door board's server-sent event stream, read through Django's async test client.

The stream's clock and sleep are injected: each poll "sleeps" by moving a fake monotonic clock,
so the tests run the stream's real loop, its keep-alives and its bounded life without waiting.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.test import AsyncClient, Client

from mailwarden.access import services
from mailwarden.access.views import board as board_views
from mailwarden.core.roles import Role
from mailwarden.core.streams import StreamSettings

from .conftest import MANAGER_ACTOR, badge, event, ingest

MAX_CHUNKS = 50  # a stream that never says what a test waits for fails instead of hanging


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps = 0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds


@pytest.fixture
def fake_time(monkeypatch) -> FakeTime:
    fake = FakeTime()
    settings = StreamSettings(
        poll_s=1.0,
        lifetime_s=30.0,
        keepalive_s=5.0,
        sleep=fake.sleep,
        monotonic=fake.monotonic,
    )
    monkeypatch.setattr(board_views, "STREAM", settings)
    return fake


def parse(chunk: bytes) -> tuple[str, Any]:
    """One SSE message: ("board", {...}), ("comment", text) or ("retry", ms)."""
    text = chunk.decode()
    assert text.endswith("\n\n"), text
    fields: dict[str, str] = {}
    for line in text.strip("\n").split("\n"):
        if line.startswith(":"):
            return "comment", line[1:].strip()
        name, _, value = line.partition(": ")
        fields[name] = value
    if "retry" in fields:
        return "retry", int(fields["retry"])
    return fields["event"], json.loads(fields["data"])


async def open_stream(user, site: str = "hq") -> AsyncIterator[bytes]:
    client = AsyncClient()
    await client.aforce_login(user)
    response = await client.get(f"/access/board/stream?site={site}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    return aiter(response.streaming_content)


async def next_board(chunks: AsyncIterator[bytes], seen: list[tuple[str, Any]]) -> dict[str, str]:
    """Read until the next board message; everything read is kept in ``seen``."""
    for _ in range(MAX_CHUNKS):
        kind, data = parse(await anext(chunks))
        seen.append((kind, data))
        if kind == "board":
            return data
    raise AssertionError(f"no board message within {MAX_CHUNKS} chunks: {seen}")


def run(coro_fn: Callable[[], Any]) -> Any:
    return async_to_sync(coro_fn)()


def test_a_new_event_reaches_an_open_board_as_its_door_alone(
    person, mailroom, frozen_clock, fake_time
):
    user = person(Role.SECURITY_OPERATOR)
    m = mailroom

    async def scenario() -> tuple[dict[str, str], dict[str, str], list[Any]]:
        chunks = await open_stream(user)
        seen: list[tuple[str, Any]] = []
        assert parse(await anext(chunks)) == ("retry", 2000)
        first = await next_board(chunks, seen)
        at = frozen_clock() - timedelta(seconds=5)
        await sync_to_async(ingest)(m, badge(m, at, m.bob, m.bob_card))
        second = await next_board(chunks, seen)
        await chunks.aclose()
        return first, second, seen

    first, second, seen = run(scenario)
    doors = {f"door-{d.pk}" for d in (m.quarantine, m.dock, m.lobby)}
    # On connecting the whole board comes, so a page drawn a moment earlier catches up.
    assert set(first) == doors | {"board-status", "board-alarms", "board-feed"}
    assert "No card presented yet." in first[f"door-{m.dock.pk}"]
    # Then only what changed: the dock door and the feed, not the other doors.
    dock = second[f"door-{m.dock.pk}"]
    assert "Access granted" in dock and "Bob Baker" in dock and "H10301 10/1002" in dock
    assert f"door-{m.lobby.pk}" not in second
    assert "Bob Baker" in second["board-feed"]
    # The controller spoke, so it is online now; the stream noticed it too.
    assert 'data-controller="edge-1" data-online="yes"' in second["board-status"]
    assert [kind for kind, _ in seen] == ["board", "board"]


def test_lockdown_and_alarms_reach_the_board(person, mailroom, frozen_clock, fake_time):
    user = person(Role.SECURITY_MANAGER)
    m = mailroom

    async def scenario() -> tuple[dict[str, str], dict[str, str]]:
        chunks = await open_stream(user)
        seen: list[tuple[str, Any]] = []
        await next_board(chunks, seen)
        await sync_to_async(services.lockdown.lockdown_site)(
            MANAGER_ACTOR, m.site.code, True, reason="drill"
        )
        locked = await next_board(chunks, seen)
        forced = event("door.event", frozen_clock(), door_id="quarantine", kind="forced_open")
        await sync_to_async(ingest)(m, forced)
        alarmed = await next_board(chunks, seen)
        await chunks.aclose()
        return locked, alarmed

    locked, alarmed = run(scenario)
    assert 'data-lockdown="on"' in locked["board-status"]
    assert "Lift lockdown" in locked["board-status"]  # a manager may lift it
    for door in (m.quarantine, m.dock, m.lobby):
        assert 'data-mode="lockdown"' in locked[f"door-{door.pk}"]
    assert 'data-alarm-count="1"' in alarmed["board-alarms"]
    assert "Door forced open" in alarmed["board-alarms"]
    assert 'data-contact="forced"' in alarmed[f"door-{m.quarantine.pk}"]
    # The acknowledge button posts with the page's CSRF token, rendered into the fragment.
    assert 'name="csrfmiddlewaretoken"' in alarmed["board-alarms"]


def test_a_quiet_board_sends_keep_alives_and_ends_after_its_lifetime(person, mailroom, fake_time):
    user = person(Role.AUDITOR)

    async def scenario() -> list[tuple[str, Any]]:
        chunks = await open_stream(user)
        return [parse(chunk) async for chunk in chunks]

    messages = run(scenario)
    kinds = [kind for kind, _ in messages]
    assert kinds[:2] == ["retry", "board"]
    # Nothing changed after the first state: only keep-alives until the stream's life is over.
    assert set(kinds[2:]) == {"comment"}
    # One every 5 s of silence (at 5, 10, ... 25 s); at 30 s the stream ends instead.
    assert len(kinds[2:]) == 5
    assert fake_time.sleeps == 30
    # An auditor reads the board and acts on nothing: no lockdown or acknowledge buttons.
    board = messages[1][1]
    assert "Lock down" not in board["board-status"]


def test_without_asgi_the_stream_sends_the_state_once(person, mailroom, fake_time):
    client = Client()
    client.force_login(person(Role.SECURITY_OPERATOR))
    response = client.get("/access/board/stream?site=hq")
    assert response.status_code == 200
    with pytest.warns(Warning, match="StreamingHttpResponse must consume asynchronous"):
        chunks = list(response)
    # A WSGI server would hold a worker for the stream's life: it gets one state and a slower
    # retry, so the browser polls instead.
    assert [parse(c)[0] for c in chunks] == ["retry", "board"]
    assert parse(chunks[0])[1] == board_views.STREAM.fallback_retry_ms
    assert fake_time.sleeps == 0
