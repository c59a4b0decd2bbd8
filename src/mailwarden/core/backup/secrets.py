"""The configuration in an archive: the settings without their secrets, and the secrets apart,
encrypted with a passphrase (scrypt, then AES-256-GCM) when the backup is asked for them.

Secret settings are the secret key, every password and token, and the password inside a
database or queue URL; secret files are the signing key's and the ledger checkpoint key's.
"""

from __future__ import annotations

import base64
import contextlib
import getpass
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from mailwarden.config import ConfigError, Settings
from mailwarden.core.backup.errors import BackupError

PASSPHRASE_VARIABLE = "MW_BACKUP_PASSPHRASE"
_SECRET_SUFFIXES = ("password", "token", "secret_key")
_URL_FIELDS = ("database_url", "queue_url")
# scrypt's cost: about 0.1 s and 32 MiB per try, which is what makes guessing slow.
_N, _R, _P = 2**15, 8, 1
ENVELOPE = "mailwarden-secrets/1"


@dataclass
class Secrets:
    """Secret settings by dotted name, and secret files' contents by role."""

    settings: dict[str, Any] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)

    def values(self) -> list[str]:
        return [str(v) for v in self.settings.values() if v] + [v for v in self.files.values() if v]


def _is_secret(name: str) -> bool:
    return name.endswith(_SECRET_SUFFIXES)


def _without_password(url: str) -> str | None:
    """The URL without its password, or None when it carries none."""
    parts = urlsplit(url)
    if not parts.password:
        return None
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = f"{parts.username}@" if parts.username else ""
    return urlunsplit(parts._replace(netloc=user + host))


def split(settings: Settings) -> tuple[dict[str, Any], Secrets]:
    """The settings as plain data without secrets, and the secrets taken out."""
    public: dict[str, Any] = settings.model_dump(mode="json")
    found = Secrets()

    def walk(node: dict[str, Any], prefix: str) -> None:
        for key in list(node):
            value = node[key]
            name = f"{prefix}{key}"
            if isinstance(value, dict):
                walk(value, f"{name}.")
            elif _is_secret(key) and value not in (None, ""):
                found.settings[name] = value
                node[key] = None
            elif key in _URL_FIELDS and isinstance(value, str):
                bare = _without_password(value)
                if bare is not None:
                    found.settings[name] = value
                    node[key] = bare

    walk(public, "")
    for role, path in _secret_files(settings).items():
        try:
            found.files[role] = path.read_text()
        except OSError:
            continue  # not made yet: nothing to keep
    return public, found


def _secret_files(settings: Settings) -> dict[str, Path]:
    files = {}
    if settings.secret_key_file:
        files["secret_key"] = settings.secret_key_file
    elif not settings.secret_key:
        files["secret_key"] = settings.data_dir / "secret_key"
    # Production without a ledger key file: `check --deploy` says so.
    with contextlib.suppress(ConfigError):
        files["ledger_key"] = settings.ledger_key_path()
    return files


def secret_file_paths(settings: Settings) -> dict[str, Path]:
    """Where the restored secret files go: the paths the target's own settings name."""
    return _secret_files(settings)


def settings_yaml(public: dict[str, Any]) -> bytes:
    header = (
        "# mailwarden settings at the time of the backup, without their secrets\n"
        "# (secret fields are null; see docs/backup.md).\n"
    )
    return (header + yaml.safe_dump(public, sort_keys=True)).encode()


def merged_yaml(public: dict[str, Any], secrets: Secrets) -> bytes:
    """The settings with their secrets put back, for a restore given the passphrase."""
    data = json.loads(json.dumps(public))
    for dotted, value in secrets.settings.items():
        node = data
        *parents, leaf = dotted.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return (b"# mailwarden settings restored from a backup, secrets included\n") + (
        yaml.safe_dump(data, sort_keys=True).encode()
    )


def _key(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=_N, r=_R, p=_P).derive(passphrase.encode())


def encrypt(secrets: Secrets, passphrase: str) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    plain = json.dumps({"settings": secrets.settings, "files": secrets.files}).encode()
    sealed = AESGCM(_key(passphrase, salt)).encrypt(nonce, plain, ENVELOPE.encode())
    envelope = {
        "format": ENVELOPE,
        "kdf": {"name": "scrypt", "n": _N, "r": _R, "p": _P},
        "salt": base64.b64encode(salt).decode(),
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }
    return json.dumps(envelope, indent=1).encode()


def decrypt(blob: bytes, passphrase: str) -> Secrets:
    try:
        envelope = json.loads(blob)
        kdf = envelope["kdf"]
        salt = base64.b64decode(envelope["salt"])
        key = Scrypt(salt=salt, length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(
            passphrase.encode()
        )
        plain = AESGCM(key).decrypt(
            base64.b64decode(envelope["nonce"]),
            base64.b64decode(envelope["ciphertext"]),
            ENVELOPE.encode(),
        )
    except InvalidTag:
        raise BackupError("the passphrase does not open the archive's secrets") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"the archive's secrets cannot be read ({exc})") from None
    data = json.loads(plain)
    return Secrets(dict(data["settings"]), dict(data["files"]))


def passphrase(*, twice: bool) -> str:
    """From MW_BACKUP_PASSPHRASE, else asked on the terminal (``twice`` when choosing one)."""
    given = os.environ.get(PASSPHRASE_VARIABLE)
    if given:
        return given
    if not sys.stdin.isatty():
        raise BackupError(f"set {PASSPHRASE_VARIABLE}: there is no terminal to ask for it on")
    first = getpass.getpass("passphrase for the archive's secrets: ")
    if not first:
        raise BackupError("the passphrase is empty")
    if twice and getpass.getpass("the same passphrase again: ") != first:
        raise BackupError("the two passphrases differ")
    return first
