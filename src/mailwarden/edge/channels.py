"""Byte channels that carry OSDP between the control panel and its readers.

libosdp calls ``read`` and ``write`` from its refresh loop while holding its lock, so neither may
block: ``read`` returns ``b''`` when nothing has arrived and ``write`` returns how many bytes it
managed to hand over (possibly 0). Neither may raise either: the C binding turns an exception into
a failed transfer and prints it, so errors are kept on the channel (``last_error``) instead.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import socket
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

import osdp as libosdp
import serial

log = logging.getLogger(__name__)

_channel_ids = itertools.count(1)


def _discard_input(sock: socket.socket) -> None:
    """Drop whatever has arrived. libosdp flushes when it resets a link (a PD re-enabled, an
    error): a stale reply left in the buffer would be read as the answer to its next command."""
    try:
        while sock.recv(4096):
            pass
    except OSError:
        pass


class ByteChannel(libosdp.Channel):  # type: ignore[misc]  # libosdp ships no type information
    """Base for our channels: a unique id, because libosdp treats PDs whose channels share an id as
    sharing one multi-drop bus and serialises them."""

    def __init__(self) -> None:
        super().__init__()
        self.id = next(_channel_ids)
        self.last_error: str | None = None

    def close(self) -> None:
        raise NotImplementedError


class SocketChannel(ByteChannel):
    """A connected stream socket: one end of ``socket.socketpair()`` or an accepted connection."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        sock.setblocking(False)
        self._sock: socket.socket | None = sock
        self.peer_closed = False

    def read(self, max_bytes: int) -> bytes:
        if self._sock is None:
            return b""
        try:
            data = self._sock.recv(max_bytes)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            self._fail(exc)
            return b""
        if not data:
            self.peer_closed = True
        return data

    def write(self, buf: bytes) -> int:
        if self._sock is None:
            return 0
        try:
            return self._sock.send(buf)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as exc:
            self._fail(exc)
            return 0

    def flush(self) -> None:
        if self._sock is not None:
            _discard_input(self._sock)

    def _fail(self, exc: OSError) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        self.peer_closed = True

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


class _Redial:
    """Brings a channel's link back by itself, on a thread of its own.

    ``retry_after`` seconds after the channel reports its link lost, and every ``retry_after``
    seconds after that, it calls ``attempt`` until that succeeds; then it tells the watchers.
    libosdp touches a channel only while it talks to a reader, and the panel retries an offline
    reader with a backoff that grows to a minute, so a reconnect left to those touches came up to
    a minute or more after the far end was back. This one is back within ``retry_after`` (plus
    the connect), and the panel, told so, tries the channel's readers at once.
    """

    def __init__(
        self, name: str, attempt: Callable[[], bool], retry_after: float, *, up: bool
    ) -> None:
        self._attempt = attempt
        self._retry_after = retry_after
        self._lost = threading.Event()
        self._closing = threading.Event()
        self._watchers: list[Callable[[], None]] = []
        self._up = up
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def watch(self, callback: Callable[[], None]) -> None:
        self._watchers.append(callback)

    def lost(self) -> None:
        self._lost.set()

    def close(self) -> None:
        self._closing.set()
        self._lost.set()

    def _run(self) -> None:
        up = self._up
        while True:
            if up:
                self._lost.wait()
                if self._closing.wait(self._retry_after):
                    return
            self._lost.clear()
            try:
                up = self._attempt()
            except Exception:
                log.exception("%s: reconnecting failed", self._thread.name)
                up = False
            if up:
                for callback in list(self._watchers):
                    try:
                        callback()
                    except Exception:
                        log.exception("%s: a watcher failed", self._thread.name)
            elif self._closing.wait(self._retry_after):
                return


class TcpChannel(ByteChannel):
    """OSDP over TCP (an IP-to-RS-485 bridge or an OSDP-over-IP reader), reconnecting on loss.

    A thread of the channel's own connects: at once, then ``retry_after`` seconds after the
    connection is lost and every ``retry_after`` seconds after that until it is back, whether or
    not libosdp is talking to the channel meanwhile (``_Redial``). Until it is up, ``write``
    takes nothing and ``read`` returns nothing, and libosdp marks the reader offline as it would
    for a cut RS-485 line. ``watch`` registers a callback for each time the connection comes up.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        retry_after: float = 2.0,
        connect_timeout: float = 5.0,
    ) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self._connect_timeout = connect_timeout
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._redial = _Redial(f"osdp-tcp-{host}:{port}", self._dial, retry_after, up=False)

    @property
    def connected(self) -> bool:
        return self._sock is not None

    def watch(self, on_connected: Callable[[], None]) -> None:
        """Call ``on_connected`` (on the channel's thread) each time the connection comes up."""
        self._redial.watch(on_connected)

    def _dial(self) -> bool:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self._connect_timeout)
        except OSError as exc:
            with self._lock:
                self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        sock.setblocking(False)
        # Small OSDP frames are latency-bound; Nagle would hold a reply until the previous ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self._closed:
                sock.close()
                return False
            self._sock = sock
            self.last_error = None
        return True

    def _drop(self, exc: OSError) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._redial.lost()

    def read(self, max_bytes: int) -> bytes:
        with self._lock:
            sock = self._sock
            if sock is None:
                return b""
            try:
                data = sock.recv(max_bytes)
            except (BlockingIOError, InterruptedError):
                return b""
            except OSError as exc:
                self._drop(exc)
                return b""
            if not data:
                self._drop(ConnectionResetError("peer closed the connection"))
            return data

    def write(self, buf: bytes) -> int:
        with self._lock:
            sock = self._sock
            if sock is None:
                return 0
            try:
                return sock.send(buf)
            except (BlockingIOError, InterruptedError):
                return 0
            except OSError as exc:
                self._drop(exc)
                return 0

    def flush(self) -> None:
        with self._lock:
            if self._sock is not None:
                _discard_input(self._sock)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._sock is not None:
                self._sock.close()
            self._sock = None
        self._redial.close()


class SerialChannel(ByteChannel):
    """RS-485 through a serial port (pyserial), opened non-blocking for both directions.

    A port named by its path is opened again when it fails (a USB adaptor unplugged and plugged
    back, or re-enumerated behind a udev symlink), by a thread of the channel's own:
    ``retry_after`` seconds after the failure and every ``retry_after`` seconds after that
    (``_Redial``), whether or not libosdp is talking to the channel meanwhile. Until then nothing
    is carried and libosdp marks its readers offline, as for a cut line. The first open is not
    retried: a wrong path is a configuration error to report at once. ``watch`` registers a
    callback for each time the port is opened again.
    """

    def __init__(
        self,
        port: str | serial.Serial,
        baudrate: int = 9600,
        *,
        retry_after: float = 2.0,
    ) -> None:
        super().__init__()
        self._path = None if isinstance(port, serial.Serial) else port
        self._baudrate = baudrate
        self._lock = threading.Lock()
        self._closed = False
        self._port: serial.Serial | None = None
        self._fd: int | None = None
        self._redial: _Redial | None = None
        if isinstance(port, serial.Serial):
            port.timeout = 0
            port.write_timeout = 0
            self._adopt(port)
        else:
            self._adopt(self._open())
            # Only a port opened by its path can be opened again.
            self._redial = _Redial(f"osdp-serial-{port}", self._reopen, retry_after, up=True)

    def _open(self) -> serial.Serial:
        # timeout=0 makes read return what is buffered; write_timeout=0 makes write return the
        # count the driver accepted instead of waiting for the rest.
        return serial.Serial(self._path, baudrate=self._baudrate, timeout=0, write_timeout=0)

    def _adopt(self, port: serial.Serial) -> None:
        self._port = port
        fileno = getattr(port, "fileno", None)
        self._fd = fileno() if os.name == "posix" and fileno is not None else None

    def watch(self, on_opened: Callable[[], None]) -> None:
        """Call ``on_opened`` (on the channel's thread) each time the port is opened again."""
        if self._redial is not None:
            self._redial.watch(on_opened)

    def _reopen(self) -> bool:
        try:
            port = self._open()
        except (serial.SerialException, OSError) as exc:
            with self._lock:
                self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        with self._lock:
            if self._closed:
                port.close()
                return False
            self._adopt(port)
            self.last_error = None
        return True

    def _fail(self, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self._redial is None:
            return  # a port handed in cannot be opened again: keep it as it is
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.close()
        self._port, self._fd = None, None
        self._redial.lost()

    def read(self, max_bytes: int) -> bytes:
        with self._lock:
            port = self._port
            if port is None:
                return b""
            try:
                waiting = port.in_waiting
                if not waiting:
                    return b""
                return bytes(port.read(min(waiting, max_bytes)))
            except (serial.SerialException, OSError) as exc:
                self._fail(exc)
                return b""

    def write(self, buf: bytes) -> int:
        with self._lock:
            port = self._port
            if port is None:
                return 0
            try:
                if self._fd is not None:
                    # pyserial's own write retries EAGAIN in a loop even with write_timeout=0,
                    # which would spin inside libosdp's lock while the line is busy; os.write
                    # returns.
                    return os.write(self._fd, buf)
                return port.write(buf) or 0
            except (BlockingIOError, InterruptedError, serial.SerialTimeoutException):
                return 0
            except (serial.SerialException, OSError) as exc:
                self._fail(exc)
                return 0

    def flush(self) -> None:
        # libosdp calls flush to drop a half-received frame after an error; discarding unread
        # input is what it wants, not waiting for output to drain (which would block).
        with self._lock:
            if self._port is None:
                return
            try:
                self._port.reset_input_buffer()
            except (serial.SerialException, OSError) as exc:
                self._fail(exc)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._port is not None:
                self._port.close()
            self._port, self._fd = None, None
        if self._redial is not None:
            self._redial.close()


def open_channel(url: str, **options: Any) -> ByteChannel:
    """Open a channel from a reader's configured address.

    ``tcp://host:port`` connects over TCP; ``serial:///dev/ttyUSB0?baudrate=9600`` (or a bare
    device path) opens a serial port.
    """
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme == "tcp":
        if not parsed.hostname or parsed.port is None:
            raise ValueError(f"channel {url!r}: a tcp channel needs tcp://host:port")
        return TcpChannel(parsed.hostname, parsed.port, **options)
    if parsed.scheme in ("serial", ""):
        path = parsed.path
        if not path:
            raise ValueError(f"channel {url!r}: a serial channel needs a device path")
        query = urllib.parse.parse_qs(parsed.query)
        baudrate = int(query.get("baudrate", [str(options.pop("baudrate", 9600))])[0])
        return SerialChannel(path, baudrate=baudrate, **options)
    raise ValueError(f"channel {url!r}: unknown scheme {parsed.scheme!r} (use tcp:// or serial://)")
