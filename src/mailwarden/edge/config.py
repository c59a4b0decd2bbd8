"""The ``mailwarden edge`` configuration: one YAML file, checked before anything starts.

Example::

    name: mailroom-edge-1            # the device name the server knows this controller by
    data_dir: /var/lib/mailwarden-edge
    server:
      url: https://mailwarden.example.org
      token_file: /etc/mailwarden-edge/token
      sync_secret_file: /etc/mailwarden-edge/sync.key   # hex, at least 32 bytes
      poll_interval_s: 2
    readers:
      - id: mailroom-in              # the reader id used in the rules
        channel: /dev/ttyUSB0        # or tcp://10.0.0.20:4001
        address: 1                   # OSDP address
        key_file: /etc/mailwarden-edge/mailroom-in.key     # written by `edge provision`
        door: mailroom               # the door id used in the rules
    doors:
      mailroom: {io: simulated, strike_s: 5}

Unknown keys are refused by name (a misspelt security setting must not fall back to its
default), and relative paths are taken from the config file's folder. Key files are read
separately (``load_secrets``) because ``edge provision`` must accept a reader whose key file does
not exist yet.
"""

from __future__ import annotations

import logging
import os
import stat
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic import field_validator as field_check

from .doors import FailureMode
from .osdp import KEY_LENGTH, ReaderKeyError, check_reader_key
from .private_files import OWNER_ONLY
from .signing import MIN_SECRET_BYTES

log = logging.getLogger(__name__)

Name = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


class EdgeConfigError(ValueError):
    """A configuration problem, naming the file, the field and the reason."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Model):
    url: str
    token: SecretStr | None = None
    token_file: Path | None = None
    sync_secret_file: Path
    # The key id the server puts in the envelopes it signs for this controller; default: ``name``.
    key_id: str | None = Field(default=None, min_length=1, max_length=100)
    poll_interval_s: float = Field(default=2.0, gt=0, le=3600)
    timeout_s: float = Field(default=10.0, gt=0, le=300)
    verify_tls: bool = True
    ca_file: Path | None = None
    clock_skew_threshold_s: float = Field(default=30.0, gt=0)
    # Retry spacing for events the server did not take. The cap is well under the outbox's own
    # default (300 s) because a mailroom's backlog should reach the server soon after it returns.
    retry_base_s: float = Field(default=2.0, gt=0)
    retry_max_s: float = Field(default=60.0, gt=0)
    batch_size: int = Field(default=500, ge=1, le=500)

    @field_check("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parsed = urllib.parse.urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        if parsed.query or parsed.fragment:
            raise ValueError("must not carry a query or fragment")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _one_token(self) -> ServerSettings:
        if (self.token is None) == (self.token_file is None):
            raise ValueError("give exactly one of token and token_file")
        if self.retry_max_s < self.retry_base_s:
            raise ValueError("retry_max_s must be at least retry_base_s")
        return self


class DoorSettings(_Model):
    io: Literal["simulated"] = "simulated"
    strike_s: float = Field(default=5.0, gt=0, le=600)
    rex_s: float = Field(default=10.0, gt=0, le=600)
    held_open_s: float = Field(default=30.0, gt=0, le=3600)
    failure_mode: FailureMode = FailureMode.FAIL_SECURE


class ReaderSettings(_Model):
    id: Name
    channel: str
    address: int = Field(ge=0, le=126)
    key_file: Path
    door: Name

    @field_check("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        check_channel(value)
        return value


class EdgeConfig(_Model):
    name: Name
    data_dir: Path
    server: ServerSettings
    readers: tuple[ReaderSettings, ...] = Field(min_length=1)
    doors: dict[Name, DoorSettings] = {}
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    @model_validator(mode="after")
    def _readers(self) -> EdgeConfig:
        ids = [r.id for r in self.readers]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"reader ids must be unique: {', '.join(dupes)}")
        # One control panel drives every reader and names each by its OSDP address, so an
        # address may be used once per controller, not just once per RS-485 bus.
        seen: dict[int, str] = {}
        for reader in self.readers:
            if reader.address in seen:
                raise ValueError(
                    f"readers {seen[reader.address]} and {reader.id} both use address "
                    f"{reader.address}; each reader on a controller needs its own address, "
                    "even on different channels"
                )
            seen[reader.address] = reader.id
        files = [r.key_file for r in self.readers]
        shared = sorted({str(f) for f in files if files.count(f) > 1})
        if shared:
            raise ValueError(f"each reader needs its own key_file: {', '.join(shared)}")
        unused = sorted(set(self.doors) - {r.door for r in self.readers})
        if unused:
            raise ValueError(f"doors with no reader: {', '.join(unused)}")
        return self

    @property
    def key_id(self) -> str:
        return self.server.key_id or self.name

    def reader(self, reader_id: str) -> ReaderSettings:
        for reader in self.readers:
            if reader.id == reader_id:
                return reader
        known = ", ".join(r.id for r in self.readers)
        raise EdgeConfigError(f"no reader {reader_id!r} in the config (readers: {known})")

    def door_settings(self, door_id: str) -> DoorSettings:
        return self.doors.get(door_id, DoorSettings())

    @property
    def door_ids(self) -> list[str]:
        return list(dict.fromkeys(r.door for r in self.readers))


def check_channel(value: str) -> None:
    """Raise ValueError unless ``value`` is ``tcp://host:port``, ``serial://PATH`` or a path."""
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme == "tcp":
        try:
            port = parsed.port
        except ValueError:
            port = None
        if not parsed.hostname or port is None or parsed.path not in ("", "/"):
            raise ValueError("a TCP channel is tcp://host:port")
        return
    if parsed.scheme in ("", "serial"):
        if not parsed.path.startswith("/"):
            raise ValueError("a serial channel is a device path such as /dev/ttyUSB0")
        return
    raise ValueError(f"unknown channel scheme {parsed.scheme!r}: use a device path or tcp://")


# -- loading ----------------------------------------------------------------------------------


def _where(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(exc: ValidationError, source: Path) -> str:
    errors = exc.errors()
    lines = []
    for error in errors:
        loc = error["loc"]
        # A list whose only item is bad is also "too short" once that item is dropped; the
        # item's own error is the one that helps.
        if error["type"] == "too_short" and any(
            len(other["loc"]) > len(loc) and other["loc"][: len(loc)] == loc for other in errors
        ):
            continue
        where = _where(loc)
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling)"
        elif error["type"] == "missing":
            message = "required"
        else:
            message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{source}: {where}: {message}")
    return "\n".join(lines)


def _resolve(path: Path | None, base: Path) -> Path | None:
    if path is None:
        return None
    path = path.expanduser()
    return path if path.is_absolute() else base / path


def load_config(path: str | Path) -> EdgeConfig:
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise EdgeConfigError(f"{source}: cannot read the config: {exc.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EdgeConfigError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise EdgeConfigError(f"{source}: the config must be a YAML mapping of settings")
    try:
        config = EdgeConfig.model_validate(raw)
    except ValidationError as exc:
        raise EdgeConfigError(_describe(exc, source)) from None
    base = source.resolve().parent
    server = config.server.model_copy(
        update={
            "token_file": _resolve(config.server.token_file, base),
            "sync_secret_file": _resolve(config.server.sync_secret_file, base),
            "ca_file": _resolve(config.server.ca_file, base),
        }
    )
    readers = tuple(
        r.model_copy(update={"key_file": _resolve(r.key_file, base)}) for r in config.readers
    )
    return config.model_copy(
        update={"data_dir": _resolve(config.data_dir, base), "server": server, "readers": readers}
    )


# -- secrets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EdgeSecrets:
    token: str
    sync_secret: bytes
    reader_keys: dict[str, bytes]


def _read_secret_file(path: Path, field: str) -> str:
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise EdgeConfigError(f"{field}: file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "it is not ASCII text"
        raise EdgeConfigError(f"{field}: cannot read {path}: {reason}") from None
    # Read, a secret leaks; written, it can be swapped for one an intruder knows.
    exposed = stat.S_IRGRP | stat.S_IWGRP | stat.S_IROTH | stat.S_IWOTH
    if os.name == "posix" and info.st_mode & exposed:
        log.warning("%s: %s can be read or changed by other users; chmod 600 it", field, path)
    return text.strip()


def read_hex_key(
    path: Path, field: str, *, length: int | None = None, min_length: int | None = None
) -> bytes:
    text = _read_secret_file(path, field)
    try:
        key = bytes.fromhex("".join(text.split()))
    except ValueError:
        raise EdgeConfigError(f"{field}: {path} does not hold a hex key") from None
    if length is not None and len(key) != length:
        raise EdgeConfigError(
            f"{field}: {path} holds a {len(key)}-byte key; it must be {length} bytes "
            f"({2 * length} hex digits)"
        )
    if min_length is not None and len(key) < min_length:
        raise EdgeConfigError(
            f"{field}: {path} holds a {len(key)}-byte key; it must be at least {min_length} "
            f"bytes ({2 * min_length} hex digits)"
        )
    return key


def read_reader_key(config: EdgeConfig, reader_id: str) -> bytes:
    index, reader = next((i, r) for i, r in enumerate(config.readers) if r.id == reader_id)
    field = f"readers[{index}].key_file"
    key = read_hex_key(reader.key_file, field, length=KEY_LENGTH)
    try:
        return check_reader_key(key)
    except ReaderKeyError as exc:
        raise EdgeConfigError(f"{field}: {reader.key_file}: {exc}") from None


def load_secrets(config: EdgeConfig) -> EdgeSecrets:
    """Read every key and the token, raising EdgeConfigError naming the first field at fault."""
    server = config.server
    if server.token is not None:
        token = server.token.get_secret_value().strip()
    else:
        assert server.token_file is not None
        token = _read_secret_file(server.token_file, "server.token_file")
    if not token or any(c.isspace() for c in token):
        raise EdgeConfigError("server.token: a device token is one word with no spaces")
    secret = read_hex_key(
        server.sync_secret_file, "server.sync_secret_file", min_length=MIN_SECRET_BYTES
    )
    if server.ca_file is not None and not server.ca_file.is_file():
        raise EdgeConfigError(f"server.ca_file: file {server.ca_file} does not exist")
    keys = {r.id: read_reader_key(config, r.id) for r in config.readers}
    return EdgeSecrets(token=token, sync_secret=secret, reader_keys=keys)


def write_key_file(path: Path, key: bytes) -> None:
    """Write a hex key readable by its owner only, durably (the key may exist nowhere else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, OWNER_ONLY)
    try:
        os.fchmod(fd, OWNER_ONLY)  # O_CREAT's mode does not apply to a file that already existed
        os.write(fd, (key.hex() + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def describe(config: EdgeConfig) -> dict[str, Any]:
    """A summary safe to log: no token, no keys."""
    return {
        "name": config.name,
        "server": config.server.url,
        "readers": [
            {"id": r.id, "channel": r.channel, "address": r.address, "door": r.door}
            for r in config.readers
        ],
        "data_dir": str(config.data_dir),
    }
