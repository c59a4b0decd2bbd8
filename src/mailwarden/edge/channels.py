"""Byte channels that carry OSDP between the control panel and its readers.

libosdp calls ``read`` and ``write`` from its refresh loop while holding its lock, so neither may
block: ``read`` returns ``b''`` when nothing has arrived and ``write`` returns how many bytes it
managed to hand over (possibly 0). Neither may raise either: the C binding turns an exception into
a failed transfer and prints it, so errors are kept on the channel (``last_error``) instead.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import socket
import threading
import urllib.parse
from typing import Any

import osdp as libosdp
import serial

from .clock import MonotonicClock, monotonic

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


class TcpChannel(ByteChannel):
    """OSDP over TCP (an IP-to-RS-485 bridge or an OSDP-over-IP reader), reconnecting on loss.

    Connects without blocking: until the connection is up, ``write`` takes nothing and ``read``
    returns nothing, and libosdp marks the reader offline as it would for a cut RS-485 line.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        retry_after: float = 2.0,
        clock: MonotonicClock = monotonic,
    ) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self._retry_after = retry_after
        self._clock = clock
        self._sock: socket.socket | None = None
        self._connected = False
        self._next_attempt = 0.0
        self._lock = threading.Lock()
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._connected

    def _ensure(self) -> socket.socket | None:
        if self._closed:
            return None
        if self._sock is None:
            if self._clock() < self._next_attempt:
                return None
            self._open()
        if self._sock is not None and not self._connected:
            self._finish_connect()
        return self._sock if self._connected else None

    def _open(self) -> None:
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            family, kind, proto, _, address = infos[0]
            sock = socket.socket(family, kind, proto)
        except OSError as exc:
            self._drop(exc)
            return
        sock.setblocking(False)
        # Small OSDP frames are latency-bound; Nagle would hold a reply until the previous ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EALREADY):
            sock.close()
            self._drop(OSError(code, os.strerror(code)))
            return
        self._sock = sock
        self._connected = code == 0

    def _finish_connect(self) -> None:
        assert self._sock is not None
        code = self._sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code in (errno.EINPROGRESS, errno.EALREADY):
            return
        if code != 0:
            self._drop(OSError(code, os.strerror(code)))
            return
        try:
            self._sock.getpeername()
        except OSError:
            return  # still connecting
        self._connected = True
        self.last_error = None

    def _drop(self, exc: OSError) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self._sock is not None:
            self._sock.close()
        self._sock = None
        self._connected = False
        self._next_attempt = self._clock() + self._retry_after

    def read(self, max_bytes: int) -> bytes:
        with self._lock:
            sock = self._ensure()
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
            sock = self._ensure()
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
            if self._sock is not None and self._connected:
                _discard_input(self._sock)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._sock is not None:
                self._sock.close()
            self._sock = None
            self._connected = False


class SerialChannel(ByteChannel):
    """RS-485 through a serial port (pyserial), opened non-blocking for both directions.

    A port named by its path is opened again ``retry_after`` seconds after it fails: a USB
    adaptor unplugged and plugged back, or re-enumerated behind a udev symlink, comes back without
    a restart. Meanwhile nothing is carried and libosdp marks its readers offline, as for a cut
    line. The first open is not retried: a wrong path is a configuration error to report at once.
    """

    def __init__(
        self,
        port: str | serial.Serial,
        baudrate: int = 9600,
        *,
        retry_after: float = 2.0,
        clock: MonotonicClock = monotonic,
    ) -> None:
        super().__init__()
        self._path = None if isinstance(port, serial.Serial) else port
        self._baudrate = baudrate
        self._retry_after = retry_after
        self._clock = clock
        self._next_attempt = 0.0
        self._lock = threading.Lock()
        self._closed = False
        self._port: serial.Serial | None = None
        self._fd: int | None = None
        if isinstance(port, serial.Serial):
            port.timeout = 0
            port.write_timeout = 0
            self._adopt(port)
        else:
            self._adopt(self._open())

    def _open(self) -> serial.Serial:
        # timeout=0 makes read return what is buffered; write_timeout=0 makes write return the
        # count the driver accepted instead of waiting for the rest.
        return serial.Serial(self._path, baudrate=self._baudrate, timeout=0, write_timeout=0)

    def _adopt(self, port: serial.Serial) -> None:
        self._port = port
        fileno = getattr(port, "fileno", None)
        self._fd = fileno() if os.name == "posix" and fileno is not None else None

    def _ensure(self) -> serial.Serial | None:
        if self._port is None and not self._closed and self._clock() >= self._next_attempt:
            try:
                self._adopt(self._open())
                self.last_error = None
            except (serial.SerialException, OSError) as exc:
                self._fail(exc)
        return self._port

    def _fail(self, exc: Exception) -> None:
        self.last_error = f"{type(exc).__name__}: {exc}"
        if self._path is None:
            return  # a port handed in cannot be opened again: keep it as it is
        if self._port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                self._port.close()
        self._port, self._fd = None, None
        self._next_attempt = self._clock() + self._retry_after

    def read(self, max_bytes: int) -> bytes:
        with self._lock:
            port = self._ensure()
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
            port = self._ensure()
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
