"""A stand-in for the server's side of the sync contract, for tests that need no Django.

It serves ``GET /api/access/rules`` and ``POST /api/access/events`` over real HTTP with the edge
library's own signing, holds the events it applied by key (so a resent event is a duplicate), and
can be told to misbehave: answer 503, serve a corrupt document, send a ``Date`` that is off.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from mailwarden.edge.rules import RuleDelta, RuleSnapshot
from mailwarden.edge.signing import DocumentKind, sign_document

from ..edge.rulebook import KEY_ID, SECRET

TOKEN = "mw_test_edge-device-token"


def _embed(document: bytes) -> Any:
    """The envelope as a JSON object, as the server sends it; garbage goes as a string."""
    try:
        return json.loads(document)
    except ValueError:
        return document.decode("utf-8", "replace")


class StandInServer:
    def __init__(self, *, secret: bytes = SECRET, key_id: str = KEY_ID, token: str = TOKEN) -> None:
        self.secret = secret
        self.key_id = key_id
        self.token = token
        self.version = 0
        self.snapshots: dict[int, bytes] = {}
        self.deltas: dict[int, bytes] = {}  # keyed by base version
        self.events: dict[str, dict[str, Any]] = {}
        self.batches: list[list[str]] = []
        self.rule_requests: list[int] = []
        self.unavailable = False
        self.clock_offset = timedelta(0)
        # Per-request overrides: given the ``since`` asked for, the document to serve instead.
        self.serve_instead: Callable[[int], bytes | dict[str, Any] | None] | None = None
        self.reject_types: dict[str, str] = {}
        self.forget_keys: set[str] = set()  # keys the server leaves out of its answer
        self.lose_next_answer = False  # apply the next batch, then hang up without answering
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandInServer:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- what the tests publish -----------------------------------------------------------

    def publish(self, model: RuleSnapshot | RuleDelta, *, secret: bytes | None = None) -> bytes:
        """Publish a snapshot, or a delta onto the current version (with its full snapshot)."""
        if isinstance(model, RuleSnapshot):
            document = sign_document(
                DocumentKind.SNAPSHOT, model, secret or self.secret, self.key_id
            )
            with self._lock:
                self.snapshots[model.version] = document
                self.version = max(self.version, model.version)
            return document
        document = sign_document(DocumentKind.DELTA, model, secret or self.secret, self.key_id)
        with self._lock:
            self.deltas[model.base_version] = document
            self.version = max(self.version, model.version)
        return document

    def event_keys(self) -> list[str]:
        with self._lock:
            return list(self.events)

    # -- HTTP -------------------------------------------------------------------------------

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                now = time.time() + server.clock_offset.total_seconds()
                return email.utils.formatdate(now, usegmt=True)

            def _answer(self, status: int, body: Any) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorised(self) -> bool:
                if server.unavailable:
                    self._answer(503, {"detail": "down for maintenance"})
                    return False
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    self._answer(401, {"detail": "unknown token"})
                    return False
                return True

            def do_GET(self) -> None:
                url = urllib.parse.urlsplit(self.path)
                if url.path != "/api/access/rules" or not self._authorised():
                    if url.path != "/api/access/rules":
                        self._answer(404, {"detail": "not found"})
                    return
                since = int(urllib.parse.parse_qs(url.query).get("since", ["0"])[0])
                server.rule_requests.append(since)
                if server.serve_instead is not None:
                    instead = server.serve_instead(since)
                    if instead is not None:
                        document = instead if isinstance(instead, dict) else _embed(instead)
                        self._answer(
                            200,
                            {"up_to_date": False, "version": server.version, "document": document},
                        )
                        return
                with server._lock:
                    version = server.version
                    if since == version:
                        self._answer(200, {"up_to_date": True, "version": version})
                        return
                    document = server.deltas.get(since) if since == version - 1 else None
                    if document is None:
                        document = server.snapshots.get(version)
                if document is None:
                    self._answer(200, {"up_to_date": True, "version": 0})
                    return
                self._answer(
                    200, {"up_to_date": False, "version": version, "document": json.loads(document)}
                )

            def do_POST(self) -> None:
                if self.path != "/api/access/events":
                    self._answer(404, {"detail": "not found"})
                    return
                if not self._authorised():
                    return
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                applied, duplicates, rejected = [], [], []
                keys = []
                with server._lock:
                    for item in body["events"]:
                        key = item["key"]
                        keys.append(key)
                        if key in server.forget_keys:
                            continue
                        if item["type"] in server.reject_types:
                            rejected.append(
                                {"key": key, "reason": server.reject_types[item["type"]]}
                            )
                        elif key in server.events:
                            duplicates.append(key)
                        else:
                            server.events[key] = item
                            applied.append(key)
                    server.batches.append(keys)
                    lose, server.lose_next_answer = server.lose_next_answer, False
                if lose:
                    self.close_connection = True
                    return
                self._answer(
                    200, {"applied": applied, "duplicates": duplicates, "rejected": rejected}
                )

        return Handler
