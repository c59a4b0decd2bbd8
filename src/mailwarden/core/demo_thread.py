"""What an app's demo runs beside the demo server, in a thread of the same process: simulated
door controllers, a camera's worker. Each waits for the server to listen, runs, and on failure
says so once and leaves the console running (core.plugins.DemoSeeder.live)."""

from __future__ import annotations

import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar, Self
from urllib.parse import urlsplit

log = logging.getLogger(__name__)


def local_url(host: str, port: int) -> str:
    """Where a process on this machine reaches a server listening on ``host``."""
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}"


class BesideServer:
    """``start`` returns at once; the thread waits for the server at ``server_url``, then runs
    :meth:`run` until :meth:`stop`. A failure is reported once through ``report``."""

    # The thread's name, what runs ("the simulated door controller") and what the console
    # lacks without it ("live door traffic"), for the one line a failure prints.
    thread_name: ClassVar[str] = "demo"
    what: ClassVar[str] = "a demo device"
    lacking: ClassVar[str] = "it"

    def __init__(
        self,
        where: str | Path,
        server_url: str,
        *,
        wait_s: float = 60.0,
        report: Callable[[str], None] | None = None,
    ) -> None:
        self.where = Path(where)
        self.server_url = server_url.rstrip("/")
        self.wait_s = wait_s
        self._report = report or (lambda line: print(line, file=sys.stderr, flush=True))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.failed: str | None = None
        self.running = threading.Event()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._main, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def alive(self) -> bool:
        """Whether the thread is still at work (waiting for the server, or running)."""
        return self._thread is not None and self._thread.is_alive()

    def run(self) -> None:
        """The work, once the server listens; it returns when ``self._stop`` is set."""
        raise NotImplementedError

    def cleanup(self) -> None:
        """Release what :meth:`run` left behind, whether it ended or failed."""

    def _main(self) -> None:
        try:
            if self._wait_for_server():
                self.run()
        except Exception as exc:
            self.failed = f"{type(exc).__name__}: {exc}"
            log.debug("%s failed", self.thread_name, exc_info=True)
            self._report(
                f"mailwarden demo: {self.what} stopped ({self.failed}); "
                f"the console keeps running without {self.lacking}."
            )
        finally:
            self.running.clear()
            self.cleanup()

    def _wait_for_server(self) -> bool:
        parts = urlsplit(self.server_url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        deadline = time.monotonic() + self.wait_s
        while not self._stop.is_set():
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return True
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server at {self.server_url} did not start") from None
            self._stop.wait(0.2)
        return False
