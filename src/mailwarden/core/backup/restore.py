"""``mailwarden restore ARCHIVE``: fill the data folder and database the settings point at.

Every member is checked against the manifest before anything is written. A target database
that holds data is refused unless the caller forces (and confirms) it, and the refusal says
what would be lost. Afterwards the restored rows are counted against the manifest and the
ledger is verified, chain and signed checkpoints, with the key that signed the archive's
checkpoints.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mailwarden.config import Settings, get_settings
from mailwarden.core.backup import archive, database, secrets
from mailwarden.core.backup.create import CHECKPOINT_SUFFIX, Progress, ledger_public_key
from mailwarden.core.backup.errors import BackupError
from mailwarden.core.backup.targets import FolderTarget, locate
from mailwarden.core.chain import Problem

RESTORED_CONFIG = "restored-config.yaml"
SECRETS_MEMBER = "config/secrets.enc"
SETTINGS_MEMBER = "config/settings.yaml"


class TargetNotEmpty(BackupError):
    """The target holds data; ``lost`` says what restoring would replace."""

    def __init__(self, message: str, lost: list[str]) -> None:
        super().__init__(message)
        self.lost = lost


@dataclass
class Outcome:
    manifest: archive.Manifest
    database: str
    config_path: Path
    ledger_ok: bool
    ledger_problem: Problem | None
    checkpoints: int
    secrets_restored: bool
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.ledger_ok


def describe_rows(counts: dict[str, int]) -> list[str]:
    """``12,345 mail items``, largest first, named as the models call themselves."""
    from django.apps import apps

    names = {
        m._meta.db_table: str(m._meta.verbose_name_plural)
        for m in apps.get_models(include_auto_created=True)
    }
    rows = [
        (n, names.get(table, table))
        for table, n in counts.items()
        if n and table not in database.BOOKKEEPING
    ]
    return [f"{n:,} {label}" for n, label in sorted(rows, key=lambda r: (-r[0], r[1]))]


def what_would_be_lost(db: database.Database, checkpoint_dir: Path) -> list[str]:
    """What the target holds that restoring would replace; empty when it holds nothing."""
    counts = database.existing(db)
    if not database.holds_data(counts):
        return []
    lost = describe_rows(counts)
    signed = list(checkpoint_dir.glob(f"*{CHECKPOINT_SUFFIX}")) if checkpoint_dir.is_dir() else []
    if lost and signed:
        lost.append(f"{len(signed):,} signed ledger checkpoints in {checkpoint_dir}")
    return lost


def summary(lost: list[str], shown: int = 8) -> str:
    """The largest kinds of rows, and how many more there are."""
    text = "; ".join(lost[:shown])
    if len(lost) > shown:
        text += f"; and {len(lost) - shown} more kinds of rows"
    return text


def _read_member(path: Path, name: str) -> bytes:
    for info, handle in archive.members(path):
        if info.name == name:
            return handle.read()
    raise BackupError(f"{path}: {name} is not in the archive")


def restore(
    archive_ref: str,
    *,
    force: bool = False,
    confirm: Callable[[list[str]], bool] | None = None,
    passphrase: str | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Check, then write; ``confirm(lost)`` is asked before replacing data (with ``force``)."""
    from django.conf import settings as django_settings
    from django.db import connections

    settings = get_settings()
    db = database.Database.from_django()

    def report(label: str, done: int, total: int) -> None:
        if progress is not None:
            progress(label, done, total)

    with tempfile.TemporaryDirectory(prefix="mailwarden-restore-") as work:
        workdir = Path(work)
        place, name = locate(archive_ref, settings.backup)
        if isinstance(place, FolderTarget):
            local = place.folder / name
        else:
            local = workdir / name
            report("downloading", 0, 0)
            place.download(name, local)
        # 1. Nothing is written before every byte has been checked.
        manifest = archive.read_manifest(local)
        total = archive.total_size(manifest)
        archive.verify(local, lambda done: report("checking", done, total))
        if manifest.vendor != db.vendor:
            named = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(
                manifest.vendor, manifest.vendor
            )
            raise BackupError(
                f"{local}: the archive holds a {named} database and the settings point at the "
                f"{db.label}; an archive restores into the kind of database it came from"
            )
        found: secrets.Secrets | None = None
        if passphrase is not None and manifest.secrets:
            found = secrets.decrypt(_read_member(local, SECRETS_MEMBER), passphrase)
        # 2. Whatever is there already is not replaced without being told to.
        checkpoint_dir = settings.checkpoint_dir()
        lost = what_would_be_lost(db, checkpoint_dir)
        if lost:
            where = db.label
            if not force:
                raise TargetNotEmpty(
                    f"the {where} holds data, which restoring would replace: "
                    f"{summary(lost)}. Pass --force to replace it",
                    lost,
                )
            if confirm is not None and not confirm(lost):
                raise BackupError("the restore was not confirmed; nothing was changed")
        # 3. Write: database first, then the files that go with it.
        connections.close_all()
        report("restoring", 0, total)
        outcome = _write(
            local,
            manifest,
            db,
            settings,
            Path(django_settings.MEDIA_STORE_DIR),
            workdir,
            found,
            bool(lost),
            lambda d: report("restoring", d, total),
        )
    _check(outcome, db)
    return outcome


def _write(
    local: Path,
    manifest: archive.Manifest,
    db: database.Database,
    settings: Settings,
    store: Path,
    workdir: Path,
    found: secrets.Secrets | None,
    replacing: bool,
    step: Callable[[int], None],
) -> Outcome:
    checkpoint_dir = settings.checkpoint_dir()
    if replacing and checkpoint_dir.is_dir():
        # The replaced ledger's checkpoints would hold the restored one to another history.
        for old in checkpoint_dir.glob(f"*{CHECKPOINT_SUFFIX}"):
            old.unlink()
    done = 0
    dump: Path | None = None
    config_public = b""
    for info, handle in archive.members(local):
        if info.name == manifest.database_member:
            dump = workdir / "database"
            _copy(handle, dump)
        elif info.name.startswith("media/"):
            target = store / info.name[len("media/") :]
            if not target.exists():
                _copy(handle, target)
        elif info.name.startswith("checkpoints/"):
            _copy(handle, checkpoint_dir / info.name[len("checkpoints/") :], mode=0o444)
        elif info.name == SETTINGS_MEMBER:
            config_public = handle.read()
        done += info.size
        step(done)
    if dump is None:
        raise BackupError(f"{local}: the archive holds no database")
    database.load(db, dump)
    notes: list[str] = []
    config_path = settings.data_dir / RESTORED_CONFIG
    config_path.parent.mkdir(parents=True, exist_ok=True)
    if found is not None:
        import yaml

        public = yaml.safe_load(config_public) or {}
        _write_private(config_path, secrets.merged_yaml(public, found))
        for role, path in secrets.secret_file_paths(settings).items():
            if role in found.files:
                _write_private(path, found.files[role].encode())
                notes.append(f"the {role.replace('_', ' ')} was written to {path}")
    else:
        config_path.write_bytes(config_public)
        if manifest.secrets:
            notes.append(
                f"the archive's secrets were not restored: set {secrets.PASSPHRASE_VARIABLE} "
                "to its passphrase to restore them"
            )
    return Outcome(
        manifest=manifest,
        database=db.label,
        config_path=config_path,
        ledger_ok=False,
        ledger_problem=None,
        checkpoints=0,
        secrets_restored=found is not None,
        notes=notes,
    )


def _copy(handle: IO[bytes], target: Path, mode: int = 0o600) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    incoming = target.with_name(f".{target.name}.restoring")
    with open(incoming, "wb") as out:
        shutil.copyfileobj(handle, out, 1 << 20)
    os.chmod(incoming, mode)
    os.replace(incoming, target)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    incoming = path.with_name(f".{path.name}.restoring")
    fd = os.open(incoming, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(incoming, path)


# ----------------------------------------------------------------------------- afterwards


def _check(outcome: Outcome, db: database.Database) -> None:
    from mailwarden.core import ledger
    from mailwarden.core.actor import Actor

    manifest = outcome.manifest
    restored = database.existing(db)
    for table, expected in sorted(manifest.tables.items()):
        if restored.get(table) != expected:
            raise BackupError(
                f"the restored table {table} holds {restored.get(table, 0):,} rows; "
                f"the archive's snapshot held {expected:,}"
            )
    result = ledger.verify(checkpoints=False)
    problem = result.problem
    if problem is None and result.head_seq != manifest.ledger_head_seq:
        problem = Problem(result.head_seq, "head", f"the restored ledger ends at {result.head_seq}")
    if problem is None:
        problem, outcome.checkpoints = held_to_checkpoints(manifest, result.head_seq)
    if problem is not None:
        ledger.report(
            ledger.VerifyResult(result.checked, result.head_seq, result.head_hash, problem),
            "cli",
            Actor.job("restore"),
        )
    outcome.ledger_ok, outcome.ledger_problem = problem is None, problem
    key_now = ledger_public_key(get_settings())
    if manifest.ledger_public_key and key_now != manifest.ledger_public_key:
        where = get_settings().ledger_key_path()
        outcome.notes.append(
            f"the ledger key at {where} is not the one that signed these checkpoints: put the "
            "original key there (or restore the archive's secrets) before `mailwarden ledger "
            "verify` and new checkpoints"
        )


def held_to_checkpoints(manifest: archive.Manifest, head_seq: int) -> tuple[Problem | None, int]:
    """The restored ledger against the archive's checkpoints, under the key that signed them."""
    from mailwarden.core import checkpoints, merkle
    from mailwarden.core.signednote import NoteError, Verifier

    folder = get_settings().checkpoint_dir()
    archived = [n for n in manifest.files if n.startswith("checkpoints/")]
    if not archived:
        return None, 0
    if not manifest.ledger_public_key:
        return Problem(0, "checkpoint", "the archive does not say which key signed them"), 0
    try:
        key = Verifier.decode(manifest.ledger_public_key)
    except NoteError as exc:
        return Problem(0, "checkpoint", f"the archive's ledger key: {exc}"), 0
    names = {n.rsplit("/", 1)[-1] for n in archived}
    files = [f for f in checkpoints.found(folder, key) if f.path.name in names]
    for bad in files:
        if bad.checkpoint is None:
            return Problem(0, "checkpoint", f"{bad.path.name} cannot be believed: {bad.error}"), 0
    good = [f.checkpoint for f in files if f.checkpoint is not None]
    latest = good[-1]
    if latest.size > head_seq:
        return Problem(head_seq + 1, "truncated", f"checkpoint {latest.size} is past the head"), 0
    live = checkpoints.live_tree(latest.size)
    if live.root(latest.size) != latest.root:
        return Problem(
            latest.size, "rewritten", f"the ledger's first {latest.size} entries differ"
        ), 0
    for old in good[:-1]:
        proof = live.consistency_proof(old.size, latest.size)
        if not merkle.verify_consistency(old.size, latest.size, old.root, latest.root, proof):
            return Problem(old.size, "inconsistent", f"checkpoint {old.size} is not"), 0
    return None, len(good)
