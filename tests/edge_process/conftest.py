from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from mailwarden.edge.channels import SocketChannel
from mailwarden.edge.config import EdgeConfig, load_config, load_secrets
from mailwarden.edge.process import EdgeProcess
from mailwarden.edge.simulated_reader import SimulatedReader

from ..edge.conftest import QUIET, SETTLE_S, WAIT
from ..edge.rulebook import KEY_ID, SECRET
from .standin import TOKEN, StandInServer

READERS = ("mailroom-in", "mailroom-out", "vault-in")
DOOR_OF = {"mailroom-in": "mailroom", "mailroom-out": "mailroom", "vault-in": "vault"}


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll a condition (cheap checks only) until it holds; fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def write_config(
    folder: Path,
    server_url: str,
    *,
    readers: tuple[str, ...] = READERS,
    poll_interval_s: float = 0.2,
    **over: Any,
) -> Path:
    """A config with its token, sync secret and reader keys beside it, written as an installer
    would (relative paths, key files 0600)."""
    keys = folder / "keys"
    keys.mkdir(exist_ok=True)
    (keys / "token").write_text(TOKEN + "\n")
    (keys / "sync.key").write_text(SECRET.hex() + "\n")
    (keys / "token").chmod(0o600)
    (keys / "sync.key").chmod(0o600)
    for name in readers:
        path = keys / f"{name}.key"
        path.write_text(secrets.token_bytes(16).hex())
        path.chmod(0o600)
    config: dict[str, Any] = {
        "name": KEY_ID,
        "data_dir": "data",
        "server": {
            "url": server_url,
            "token_file": "keys/token",
            "sync_secret_file": "keys/sync.key",
            "poll_interval_s": poll_interval_s,
            "retry_base_s": 0.1,
            "retry_max_s": 0.5,
            "timeout_s": 5,
        },
        "readers": [
            {
                "id": name,
                "channel": f"tcp://sim-{name}:4001",
                "address": index + 1,
                "key_file": f"keys/{name}.key",
                "door": DOOR_OF.get(name, name),
            }
            for index, name in enumerate(readers)
        ],
    }
    if any(DOOR_OF.get(name) == "mailroom" for name in readers):
        config["doors"] = {"mailroom": {"strike_s": 60}}
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(config.get(key), dict):
            config[key] = {**config[key], **value}
        else:
            config[key] = value
    path = folder / "edge.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Wiring:
    """Socketpairs between the edge process's panel and simulated readers, one per reader.

    The process asks for channels by their configured address; each gets the panel end of a
    fresh socketpair, and a simulated reader holding that reader's key sits on the other end.
    """

    def __init__(self, config: EdgeConfig) -> None:
        self.config = config
        self.keys = load_secrets(config).reader_keys
        self.readers: dict[str, SimulatedReader] = {}
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def channel(self, address: str) -> SocketChannel:
        reader = next(r for r in self.config.readers if r.channel == address)
        reader_end, panel_end = socket.socketpair()
        self._sockets += [reader_end, panel_end]
        simulated = SimulatedReader(
            SocketChannel(reader_end), reader.address, self.keys[reader.id], log_level=QUIET
        )
        simulated.start()
        self.readers[reader.id] = simulated
        return SocketChannel(panel_end)

    def close(self) -> None:
        for reader in self.readers.values():
            reader.stop()
        for sock in self._sockets:
            sock.close()


class SteppedClock:
    """The real monotonic clock, which a test can also move forward at once."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


def build_edge(config_path: Path) -> tuple[EdgeProcess, Wiring, SteppedClock]:
    """An edge process with its simulated readers already running, not started yet."""
    config = load_config(config_path)
    wiring = Wiring(config)
    clock = SteppedClock()
    process = EdgeProcess(
        config,
        load_secrets(config),
        channel_factory=wiring.channel,
        monotonic_clock=clock,
        osdp_log_level=QUIET,
    )
    return process, wiring, clock


def start_edge(config_path: Path) -> tuple[EdgeProcess, Wiring]:
    process, wiring, clock = build_edge(config_path)
    process.start()
    for reader in process.config.readers:
        assert process.panel.wait_secure(reader.id, WAIT), f"{reader.id} not on Secure Channel"
    # Past the readers' settling window: what they read from now on is a person at the door.
    clock.advance(SETTLE_S)
    return process, wiring


@pytest.fixture
def server() -> Iterator[StandInServer]:
    standin = StandInServer().start()
    yield standin
    standin.close()
