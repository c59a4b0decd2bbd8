"""For the worker tests against the live test server: a generated scene as a camera's video
file, a TCP gate in front of the server that can be shut (the server "down"), and a wait for a
condition that the worker's threads bring about."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.db import OperationalError

from mailwarden.vision import synthetic

T = TypeVar("T")


def dwell_video(folder: Path) -> Path:
    """One person stands in the middle from 5 s to 25 s; a second walks across at 8-14 s."""
    path = folder / "dwell.mp4"
    if not path.exists():
        synthetic.write_video(synthetic.dwell_scene(), str(path))
    return path


def wait_for(what: Callable[[], T], timeout: float = 90.0, why: str = "") -> T:
    """Poll until ``what()`` is truthy: the worker's threads do the work, the test only looks."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = what()
        except OperationalError as error:
            # The in-memory SQLite test database is shared between threads through SQLite's shared
            # cache, which locks a whole table while the server's thread writes to it; a file
            # database (or PostgreSQL) would let the read through, so look again.
            if "is locked" not in str(error):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {why or what}")
        time.sleep(0.1)


class TcpGate:
    """A loopback port that forwards to the server while open, and refuses connections (and
    cuts those in flight) while shut: the server, as the worker sees it, goes down and back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.listener: socket.socket | None = None
        self.links: list[socket.socket] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def shut(self) -> None:
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)
            self.listener.close()
            self.listener = None
        with self.lock:
            for link in self.links:
                with contextlib.suppress(OSError):
                    link.shutdown(socket.SHUT_RDWR)
                link.close()
            self.links.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.links += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)
