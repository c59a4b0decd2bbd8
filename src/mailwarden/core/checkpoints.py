"""Signed checkpoints of the ledger's Merkle tree, kept outside the database (docs/ledger.md).

The hash chain (``core.chain``) proves the entries agree with each other; someone who can write
the database can still recompute every hash after an edit, or delete the last entries and move
the head back. A checkpoint is the ledger's RFC 9162 Merkle tree size and root, signed with an
Ed25519 key held in a file (``MW_LEDGER_KEY_FILE``) and written as a C2SP signed note to a
folder (``MW_LEDGER_CHECKPOINT_DIR``) and to witnesses. :func:`check` then holds the live ledger
to the newest checkpoint and names the first rewritten entry or the missing range.

A leaf is an entry's canonical body (the JSON its chain hash covers), as UTF-8: leaf ``i`` is
entry ``seq = i + 1``, and its hash is ``SHA-256(0x00 || body)``.
"""

from __future__ import annotations

import base64
import logging
import os
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.db import connection, transaction

from mailwarden.config import ConfigError, get_settings
from mailwarden.contracts.events import LedgerCheckpointed
from mailwarden.core import chain, merkle, notify, outbox
from mailwarden.core.actor import Actor
from mailwarden.core.chain import Problem
from mailwarden.core.models import LedgerEntry, LedgerHead, LedgerTile, LedgerTree
from mailwarden.core.signednote import (
    Checkpoint,
    NoteError,
    Signer,
    Verifier,
    create_key_file,
    load_signer,
    open_checkpoint,
    sign_checkpoint,
)
from mailwarden.core.tasks import periodic

log = logging.getLogger(__name__)

ACTION = LedgerCheckpointed.TOPIC
NOTIFICATION_KIND = "ledger_checkpoint"
SUFFIX = ".checkpoint"


class CheckpointRefused(Exception):
    """A checkpoint was not signed, because signing it would vouch for a rewritten ledger."""


# ----------------------------------------------------------------------------- keys and files


def default_origin() -> str:
    host = urlsplit(get_settings().base_url).hostname or "localhost"
    return f"{host}/mailwarden-ledger"


def signer() -> Signer:
    """The checkpoint key; in development it is created (mode 0600) on first use."""
    path = get_settings().ledger_key_path()
    if not path.exists() and get_settings().env != "production" and not path.is_symlink():
        try:
            return create_key_file(path, default_origin())
        except FileExistsError:
            pass  # another process created it first
    return load_signer(path)


def verifier() -> Verifier:
    return signer().verifier


def key_problem() -> str | None:
    """Why the checkpoint key cannot be used (creating it in development), or None."""
    try:
        signer()
    except (ConfigError, NoteError) as exc:
        return str(exc)
    return None


def folder() -> Path:
    return get_settings().checkpoint_dir()


def leaf(body: str) -> bytes:
    return merkle.leaf_hash(body.encode())


def file_for(size: int, where: Path | None = None) -> Path:
    return (where or folder()) / f"{size:012d}{SUFFIX}"


def _write_once(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` atomically, never replacing a file; False if one was there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o444)
        try:
            # A hard link appears whole or not at all, and never over an existing name.
            os.link(tmp, path)
        except FileExistsError:
            return False
    finally:
        os.unlink(tmp)
    return True


@dataclass(frozen=True)
class Found:
    """A file of the checkpoint folder: its checkpoint, or why it cannot be believed."""

    path: Path
    checkpoint: Checkpoint | None
    error: str | None = None


def found(where: Path | None = None, key: Verifier | None = None) -> list[Found]:
    """Every checkpoint file in the folder, smallest tree first, each checked against the key."""
    where = where or folder()
    key = key or verifier()
    out = []
    for path in sorted(where.glob(f"*{SUFFIX}")) if where.is_dir() else []:
        try:
            checkpoint = open_checkpoint(path.read_text(), key)
        except (OSError, UnicodeDecodeError, NoteError) as exc:
            out.append(Found(path, None, str(exc)))
            continue
        if path.name != file_for(checkpoint.size, where).name:
            out.append(Found(path, None, f"it holds a checkpoint of {checkpoint.size} entries"))
            continue
        out.append(Found(path, checkpoint))
    return sorted(out, key=lambda f: f.checkpoint.size if f.checkpoint else -1)


def valid(where: Path | None = None, key: Verifier | None = None) -> list[Found]:
    return [f for f in found(where, key) if f.checkpoint is not None]


def newest(where: Path | None = None, key: Verifier | None = None) -> Found | None:
    """The largest checkpoint in the folder that the key verifies, reading as few as it can."""
    where = where or folder()
    key = key or verifier()
    names = sorted(where.glob(f"*{SUFFIX}"), reverse=True) if where.is_dir() else []
    for path in names:  # names are zero-padded sizes, so the largest comes first
        try:
            checkpoint = open_checkpoint(path.read_text(), key)
        except (OSError, UnicodeDecodeError, NoteError):
            continue
        if path.name == file_for(checkpoint.size, where).name:
            return Found(path, checkpoint)
    return None


# ----------------------------------------------------------------------------- the tree cache


class DatabaseTiles(MutableMapping[tuple[int, int], bytes]):
    """The tiles of ``LedgerTile`` for a tree of ``size`` leaves, read on first use; :meth:`save`
    writes the changed ones.

    A tile is read only as far as a tree of ``size`` reaches: another process may have extended
    the cache since that size was read, and what it added is not part of this tree.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._cache: dict[tuple[int, int], bytes] = {}
        self._stored: set[tuple[int, int]] = set()

    def __getitem__(self, key: tuple[int, int]) -> bytes:
        if key not in self._cache:
            level, index = key
            row = LedgerTile.objects.filter(level=level, index=index).values("hashes").first()
            if row is None:
                raise KeyError(key)
            count = self.size // merkle.TILE_WIDTH**level - index * merkle.TILE_WIDTH
            width = max(0, min(merkle.TILE_WIDTH, count))
            self._cache[key] = bytes(row["hashes"])[: width * merkle.HASH_SIZE]
            self._stored.add(key)
        return self._cache[key]

    def __setitem__(self, key: tuple[int, int], value: bytes) -> None:
        self._cache[key] = value

    def __delitem__(self, key: tuple[int, int]) -> None:
        raise TypeError("tiles are never deleted")

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(self._cache)

    def __len__(self) -> int:
        return len(self._cache)

    def get(self, key: tuple[int, int], default: bytes | None = None) -> bytes | None:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default

    def save(self, keys: set[tuple[int, int]]) -> None:
        new = []
        for key in sorted(keys):
            if key in self._stored:
                LedgerTile.objects.filter(level=key[0], index=key[1]).update(
                    hashes=self._cache[key]
                )
            else:
                new.append(LedgerTile(level=key[0], index=key[1], hashes=self._cache[key]))
                self._stored.add(key)
        LedgerTile.objects.bulk_create(new, batch_size=500)


def cached_tree() -> merkle.Tree:
    """The tree the tile cache holds (never trusted without a signed root to check it by)."""
    size = LedgerTree.objects.filter(id=1).values_list("size", flat=True).first() or 0
    return merkle.Tree(DatabaseTiles(size), size)


def _leaves(first: int, last: int) -> list[bytes]:
    """The leaf hashes of entries ``first``..``last``, which must all be there, in order."""
    connection.ensure_connection()
    table = connection.ops.quote_name(LedgerEntry._meta.db_table)
    rows = chain.read_bodies(connection.connection, connection.vendor, table, first, last)
    try:
        with closing(rows):
            leaves = chain.leaf_hashes(rows, first)
        if len(leaves) != last - first + 1:
            raise ValueError(f"entry {first + len(leaves)} is missing")
    except ValueError as exc:
        raise CheckpointRefused(f"{exc}; run mailwarden ledger verify") from None
    return leaves


def extend_cache() -> merkle.Tree:
    """Bring the tile cache up to the ledger's head: only the entries since the last time are
    read and hashed. Returns the tree, of the head's size (or of a larger one, when another
    process extended the cache meanwhile).

    The entries are read and hashed outside any transaction, so the first checkpoint of a long
    ledger does not hold up appends (on SQLite a write transaction would); only saving the new
    tiles takes the cache's row lock.
    """
    size = LedgerTree.objects.filter(id=1).values_list("size", flat=True).first() or 0
    head_seq = LedgerHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    if head_seq < size:
        raise CheckpointRefused(
            f"the ledger ends at entry {head_seq} but its tree held {size} entries; "
            "run mailwarden ledger verify"
        )
    tiles = DatabaseTiles(size)
    tree = merkle.Tree(tiles, size)
    if head_seq == size:
        return tree
    batch = 100_000
    for first in range(size + 1, head_seq + 1, batch):
        tree.extend(_leaves(first, min(first + batch - 1, head_seq)))
    with transaction.atomic():
        state, _ = LedgerTree.objects.select_for_update().get_or_create(id=1)
        if state.size != size:
            return cached_tree()  # another process got there first
        tiles.save(tree.changed)
        tree.changed.clear()
        state.size = tree.size
        state.save(update_fields=["size"])
    return tree


# ----------------------------------------------------------------------------- writing


@dataclass(frozen=True)
class Written:
    checkpoint: Checkpoint
    path: Path
    note: str
    new: bool


def write(actor: Actor) -> Written:
    """Sign a checkpoint of the whole ledger and write it to the folder; the ledger records it.

    Refuses (:class:`CheckpointRefused`) when the ledger no longer extends the newest signed
    checkpoint: a shorter ledger, or a different root at that checkpoint's size.
    """
    key = signer()
    tree = extend_cache()
    previous = newest(key=key.verifier)
    if previous is not None and previous.checkpoint is not None:
        last = previous.checkpoint
        if last.size > tree.size:
            raise CheckpointRefused(
                f"the ledger holds {tree.size} entries but checkpoint {last.size} was signed; "
                "run mailwarden ledger verify"
            )
        if tree.root(last.size) != last.root:
            raise CheckpointRefused(
                f"the ledger no longer matches checkpoint {last.size}; run mailwarden ledger verify"
            )
        if last.size == tree.size:
            # Written before, and recorded unless the database failed just after the file.
            path = previous.path
            note = path.read_text()
            return Written(last, path, note, new=_record(actor, last, note, path))
    checkpoint = Checkpoint(key.name, tree.size, tree.root())
    note = sign_checkpoint(checkpoint, key)
    path = file_for(checkpoint.size)
    # Ed25519 signs deterministically, so a process that wrote this size first wrote the same
    # file; anything else there is not ours to overwrite.
    if not _write_once(path, note) and path.read_text() != note:
        raise CheckpointRefused(f"{path} already holds a different checkpoint")
    return Written(checkpoint, path, note, new=_record(actor, checkpoint, note, path))


def _record(actor: Actor, checkpoint: Checkpoint, note: str, path: Path) -> bool:
    """Put a written checkpoint on the ledger, and queue it for the witnesses and auditors,
    once: False when that was done already (by another process, or by an earlier call)."""
    from mailwarden.core import ledger

    root = base64.b64encode(checkpoint.root).decode()
    with transaction.atomic():
        # The cache's row serialises the processes recording the same checkpoint.
        LedgerTree.objects.select_for_update().get_or_create(id=1)
        if LedgerEntry.objects.filter(
            action=ACTION, subject_type="ledger", subject_id=str(checkpoint.size)
        ).exists():
            return False
        ledger.append(
            actor,
            ACTION,
            "ledger",
            str(checkpoint.size),
            {"size": checkpoint.size, "root_hash": root, "file": path.name},
        )
        outbox.emit(
            LedgerCheckpointed(
                size=checkpoint.size, root_hash=root, checkpoint=note, file=str(path)
            )
        )
        for address in auditor_addresses():
            notify.queue(
                key=f"{NOTIFICATION_KIND}:{checkpoint.size}:{address}"[:120],
                kind=NOTIFICATION_KIND,
                to_address=address,
                subject_ref=str(checkpoint.size),
            )
    return True


def auditor_addresses() -> list[str]:
    from django.contrib.auth import get_user_model

    from mailwarden.core.roles import Role

    users = (
        get_user_model()
        .objects.filter(is_active=True, groups__name=Role.AUDITOR.value)
        .exclude(email="")
    )
    found_ = {*get_settings().ledger_auditor_emails, *users.values_list("email", flat=True)}
    return sorted(found_)


@notify.renders(NOTIFICATION_KIND)
def _message(subject_ref: str) -> notify.Message:
    size = int(subject_ref)
    note = file_for(size).read_text()
    return notify.Message(
        subject=f"Ledger checkpoint: {size:,} entries",
        text=(
            f"mailwarden signed a checkpoint of its ledger: {size:,} entries.\n\n"
            "Keep this message. `mailwarden ledger verify` proves the live ledger still extends\n"
            "every checkpoint; a copy outside the server is what makes a rewrite show.\n\n"
            f"{note}"
        ),
    )


@outbox.handles(LedgerCheckpointed)
def send_to_witnesses(event: LedgerCheckpointed) -> None:
    """POST the checkpoint to each witness; a failure raises, so the outbox retries it."""
    import httpx

    failed = []
    for url in get_settings().ledger_witness_urls:
        try:
            response = httpx.post(
                url,
                content=event.checkpoint.encode(),
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=10.0,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            failed.append(f"{url}: {exc}")
    if failed:
        raise RuntimeError("witness delivery failed: " + "; ".join(failed))


def last_checkpointed() -> tuple[int, datetime] | None:
    """The seq and time of the ledger's last checkpoint record."""
    return (
        LedgerEntry.objects.filter(action=ACTION)
        .order_by("-seq")
        .values_list("seq", "created_at")
        .first()
    )


_warned: list[str] = []


@periodic("ledger-checkpoint")
def scheduled(now: datetime) -> int:
    """Write a checkpoint every ``ledger_checkpoint_interval_s``, when the ledger has grown."""
    if not get_settings().ledger_checkpoint_interval_s:
        return 0
    problem = key_problem()
    if problem is not None:
        # Said once per process rather than on every tick; `check --deploy` reports it too.
        if not _warned:
            log.error("no ledger checkpoints are written: %s", problem)
            _warned.append(problem)
        return 0
    last = last_checkpointed()
    head_seq = LedgerHead.objects.filter(id=1).values_list("seq", flat=True).first() or 0
    interval = timedelta(seconds=get_settings().ledger_checkpoint_interval_s)
    if head_seq == 0 or (last is not None and (last[0] == head_seq or now - last[1] < interval)):
        return 0
    return 1 if write(Actor.job("ledger-checkpoint")).new else 0


# ----------------------------------------------------------------------------- checking


@dataclass
class Report:
    """What :func:`check` found: the checkpoints it read and the problems, first one first."""

    checkpoints: int = 0
    newest: int | None = None
    consistent: int = 0
    problems: list[Problem] = field(default_factory=list)


def live_tree(upto: int, jobs: int = 1) -> merkle.Tree:
    """The tree of entries 1..``upto`` rebuilt from their bodies, in memory; by ``jobs`` worker
    processes for a long ledger, as ``ledger.verify`` checks the chain."""
    from mailwarden.core import ledger

    source = ledger.worker_source() if jobs > 1 and upto >= ledger.PARALLEL_FROM else None
    if source is not None:
        try:
            return _live_tree_in_parts(source, upto, jobs)
        except Exception as exc:
            log.warning("rebuilding the Merkle tree in parts failed (%s); in one pass", exc)
    tree = merkle.Tree()
    batch = 100_000
    for first in range(1, upto + 1, batch):
        tree.extend(_leaves(first, min(first + batch - 1, upto)))
    return tree


def _live_tree_in_parts(source: chain.Source, upto: int, jobs: int) -> merkle.Tree:
    # Parts start on tile boundaries, so each worker also hashes its tiles' roots.
    tiles = -(-upto // merkle.TILE_WIDTH)
    size = -(-tiles // (jobs * 4)) * merkle.TILE_WIDTH
    bounds = [(first, min(first + size - 1, upto)) for first in range(1, upto + 1, size)]
    tree = merkle.Tree()
    with chain.worker_pool(source, jobs) as pool:
        futures = [pool.submit(chain.leaf_part, source, first, last) for first, last in bounds]
        for future in futures:
            tree.extend_with_roots(*future.result())
    return tree


def check(head_seq: int, jobs: int = 1) -> Report:
    """Hold the live ledger (entries 1..``head_seq``, already proved to chain) to the
    checkpoints in the folder: the newest must be covered with the same root, and every
    older one must be consistent with it."""
    report = Report()
    problem = key_problem()
    if problem is not None:
        report.problems.append(Problem(0, "checkpoint", f"the checkpoint key: {problem}"))
        return report
    files = found()
    good = [f.checkpoint for f in files if f.checkpoint is not None]
    report.checkpoints = len(good)
    for bad in files:
        if bad.checkpoint is None:
            report.problems.append(
                Problem(0, "checkpoint", f"{bad.path.name} cannot be believed: {bad.error}")
            )
    if not good:
        return report
    latest = good[-1]
    report.newest = latest.size
    live = live_tree(min(head_seq, latest.size), jobs)
    if latest.size > head_seq:
        report.problems.insert(
            0,
            Problem(
                head_seq + 1,
                "truncated",
                f"entries {head_seq + 1}..{latest.size} are missing: checkpoint "
                f"{file_for(latest.size).name} was signed over {latest.size} entries and "
                f"the ledger now ends at {head_seq}",
            ),
        )
    covered = [c for c in good if c.size <= head_seq]
    if covered:
        anchor = covered[-1]
        if live.root(anchor.size) != anchor.root:
            report.problems.insert(0, _rewritten(live, anchor))
    reference = _reference(live, latest)
    for old in good[:-1]:
        if reference is None:
            break
        proof = reference.consistency_proof(old.size, latest.size)
        if merkle.verify_consistency(old.size, latest.size, old.root, latest.root, proof):
            report.consistent += 1
        else:
            report.problems.append(
                Problem(
                    old.size,
                    "inconsistent",
                    f"checkpoint {old.size} is not consistent with checkpoint {latest.size}: "
                    "the history they sign differs",
                )
            )
    report.problems.sort(key=lambda p: (p.kind == "checkpoint", p.seq))
    return report


def _reference(live: merkle.Tree, latest: Checkpoint) -> merkle.Tree | None:
    """A tree proved to be the one ``latest`` signed: the live one, or else the cache."""
    if live.size >= latest.size and live.root(latest.size) == latest.root:
        return live
    cache = cached_tree()
    try:
        if cache.size >= latest.size and cache.root(latest.size) == latest.root:
            return cache
    except (KeyError, ValueError):
        pass
    return None


def _rewritten(live: merkle.Tree, anchor: Checkpoint) -> Problem:
    where = merkle.first_difference(cached_tree(), live, anchor.size, anchor.root)
    if where[1] is None:
        seq = where[0] + 1
        return Problem(
            seq,
            "rewritten",
            f"entry {seq} is not the entry checkpoint {anchor.size} signed: it was rewritten "
            "(and the hashes after it recomputed)",
        )
    first, last = where[0] + 1, where[1]
    return Problem(
        first,
        "rewritten",
        f"an entry among {first}..{last} is not what checkpoint {anchor.size} signed; the "
        "tree cache was changed too, so the first rewritten entry cannot be named more closely",
    )


# ----------------------------------------------------------------------------- receipts


def receipt(entries: list[dict[str, Any]]) -> tuple[dict[str, Any] | None, str]:
    """A custody receipt for these exported entries against the newest signed checkpoint, and
    a sentence saying what it is; ``(None, why)`` when no checkpoint covers them yet."""
    from mailwarden.core import receipts

    if not entries:
        return None, "there are no entries to prove"
    needed = max(int(e["seq"]) for e in entries)
    problem = key_problem()
    if problem is not None:
        return None, f"the checkpoint key cannot be used: {problem}"
    latest = newest()
    if latest is None or latest.checkpoint is None or latest.checkpoint.size < needed:
        return None, (
            f"no signed checkpoint covers entry {needed} yet: the next scheduled checkpoint "
            "will, or run `mailwarden ledger checkpoint`, then export again"
        )
    checkpoint, path = latest.checkpoint, latest.path
    tree = cached_tree()
    try:
        matches = tree.size >= checkpoint.size and tree.root(checkpoint.size) == checkpoint.root
    except (KeyError, ValueError):
        matches = False
    if not matches:
        return None, (
            f"the Merkle tree cache does not match checkpoint {checkpoint.size}; "
            "run `mailwarden ledger verify`"
        )
    built = receipts.build(entries, path.read_text(), tree, checkpoint.size)
    return built, (
        f"each entry is proved to be in the ledger's signed checkpoint of "
        f"{checkpoint.size:,} entries ({path.name})"
    )
