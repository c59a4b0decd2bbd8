"""A small installation built once per run by real ``mailwarden`` processes, copied per test.

Every command runs as a subprocess with its own data folder and SQLite file, so backups read a
real file database while other processes write it, as on a server.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ITEMS = 8
PASSPHRASE = "correct horse battery staple"


def environment(data_dir: Path, **extra: str) -> dict[str, str]:
    # Nothing of the test run's own settings leaks in: each process sees only its folder.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MW_", "DJANGO_", "AWS_"))}
    env |= {
        "MW_ENV": "test",
        "MW_DATA_DIR": str(data_dir),
        "MW_DATABASE_URL": "",
        "MW_RUN_TASKS_IN_PROCESS": "false",
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}",
    }
    return env | extra


def mailwarden(args: list[str], data_dir: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailwarden.cli", *args],
        env=environment(data_dir, **extra),
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def workload(args: list[str], data_dir: Path, **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.backup.workload", *args],
        env=environment(data_dir),
        text=True,
        **popen,
    )


def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """Poll a cheap condition until it holds; fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def database(data_dir: Path) -> Path:
    return data_dir / "mailwarden.sqlite3"


def row_counts(data_dir: Path) -> dict[str, int]:
    with sqlite3.connect(database(data_dir)) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {n: conn.execute(f'SELECT COUNT(*) FROM "{n}"').fetchone()[0] for n in names}


def media_hashes(data_dir: Path) -> dict[str, str]:
    store = data_dir / "media"
    return {
        p.relative_to(store).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in store.rglob("*")
        if p.is_file()
    }


def only_archive(folder: Path) -> Path:
    found = sorted(folder.glob("mailwarden-*.tar"))
    assert len(found) == 1, found
    return found[0]


def flip_byte(archive: Path, member_prefix: str) -> str:
    """Change one byte inside the first member whose name starts so; return its name."""
    with tarfile.open(archive) as tar:
        info = next(m for m in tar.getmembers() if m.name.startswith(member_prefix))
    with open(archive, "r+b") as f:
        f.seek(info.offset_data + info.size // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    return info.name


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("backup-template") / "data"
    built = workload(["build", str(ITEMS)], folder, stderr=subprocess.PIPE)
    _, err = built.communicate(timeout=300)
    assert built.returncode == 0, err
    return folder


@pytest.fixture
def source(template: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "source"
    shutil.copytree(template, folder)
    return folder


@pytest.fixture(scope="session")
def template_archive(template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of the template, secrets included (under PASSPHRASE)."""
    base = tmp_path_factory.mktemp("backup-archive")
    shutil.copytree(template, base / "data")
    done = mailwarden(
        ["backup", "--to", str(base / "out"), "--with-secrets"],
        base / "data",
        MW_BACKUP_PASSPHRASE=PASSPHRASE,
    )
    assert done.returncode == 0, done.stderr
    return only_archive(base / "out")


@pytest.fixture
def archive_copy(template_archive: Path, tmp_path: Path) -> Iterator[Path]:
    copy = tmp_path / "in" / template_archive.name
    copy.parent.mkdir()
    shutil.copyfile(template_archive, copy)
    yield copy
