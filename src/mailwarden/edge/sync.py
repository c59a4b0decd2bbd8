"""The edge controller's link to the server: rules down, events up, over the HTTP API.

``ServerClient`` speaks the sync contract (``GET /api/access/rules``, ``POST /api/access/events``)
with the controller's device token, and checks the local clock against each response's ``Date``.
``RuleSync`` feeds what it fetches to the decision engine and keeps the last good documents on
disk; ``EventDelivery`` sends the outbox. ``Journal`` is the local event log, where everything the
controller refused is written with its reason, whether or not the server can be told.

Nothing here raises on bad input from the network: a failed fetch or send is an outcome to log
and retry, and the engine keeps deciding from the rules it already has.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import ssl
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from .clock import ClockSkew, WallClock, measure_clock_skew, utc_now
from .decisions import DecisionEngine, RejectReason, SnapshotRejected
from .edge_events import CLOCK_SKEW, RULES_REJECTED, ClockSkewEvent, RulesRejectedEvent
from .outbox import DeliveryResult, Outbox, OutboxEvent
from .private_files import OWNER_ONLY, owner_only_opener, replace_durably
from .signing import DocumentKind, canonical_json

log = logging.getLogger(__name__)

_M = TypeVar("_M", bound=BaseModel)

RULES_PATH = "/api/access/rules"
EVENTS_PATH = "/api/access/events"
MAX_BATCH = 500


# -- the local event log ----------------------------------------------------------------------


class Journal:
    """Append-only JSON lines in the data folder: what was refused or went wrong, and why.

    It is the record an installer reads at the controller when the server is unreachable, so it
    holds more than the outbox does (server answers, link state). Writes never raise.
    """

    def __init__(
        self, path: str | Path, *, clock: WallClock = utc_now, max_bytes: int = 10_000_000
    ) -> None:
        self.path = Path(path)
        self._clock = clock
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        # A journal written by an earlier release may be readable by others.
        with contextlib.suppress(OSError):
            os.chmod(self.path, OWNER_ONLY)

    def record(self, kind: str, reason: str, **detail: Any) -> dict[str, Any]:
        entry = {"at": self._clock().isoformat(), "kind": kind, "reason": reason, **detail}
        log.info("%s: %s %s", kind, reason, detail or "")
        try:
            line = json.dumps(entry, default=str, sort_keys=True) + "\n"
            with self._lock:
                self._rotate()
                with open(self.path, "a", encoding="utf-8", opener=owner_only_opener) as out:
                    out.write(line)
        except (OSError, ValueError):
            log.exception("journal %s: could not write %r", self.path, entry)
        return entry

    def _rotate(self) -> None:
        try:
            if self.path.stat().st_size >= self._max_bytes:
                os.replace(self.path, self.path.with_name(self.path.name + ".1"))
        except FileNotFoundError:
            pass

    def entries(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            try:
                lines = self.path.read_text(encoding="utf-8").splitlines()
            except FileNotFoundError:
                return []
        out = []
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a power cut
            if kind is None or entry.get("kind") == kind:
                out.append(entry)
        return out


# -- HTTP -------------------------------------------------------------------------------------


class SyncError(RuntimeError):
    """The exchange failed (network, server error, refused token, unreadable answer): retry."""


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RulesAnswer(_Answer):
    up_to_date: bool
    version: int
    document: dict[str, Any] | str | None = None

    def document_bytes(self) -> bytes | None:
        if self.document is None:
            return None
        if isinstance(self.document, str):
            return self.document.encode("utf-8")
        # The signature covers the canonical form, so re-serialising a parsed envelope is exact.
        try:
            return canonical_json(self.document)
        except ValueError:
            return json.dumps(self.document).encode("utf-8")


class RejectedKey(_Answer):
    key: str | None
    reason: str
    # Not in the contract yet; a server that says whether to send again is believed.
    retry: bool | None = None

    @property
    def transient(self) -> bool:
        """Whether the server would take the event later: it refused it for our clock being
        ahead (accepted once its time has come), or it failed to apply it and said to resend.
        Anything else is refused for good."""
        if self.retry is not None:
            return self.retry
        reason = self.reason.lower()
        return reason.startswith("clock skew") or "send it again" in reason


class EventsAnswer(_Answer):
    applied: list[str] = []
    duplicates: list[str] = []
    rejected: list[RejectedKey] = []


class ServerClient:
    """The HTTP side of the sync contract. One instance is shared by the sync and delivery threads
    (httpx clients are thread-safe)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        timeout: float = 10.0,
        verify: bool | ssl.SSLContext = True,
        transport: httpx.BaseTransport | None = None,
        clock: WallClock = utc_now,
        skew_threshold: timedelta = timedelta(seconds=30),
        on_skew: Callable[[ClockSkew], None] | None = None,
    ) -> None:
        self._clock = clock
        self._skew_threshold = skew_threshold
        self._on_skew = on_skew
        self.last_skew: ClockSkew | None = None
        self._http = httpx.Client(
            base_url=base_url,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=timeout,
            verify=verify,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def get_rules(self, since: int) -> RulesAnswer:
        data = self._exchange("GET", RULES_PATH, params={"since": since})
        return self._parse(RulesAnswer, data, RULES_PATH)

    def post_events(self, events: Sequence[OutboxEvent]) -> EventsAnswer:
        if len(events) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} events per batch")
        body = {"events": [{"key": str(e.key), "type": e.kind, "event": e.payload} for e in events]}
        data = self._exchange("POST", EVENTS_PATH, json=body)
        return self._parse(EventsAnswer, data, EVENTS_PATH)

    def _exchange(self, method: str, path: str, **kwargs: Any) -> Any:
        sent_at = self._clock()
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise SyncError(f"{method} {path}: {type(exc).__name__}: {exc}") from None
        self._check_clock(response, sent_at, self._clock())
        if response.status_code in (401, 403):
            raise SyncError(
                f"{method} {path}: the server refused the device token ({response.status_code})"
            )
        if response.status_code >= 300:
            raise SyncError(
                f"{method} {path}: HTTP {response.status_code}: {response.text[:300].strip()}"
            )
        try:
            return response.json()
        except ValueError:
            raise SyncError(f"{method} {path}: the answer is not JSON") from None

    @staticmethod
    def _parse(model: type[_M], data: Any, path: str) -> _M:
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "answer"
            raise SyncError(f"{path}: unexpected answer: {where}: {first['msg']}") from None

    def _check_clock(self, response: httpx.Response, sent_at: datetime, received: datetime) -> None:
        header = response.headers.get("date")
        if not header:
            return
        try:
            skew = measure_clock_skew(header, sent_at, received, self._skew_threshold)
        except ValueError as exc:
            log.debug("ignoring the server's Date header: %s", exc)
            return
        self.last_skew = skew
        if self._on_skew is not None:
            self._on_skew(skew)


class SkewMonitor:
    """Logs and reports clock skew when it crosses the threshold, and when it comes back.

    Every response carries a Date, so reporting each one would fill the outbox; only changes of
    state are recorded, plus a reminder every ``remind_after`` while the skew lasts.
    """

    def __init__(
        self,
        journal: Journal,
        outbox: Outbox | None,
        *,
        clock: WallClock = utc_now,
        remind_after: timedelta = timedelta(hours=1),
    ) -> None:
        self._journal = journal
        self._outbox = outbox
        self._clock = clock
        self._remind_after = remind_after
        self._exceeded = False
        self._reported_at: datetime | None = None
        self._lock = threading.Lock()

    def __call__(self, skew: ClockSkew) -> None:
        now = self._clock()
        with self._lock:
            due = skew.exceeded != self._exceeded or (
                skew.exceeded
                and self._reported_at is not None
                and now - self._reported_at >= self._remind_after
            )
            if not due:
                return
            self._exceeded = skew.exceeded
            self._reported_at = now
        offset = skew.offset.total_seconds()
        threshold = skew.threshold.total_seconds()
        if skew.exceeded:
            reason = f"local clock is {abs(offset):.0f} s {'behind' if offset > 0 else 'ahead of'}"
            reason += f" the server (threshold {threshold:.0f} s)"
        else:
            reason = "local clock is back within the threshold of the server's"
        self._journal.record("clock_skew", reason, offset_s=offset, threshold_s=threshold)
        if self._outbox is not None:
            event = ClockSkewEvent(
                occurred_at=now, offset_s=offset, threshold_s=threshold, exceeded=skew.exceeded
            )
            try:
                self._outbox.put(CLOCK_SKEW, event)
            except Exception:
                log.exception("could not record the clock-skew event")


# -- rules ------------------------------------------------------------------------------------


class RuleStore:
    """The engine's document chain (a snapshot, then the deltas since) in the data folder, so a
    restart decides from the last good rules even while the server is down."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def save(self, documents: Sequence[bytes]) -> None:
        body = json.dumps({"documents": [d.decode("utf-8") for d in documents]})
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8", opener=owner_only_opener) as out:
            os.fchmod(out.fileno(), OWNER_ONLY)  # a .tmp left by a crash keeps its old mode
            out.write(body)
            out.flush()
            os.fsync(out.fileno())
        replace_durably(tmp, self.path)

    def load(self) -> list[bytes]:
        """The stored chain, or [] when there is none; ValueError when the file is unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        try:
            data = json.loads(text)
            documents = data["documents"]
            if not isinstance(documents, list) or not all(isinstance(d, str) for d in documents):
                raise TypeError("documents must be a list of strings")
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{self.path}: not a stored rule chain ({exc})") from None
        return [d.encode("utf-8") for d in documents]


def restore_rules(engine: DecisionEngine, store: RuleStore, journal: Journal) -> int | None:
    """Load the stored chain into ``engine``; on any problem log it and start with no rules."""
    try:
        documents = store.load()
        if not documents:
            return None
        version = engine.restore(documents)
    except (ValueError, SnapshotRejected) as exc:
        reason = exc.reason.value if isinstance(exc, SnapshotRejected) else "unreadable"
        journal.record("rules_restore_failed", reason, message=str(exc), path=str(store.path))
        return None
    journal.record("rules_restored", "loaded the stored rules", version=version)
    return version


class SyncStatus(StrEnum):
    UP_TO_DATE = "up_to_date"
    UPDATED = "updated"
    REJECTED = "rejected"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    status: SyncStatus
    version: int | None  # the version the engine holds afterwards
    detail: str = ""


# A delta that does not fit the rules held means this controller and the server disagree about
# version N; a full snapshot settles it.
_REFETCH = (RejectReason.BASE_MISMATCH, RejectReason.CONFLICT)


class RuleSync:
    """One poll of the rules: fetch, check and apply, persist, or refuse with the reason."""

    def __init__(
        self,
        client: ServerClient,
        engine: DecisionEngine,
        store: RuleStore,
        journal: Journal,
        outbox: Outbox | None = None,
        *,
        clock: WallClock = utc_now,
    ) -> None:
        self._client = client
        self.engine = engine
        self._store = store
        self._journal = journal
        self._outbox = outbox
        self._clock = clock
        self._reachable: bool | None = None
        self._last_rejection: tuple[str, str] | None = None
        self._lock = threading.Lock()

    def poll(self) -> SyncOutcome:
        with self._lock:
            try:
                return self._poll(self.engine.version or 0)
            except SyncError as exc:
                self._link(False, str(exc))
                return SyncOutcome(SyncStatus.FAILED, self.engine.version, str(exc))

    def _poll(self, since: int) -> SyncOutcome:
        answer = self._client.get_rules(since)
        self._link(True, "")
        if answer.up_to_date:
            return SyncOutcome(SyncStatus.UP_TO_DATE, self.engine.version)
        document = answer.document_bytes()
        if document is None:
            return self._reject(RejectReason.INVALID, "the server sent no document", answer.version)
        try:
            version = self._apply(document)
        except SnapshotRejected as exc:
            if exc.reason in _REFETCH and since != 0:
                log.info("rules: %s; fetching a full snapshot", exc)
                return self._poll(0)
            return self._reject(exc.reason, str(exc), answer.version)
        if version != answer.version:
            log.warning(
                "rules: the server announced version %s, the document is version %s",
                answer.version,
                version,
            )
        try:
            self._store.save(self.engine.documents)
        except OSError as exc:
            # The rules are in force; only a restart during this outage of the disk would lose them.
            self._journal.record("rules_not_stored", "could not store the rules", message=str(exc))
        self._last_rejection = None
        self._journal.record(
            "rules_updated", f"now deciding from version {version}", version=version, since=since
        )
        return SyncOutcome(SyncStatus.UPDATED, version)

    def _apply(self, document: bytes) -> int:
        # The kind is only peeked to choose the engine's entry point: the engine checks it again
        # under the signature, so a forged kind cannot get a document past it.
        try:
            kind = json.loads(document).get("kind")
        except (ValueError, AttributeError):
            kind = None
        if kind == DocumentKind.DELTA.value:
            return self.engine.apply_delta(document)
        return self.engine.load_snapshot(document)

    def _reject(self, reason: RejectReason, message: str, offered: int | None) -> SyncOutcome:
        held = self.engine.version
        signature = (reason.value, message)
        # The server will offer the same bad document at every poll; record it once.
        if signature != self._last_rejection:
            self._last_rejection = signature
            self._journal.record(
                "rules_rejected",
                reason.value,
                message=message,
                offered_version=offered,
                held_version=held,
            )
            if self._outbox is not None:
                event = RulesRejectedEvent(
                    occurred_at=self._clock(),
                    reason=reason.value,
                    message=message[:500],
                    offered_version=offered,
                    held_version=held,
                )
                try:
                    self._outbox.put(RULES_REJECTED, event)
                except Exception:
                    log.exception("could not record the rejected-rules event")
        return SyncOutcome(SyncStatus.REJECTED, held, f"{reason.value}: {message}")

    def _link(self, up: bool, error: str) -> None:
        if up == self._reachable:
            return
        previous, self._reachable = self._reachable, up
        if up and previous is not None:
            self._journal.record("server_reachable", "the server answers again")
        elif not up:
            self._journal.record("server_unreachable", error)


# -- events -----------------------------------------------------------------------------------


class EventDelivery:
    """Sends due outbox events in batches; what the server took, saw before, or refused for good
    is marked delivered, and everything else waits for a retry: events the server did not answer
    for, and those it refused only for now (stamped ahead of its clock, or failed to apply)."""

    def __init__(
        self, client: ServerClient, outbox: Outbox, journal: Journal, *, batch: int = MAX_BATCH
    ) -> None:
        if not 1 <= batch <= MAX_BATCH:
            raise ValueError(f"batch must be 1-{MAX_BATCH}")
        self._client = client
        self.outbox = outbox
        self._journal = journal
        self.batch = batch
        self._failing = False
        self._deferring = False
        self.duplicates = 0

    def deliver_once(self) -> DeliveryResult:
        result = self.outbox.deliver(self._send, limit=self.batch)
        if result.error and not self._failing:
            self._failing = True
            self._journal.record("delivery_failed", result.error, waiting=result.attempted)
        elif result.delivered and self._failing:
            self._failing = False
            self._journal.record("delivery_resumed", "the server takes events again")
        return result

    def _send(self, batch: Sequence[OutboxEvent]) -> list[uuid.UUID]:
        answer = self._client.post_events(batch)
        by_key: Mapping[str, OutboxEvent] = {str(e.key): e for e in batch}
        done: list[uuid.UUID] = []
        for key in [*answer.applied, *answer.duplicates]:
            if key in by_key:
                done.append(by_key[key].key)
        dupes = [k for k in answer.duplicates if k in by_key]
        if dupes:
            # A send whose answer was lost on the way back: the server kept the first copy.
            self.duplicates += len(dupes)
            self._journal.record(
                "events_duplicate",
                "the server had these events already; it kept them once",
                count=len(dupes),
                first_key=dupes[0],
            )
        later: list[str] = []
        for item in answer.rejected:
            event = by_key.get(item.key or "")
            if event is None:
                continue
            if item.transient:
                # Left undelivered: the outbox backs it off and sends it again.
                later.append(item.reason)
                continue
            # Refused for good (the server says why): it would be resent forever, so it is
            # marked delivered and kept here, in full, with the reason.
            self._journal.record(
                "event_rejected_by_server",
                item.reason,
                key=item.key,
                type=event.kind,
                event=event.payload,
            )
            done.append(event.key)
        # Logged when deferrals start, not for every batch while the clock stays ahead.
        if later and not self._deferring:
            self._journal.record("events_deferred_by_server", later[0], count=len(later))
        self._deferring = bool(later)
        return done
