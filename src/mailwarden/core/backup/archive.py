"""The archive: one tar file whose last member, ``manifest.json``, lists every other member's
SHA-256 and size.

The manifest is written last, so an archive cut short by a crash has none and is refused. The
file is written as ``NAME.partial`` and renamed only after an fsync, so a killed backup never
leaves a file that looks finished. Restore reads the manifest first and checks every member
against it before it writes anything (:func:`verify`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from mailwarden.core.backup.errors import BackupError

FORMAT = "mailwarden-backup/1"
MANIFEST = "manifest.json"
SUFFIX = ".tar"
PARTIAL = ".partial"
NAME_PREFIX = "mailwarden-"
STAMP = "%Y%m%dT%H%M%SZ"
_CHUNK = 1 << 20

Progress = Callable[[int], None]  # bytes done so far


def archive_name(at: datetime) -> str:
    """``mailwarden-20261207T024500Z.tar``: the time in the name is what pruning reads."""
    return f"{NAME_PREFIX}{at.astimezone(UTC).strftime(STAMP)}{SUFFIX}"


def time_of(name: str) -> datetime | None:
    """The time an archive's name carries, or None for a name that is not an archive's."""
    base = name.rsplit("/", 1)[-1]
    if not (base.startswith(NAME_PREFIX) and base.endswith(SUFFIX)):
        return None
    try:
        return datetime.strptime(base[len(NAME_PREFIX) : -len(SUFFIX)], STAMP).replace(tzinfo=UTC)
    except ValueError:
        return None


@dataclass(frozen=True)
class Member:
    sha256: str
    size: int


@dataclass
class Manifest:
    """What an archive holds and the state it was taken in."""

    version: str
    created_at: str
    vendor: str  # the database's: "sqlite" or "postgresql"
    database_member: str
    migrations: dict[str, list[str]]
    tables: dict[str, int]  # rows per table in the snapshot
    ledger_head_seq: int
    ledger_head_hash: str
    # The key that verifies the archived checkpoints (signed notes' verifier), if any.
    ledger_public_key: str | None
    secrets: bool
    files: dict[str, Member] = field(default_factory=dict)

    def to_json(self) -> bytes:
        data: dict[str, Any] = {
            "format": FORMAT,
            "version": self.version,
            "created_at": self.created_at,
            "database": {"vendor": self.vendor, "member": self.database_member},
            "migrations": self.migrations,
            "tables": self.tables,
            "ledger": {
                "head_seq": self.ledger_head_seq,
                "head_hash": self.ledger_head_hash,
                "public_key": self.ledger_public_key,
            },
            "secrets": self.secrets,
            "files": {
                name: {"sha256": m.sha256, "size": m.size} for name, m in sorted(self.files.items())
            },
        }
        return json.dumps(data, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes, where: str) -> Manifest:
        try:
            data = json.loads(raw)
            if data.get("format") != FORMAT:
                raise BackupError(
                    f"{where}: the manifest is of format {data.get('format')!r}, not {FORMAT}"
                )
            return cls(
                version=str(data["version"]),
                created_at=str(data["created_at"]),
                vendor=str(data["database"]["vendor"]),
                database_member=str(data["database"]["member"]),
                migrations={k: list(v) for k, v in data["migrations"].items()},
                tables={str(k): int(v) for k, v in data["tables"].items()},
                ledger_head_seq=int(data["ledger"]["head_seq"]),
                ledger_head_hash=str(data["ledger"]["head_hash"]),
                ledger_public_key=data["ledger"]["public_key"],
                secrets=bool(data["secrets"]),
                files={
                    str(name): Member(str(m["sha256"]), int(m["size"]))
                    for name, m in data["files"].items()
                },
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError(f"{where}: {MANIFEST} is damaged ({exc})") from None


class _Hashing(io.RawIOBase):
    """Reads through to a file, hashing and counting what passes."""

    def __init__(self, inner: IO[bytes], progress: Callable[[int], None] | None) -> None:
        self.inner, self.progress = inner, progress
        self.digest = hashlib.sha256()
        self.size = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(n)
        self.digest.update(data)
        self.size += len(data)
        if self.progress is not None:
            self.progress(len(data))
        return data


class Writer:
    """Builds an archive at ``final`` through ``final.partial``; :meth:`finish` makes it real.

    Leaving the ``with`` block without :meth:`finish` (an error) removes the partial file.
    """

    def __init__(self, final: Path, progress: Progress | None = None) -> None:
        self.final = final
        self.partial = final.with_name(final.name + PARTIAL)
        self.files: dict[str, Member] = {}
        self._done = 0
        self._progress = progress
        self._raw: IO[bytes] | None = None
        self._tar: tarfile.TarFile | None = None
        self.finished = False

    def __enter__(self) -> Writer:
        self.final.parent.mkdir(parents=True, exist_ok=True)
        self._raw = open(self.partial, "wb")
        self._tar = tarfile.open(fileobj=self._raw, mode="w", format=tarfile.PAX_FORMAT)
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.finished:
            if self._tar is not None:
                self._tar.close()
            if self._raw is not None:
                self._raw.close()
            self.partial.unlink(missing_ok=True)

    def _step(self, n: int) -> None:
        self._done += n
        if self._progress is not None:
            self._progress(self._done)

    def add_file(self, name: str, path: Path) -> Member:
        assert self._tar is not None
        info = tarfile.TarInfo(name)
        with open(path, "rb") as source:
            info.size = os.fstat(source.fileno()).st_size
            info.mtime = 0
            info.mode = 0o600
            reader = _Hashing(source, self._step)
            self._tar.addfile(info, reader)
        if reader.size != info.size:
            raise BackupError(f"{path} changed size while it was archived")
        member = Member(reader.digest.hexdigest(), reader.size)
        self.files[name] = member
        return member

    def add_bytes(self, name: str, data: bytes) -> Member:
        assert self._tar is not None
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o600
        self._tar.addfile(info, io.BytesIO(data))
        self._step(len(data))
        member = Member(hashlib.sha256(data).hexdigest(), len(data))
        self.files[name] = member
        return member

    def finish(self, manifest: Manifest) -> Path:
        """Append the manifest, flush to disk, and give the archive its finished name."""
        assert self._tar is not None and self._raw is not None
        manifest.files = dict(self.files)
        raw = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(raw), 0, 0o600
        self._tar.addfile(info, io.BytesIO(raw))
        self._tar.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()
        os.replace(self.partial, self.final)
        _fsync_dir(self.final.parent)
        self.finished = True
        return self.final


def _fsync_dir(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk too.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------- reading


def _open(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, mode="r:")
    except FileNotFoundError:
        raise BackupError(f"{path}: no such archive") from None
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{path}: not a mailwarden archive ({exc})") from None


def read_manifest(path: Path) -> Manifest:
    """The archive's manifest, which must be its last member: else the archive is unfinished."""
    with _open(path) as tar:
        last: tarfile.TarInfo | None = None
        try:
            for info in tar:
                last = info
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{path}: the archive is damaged or cut short ({exc})") from None
        if last is None or last.name != MANIFEST:
            raise BackupError(
                f"{path}: the archive is incomplete: it does not end with its {MANIFEST} "
                "(a backup that did not finish?)"
            )
        handle = tar.extractfile(last)
        assert handle is not None
        raw = handle.read()
    if len(raw) != last.size:
        raise BackupError(f"{path}: the archive is cut short inside {MANIFEST}")
    return Manifest.from_json(raw, str(path))


def verify(path: Path, progress: Progress | None = None) -> Manifest:
    """Check every member against the manifest; raise naming the first one that differs.

    Every listed file must be there once, with its size and SHA-256; nothing unlisted may be.
    """
    manifest = read_manifest(path)
    seen: set[str] = set()
    done = 0
    with _open(path) as tar:
        try:
            for info in tar:
                if info.name == MANIFEST:
                    continue
                expected = manifest.files.get(info.name)
                if expected is None or info.name in seen:
                    raise BackupError(f"{path}: {info.name} is not in the manifest")
                if not info.isfile() or info.size != expected.size:
                    raise BackupError(
                        f"{path}: {info.name} differs from the manifest: {info.size} bytes, "
                        f"the manifest says {expected.size}"
                    )
                handle = tar.extractfile(info)
                assert handle is not None
                digest = hashlib.sha256()
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    done += len(chunk)
                    if progress is not None:
                        progress(done)
                if digest.hexdigest() != expected.sha256:
                    raise BackupError(
                        f"{path}: {info.name} differs from the manifest: its SHA-256 is "
                        f"{digest.hexdigest()}, the manifest says {expected.sha256}"
                    )
                seen.add(info.name)
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"{path}: the archive is damaged ({exc})") from None
    missing = sorted(set(manifest.files) - seen)
    if missing:
        raise BackupError(f"{path}: {missing[0]} is in the manifest but not in the archive")
    return manifest


def members(path: Path) -> Iterator[tuple[tarfile.TarInfo, IO[bytes]]]:
    """Each member but the manifest with a reader for its bytes, in archive order."""
    with _open(path) as tar:
        for info in tar:
            if info.name == MANIFEST or not info.isfile():
                continue
            handle = tar.extractfile(info)
            assert handle is not None
            yield info, handle


def total_size(manifest: Manifest) -> int:
    return sum(m.size for m in manifest.files.values())
