"""A backup taken while intakes run is one moment of the database; a killed one is refused."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys

import pytest

from .conftest import environment, mailwarden, media_hashes, wait_until, workload

pytestmark = pytest.mark.slow


def read_count(proc: subprocess.Popen[str], at_least: int) -> int:
    """Read the intake process's running count until it reaches ``at_least``."""
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line, "the intake process stopped"
        if int(line) >= at_least:
            return int(line)


def test_a_backup_taken_while_intakes_run_restores_consistent(source, tmp_path):
    stop = tmp_path / "stop"
    writer = workload(["intakes", str(stop)], source, stdout=subprocess.PIPE)
    try:
        before = read_count(writer, 3)
        for _ in range(2):
            done = mailwarden(["backup", "--to", str(tmp_path / "out")], source)
            assert done.returncode == 0, done.stderr
            # The intakes went on during and between the backups.
            before = read_count(writer, before + 2)
    finally:
        stop.touch()
        writer.wait(timeout=60)
    archives = sorted((tmp_path / "out").glob("mailwarden-*.tar"))
    assert len(archives) == 2

    for n, archive in enumerate(archives):
        target = tmp_path / f"restored-{n}"
        done = mailwarden(["restore", str(archive)], target)
        assert done.returncode == 0, done.stderr
        assert "ledger OK" in done.stdout
        with sqlite3.connect(target / "mailwarden.sqlite3") as db:
            items = dict(db.execute("SELECT uid, photo_sha256 FROM custody_mailitem"))
            received = {
                row[0]
                for row in db.execute(
                    "SELECT subject_id FROM core_ledgerentry "
                    "WHERE subject_type = 'mailitem' AND action = 'custody.item.received'"
                )
            }
        # Every item in the snapshot has its intake on the ledger, and every intake on the
        # ledger has its item: neither side of one transaction was cut off.
        assert set(items) == received
        assert len(items) > 11
        media = {name.rsplit("/", 1)[-1] for name in media_hashes(target)}
        assert set(items.values()) <= media


def put_media(store, count: int, size: int) -> None:
    for _ in range(count):
        data = os.urandom(size)
        digest = hashlib.sha256(data).hexdigest()
        path = store / digest[:2] / digest[2:4] / digest
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def test_kill_9_during_a_backup_leaves_nothing_restore_accepts(source, tmp_path):
    # Enough media that the archive is still being written when the process is killed.
    put_media(source / "media", 40, 4 << 20)
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailwarden.cli", "backup", "--to", str(out)],
        env=environment(source),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def partial_growing():
        found = list(out.glob("*.partial"))
        return found if found and found[0].stat().st_size > (20 << 20) else None

    [partial] = wait_until(partial_growing, "the backup to be half written")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    assert not list(out.glob("*.tar")), "a killed backup left a finished-looking archive"
    leftovers = [p for p in out.rglob("*") if p.is_file()]
    assert partial in leftovers
    for n, leftover in enumerate(leftovers):
        target = tmp_path / f"restored-{n}"
        done = mailwarden(["restore", str(leftover)], target)
        assert done.returncode == 1, leftover
        assert "Traceback" not in done.stderr
        assert not (target / "mailwarden.sqlite3").exists()
    # The name the archive would have had does not exist at all.
    final = partial.with_name(partial.name.removesuffix(".partial"))
    done = mailwarden(["restore", str(final)], tmp_path / "restored-final")
    assert done.returncode == 1 and "no such archive" in done.stderr
