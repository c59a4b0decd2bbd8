"""``mailwarden backup``: the database snapshot, then the media and checkpoints it needs, then the
configuration, into one archive, while the server keeps serving.

Order matters for consistency. The snapshot comes first; media are listed after it, so every
file the snapshot names is already there (a file is stored before the row naming it commits).
Only checkpoints over at most the snapshot's ledger head are taken: one signed over more entries
would make the restored ledger look cut short.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mailwarden import __version__
from mailwarden.config import Settings, get_settings
from mailwarden.core.backup import archive, database, secrets
from mailwarden.core.backup.errors import BackupError
from mailwarden.core.backup.targets import Target, parse

# (what is being done, bytes done, bytes in all); total 0 while it is not known yet.
Progress = Callable[[str, int, int], None]

_MEDIA_NAME = re.compile(r"^[0-9a-f]{64}$")
CHECKPOINT_SUFFIX = ".checkpoint"


@dataclass(frozen=True)
class Result:
    location: str
    size: int
    manifest: archive.Manifest


def default_target(settings: Settings) -> str:
    return settings.backup.to or str(settings.data_dir / "backups")


def media_files(store: Path) -> list[tuple[str, Path]]:
    """The content-addressed files (``ab/cd/<sha256>``), skipping a put still being written."""
    if not store.is_dir():
        return []
    found = []
    for path in sorted(store.rglob("*")):
        if path.is_file() and _MEDIA_NAME.match(path.name):
            found.append(("media/" + path.relative_to(store).as_posix(), path))
    return found


def checkpoint_files(folder: Path, head_seq: int) -> list[tuple[str, Path]]:
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob(f"*{CHECKPOINT_SUFFIX}")):
        try:
            size = int(path.name[: -len(CHECKPOINT_SUFFIX)])
        except ValueError:
            continue
        if size <= head_seq:
            found.append((f"checkpoints/{path.name}", path))
    return found


def ledger_public_key(settings: Settings) -> str | None:
    """The checkpoints' verifying key, read without ever creating a signing key."""
    from mailwarden.config import ConfigError
    from mailwarden.core.signednote import NoteError, load_signer

    try:
        path = settings.ledger_key_path()
        return load_signer(path).verifier.encode() if path.exists() else None
    except (ConfigError, NoteError, OSError):
        return None


def backup(
    to: str | None = None,
    *,
    now: datetime,
    passphrase: str | None = None,
    progress: Progress | None = None,
) -> Result:
    """Write one archive to ``to`` (a folder or s3:// URL); secrets only with a passphrase."""
    from django.conf import settings as django_settings

    settings = get_settings()
    target: Target = parse(to or default_target(settings), settings.backup)
    db = database.Database.from_django()
    name = archive.archive_name(now)
    folder = target.local_folder()
    target.check()
    if folder is not None and (folder / name).exists():
        raise BackupError(f"{folder / name} exists already: one backup a second at most")

    def report(label: str, done: int, total: int) -> None:
        if progress is not None:
            progress(label, done, total)

    # The work folder sits beside the archive where it can (one file system, no copy at the end).
    with tempfile.TemporaryDirectory(prefix=".mailwarden-backup-", dir=folder) as work:
        workdir = Path(work)
        report("database snapshot", 0, 0)
        snap = database.snapshot(db, workdir)
        media = media_files(Path(django_settings.MEDIA_STORE_DIR))
        checkpoints = checkpoint_files(settings.checkpoint_dir(), snap.facts.head_seq)
        files = [(snap.member, snap.path), *checkpoints, *media]
        total = sum(path.stat().st_size for _, path in files)
        public, found = secrets.split(settings)
        final = (folder or workdir) / name
        with archive.Writer(final, lambda done: report("archiving", done, total)) as writer:
            for member, path in files:
                try:
                    writer.add_file(member, path)
                except FileNotFoundError:
                    if not member.startswith("media/"):
                        raise
                    # Only a file the snapshot does not name can go (retention removes media
                    # of items already deleted), so leaving it out keeps the archive whole.
            writer.add_bytes("config/settings.yaml", secrets.settings_yaml(public))
            if passphrase is not None:
                writer.add_bytes("config/secrets.enc", secrets.encrypt(found, passphrase))
            manifest = archive.Manifest(
                version=__version__,
                created_at=now.isoformat(),
                vendor=db.vendor,
                database_member=snap.member,
                migrations=snap.facts.migrations,
                tables=snap.facts.tables,
                ledger_head_seq=snap.facts.head_seq,
                ledger_head_hash=snap.facts.head_hash,
                ledger_public_key=ledger_public_key(settings),
                secrets=passphrase is not None,
            )
            writer.finish(manifest)
        size = final.stat().st_size
        if folder is None:
            report("uploading", 0, size)
            target.upload(final, name)
            report("uploading", size, size)
    if not manifest.files:
        raise BackupError("the archive came out empty")
    return Result(target.describe(name), size, manifest)
