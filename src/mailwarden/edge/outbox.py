"""A durable outbox: events wait on disk until the server has taken them.

Each event gets an idempotency key (a uuid4) when it is written, so the server applies it once
however often it is sent: a send that reached the server but whose answer was lost is simply sent
again. An event is marked delivered only after the sender returned; a sender that raises (server
down, timeout) leaves the batch in place, to be retried after a backoff that grows with each failed
attempt. Nothing is ever dropped for failing too often; ``stuck`` lists what keeps failing.

The file is SQLite in WAL mode with ``synchronous=FULL``: a ``put`` that returned survives a
power cut, not just a process crash. One edge process owns one outbox file.
"""

from __future__ import annotations

import json
import random
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from pydantic import BaseModel

from .clock import WallClock, require_aware, utc_now
from .private_files import make_owner_only

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    last_error TEXT,
    delivered_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_waiting ON outbox (seq) WHERE delivered_at IS NULL;
"""


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    key: uuid.UUID
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None


# Returns None when the whole batch was accepted, or the keys the server accepted.
Sender = Callable[[Sequence[OutboxEvent]], Iterable[uuid.UUID] | None]


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    attempted: int
    delivered: int
    failed: int
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retry ``n`` (1-based): base * factor**(n-1), capped, spread by +-jitter."""

    base_s: float = 2.0
    factor: float = 2.0
    cap_s: float = 300.0
    jitter: float = 0.1

    def delay(self, attempts: int, rng: Callable[[], float]) -> float:
        raw = min(self.cap_s, self.base_s * self.factor ** max(0, attempts - 1))
        # Spread retries so that controllers that lost the server together do not return together.
        return raw * (1 + self.jitter * (2 * rng() - 1))


def _iso(value: datetime) -> str:
    return require_aware(value).astimezone(UTC).isoformat()


class Outbox:
    def __init__(
        self,
        path: str | Path,
        *,
        clock: WallClock = utc_now,
        backoff: Backoff | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._rng = rng
        self._lock = threading.Lock()
        self._delivering = threading.Lock()
        # SQLite gives its -wal and -shm files the database file's own mode.
        make_owner_only(self.path)
        self._conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._conn.row_factory = sqlite3.Row
        mode = self._conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RuntimeError(f"outbox {self.path}: SQLite refused WAL mode (got {mode})")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _now(self) -> datetime:
        return require_aware(self._clock(), "clock()")

    # -- writing ------------------------------------------------------------------------------

    def put(
        self,
        kind: str,
        payload: BaseModel | Mapping[str, Any],
        *,
        key: uuid.UUID | None = None,
    ) -> OutboxEvent:
        """Store an event; with a ``key`` already stored, return the stored event unchanged."""
        body = payload.model_dump(mode="json") if isinstance(payload, BaseModel) else dict(payload)
        text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
        event_key = key or uuid.uuid4()
        now = self._now()
        with self._lock:
            self._conn.execute(
                "INSERT INTO outbox (key, kind, payload, created_at, next_attempt_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING",
                (str(event_key), kind, text, _iso(now), now.timestamp()),
            )
            row = self._conn.execute(
                "SELECT * FROM outbox WHERE key = ?", (str(event_key),)
            ).fetchone()
        return _event(row)

    # -- reading ------------------------------------------------------------------------------

    def due(self, limit: int = 100) -> list[OutboxEvent]:
        """Undelivered events whose retry time has come, oldest first."""
        now = self._now().timestamp()
        # A retry time further ahead than the longest backoff means the clock was stepped back
        # after it was set; treat it as due rather than stall for however far the clock moved.
        horizon = now + self._backoff.cap_s * (1 + self._backoff.jitter)
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM outbox WHERE delivered_at IS NULL "
                "AND (next_attempt_at <= ? OR next_attempt_at > ?) ORDER BY seq LIMIT ?",
                (now, horizon, limit),
            ).fetchall()
        return [_event(r) for r in rows]

    def pending_count(self) -> int:
        with self._lock:
            return self._conn.execute(
                "SELECT count(*) FROM outbox WHERE delivered_at IS NULL"
            ).fetchone()[0]

    def next_attempt_at(self) -> datetime | None:
        """When the earliest waiting event becomes due; None when nothing waits."""
        with self._lock:
            value = self._conn.execute(
                "SELECT min(next_attempt_at) FROM outbox WHERE delivered_at IS NULL"
            ).fetchone()[0]
        return None if value is None else datetime.fromtimestamp(value, UTC)

    def stuck(self, min_attempts: int = 10) -> list[OutboxEvent]:
        """Events that have failed at least ``min_attempts`` times: worth an alarm."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM outbox WHERE delivered_at IS NULL AND attempts >= ? ORDER BY seq",
                (min_attempts,),
            ).fetchall()
        return [_event(r) for r in rows]

    # -- delivery -----------------------------------------------------------------------------

    def mark_delivered(self, keys: Iterable[uuid.UUID]) -> int:
        stamp = _iso(self._now())
        params = [(stamp, str(k)) for k in keys]
        with self._lock:
            cursor = self._conn.executemany(
                "UPDATE outbox SET delivered_at = ?, last_error = NULL "
                "WHERE key = ? AND delivered_at IS NULL",
                params,
            )
        return cursor.rowcount

    def mark_failed(self, keys: Iterable[uuid.UUID], error: str) -> None:
        now = self._now().timestamp()
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                for key in keys:
                    row = self._conn.execute(
                        "SELECT attempts FROM outbox WHERE key = ? AND delivered_at IS NULL",
                        (str(key),),
                    ).fetchone()
                    if row is None:
                        continue
                    attempts = row["attempts"] + 1
                    retry_at = now + self._backoff.delay(attempts, self._rng)
                    self._conn.execute(
                        "UPDATE outbox SET attempts = ?, next_attempt_at = ?, last_error = ? "
                        "WHERE key = ?",
                        (attempts, retry_at, error[:2000], str(key)),
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def deliver(self, sender: Sender, limit: int = 100) -> DeliveryResult:
        """Send one batch of due events; mark what the sender accepted, back off the rest."""
        with self._delivering:
            batch = self.due(limit)
            if not batch:
                return DeliveryResult(0, 0, 0)
            keys = [e.key for e in batch]
            try:
                accepted = sender(batch)
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                self.mark_failed(keys, error)
                return DeliveryResult(len(batch), 0, len(batch), error)
            done = set(keys) if accepted is None else set(accepted) & set(keys)
            self.mark_delivered(done)
            rest = [k for k in keys if k not in done]
            if rest:
                self.mark_failed(rest, "not accepted by the server")
            return DeliveryResult(len(batch), len(done), len(rest))

    def purge_delivered(self, older_than: timedelta) -> int:
        """Delete delivered events older than ``older_than``; undelivered ones are never deleted."""
        cutoff = _iso(self._now() - older_than)
        with self._lock:
            cursor = self._conn.execute(
                "DELETE FROM outbox WHERE delivered_at IS NOT NULL AND delivered_at < ?",
                (cutoff,),
            )
        return cursor.rowcount


def _event(row: sqlite3.Row) -> OutboxEvent:
    return OutboxEvent(
        key=uuid.UUID(row["key"]),
        kind=row["kind"],
        payload=json.loads(row["payload"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        attempts=row["attempts"],
        last_error=row["last_error"],
    )
