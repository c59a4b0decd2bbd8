"""Backup and restore on PostgreSQL (CI's PostgreSQL pass): pg_dump of one snapshot, restored
by a separate ``mailwarden restore`` into a database of its own."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from .conftest import mailwarden, media_hashes
from .workload import photo

PG_TIMES = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


@pytest.fixture
def restored_database(pg: None) -> Iterator[str]:
    """A database of its own to restore into, dropped afterwards."""
    import psycopg
    from django.db import connection

    params = connection.settings_dict
    name = f"{params['NAME']}_restored"
    admin = {"dbname": "postgres", "host": params["HOST"], "user": params["USER"]}
    if params.get("PORT"):
        admin["port"] = str(params["PORT"])
    if params.get("PASSWORD"):
        admin["password"] = params["PASSWORD"]
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    user = params["USER"] + (f":{params['PASSWORD']}" if params.get("PASSWORD") else "")
    yield f"postgresql://{user}@{params['HOST']}:{params.get('PORT') or 5432}/{name}"
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def some_items(count: int) -> None:
    from mailwarden.core import checkpoints
    from mailwarden.core.actor import Actor
    from tests.factories import intake, make_recipient, make_site

    site = make_site()
    recipient = make_recipient()
    for n in range(count):
        intake(site, recipient, photo=photo(n))
    checkpoints.write(Actor.job("tests"))
    intake(site, recipient, photo=photo(count))


def test_round_trip_on_postgresql(restored_database, tmp_path):
    from django.conf import settings

    from mailwarden.core.backup import create, database

    some_items(5)
    live = database.existing(database.Database.from_django())
    result = create.backup(str(tmp_path / "out"), now=PG_TIMES)
    assert result.manifest.vendor == "postgresql"
    assert result.manifest.tables["custody_mailitem"] == 6
    assert result.manifest.tables == live

    archive = Path(result.location)
    target = tmp_path / "restored"
    done = mailwarden(["restore", str(archive)], target, MW_DATABASE_URL=restored_database)
    assert done.returncode == 0, done.stderr
    assert "ledger OK" in done.stdout and "matches 1 signed checkpoint(s)" in done.stdout

    restored = database.Database("postgresql", params=_params(restored_database))
    assert database.existing(restored) == live
    store = Path(settings.MEDIA_STORE_DIR)
    originals = {
        p.relative_to(store).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in store.rglob("*")
        if p.is_file()
    }
    assert media_hashes(target) == originals

    # A second restore over it is refused, naming what it holds.
    done = mailwarden(["restore", str(archive)], target, MW_DATABASE_URL=restored_database)
    assert done.returncode == 1
    assert "6 mail items" in done.stderr


def _params(url: str) -> dict[str, str]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    params = {
        "dbname": parts.path.lstrip("/"),
        "host": parts.hostname or "",
        "user": parts.username or "",
    }
    if parts.port:
        params["port"] = str(parts.port)
    if parts.password:
        params["password"] = parts.password
    return params


def test_the_scheduled_backup_runs_once_a_day_and_prunes(pg, tmp_path, frozen_clock):
    from mailwarden.config import get_settings
    from mailwarden.core.backup import schedule
    from mailwarden.core.backup.targets import FolderTarget

    some_items(1)
    config = get_settings().backup
    saved = config.model_dump()
    config.to, config.schedule_hour = str(tmp_path / "archives"), 2
    config.keep_daily, config.keep_weekly, config.keep_monthly = 2, 0, 0
    schedule.forget_today()
    try:
        target = FolderTarget(tmp_path / "archives")
        frozen_clock.current = datetime(2026, 3, 2, 1, 30, tzinfo=UTC)
        assert schedule.run_if_due(frozen_clock(), wait=True) == 0  # before the hour
        taken = []
        for _ in range(4):
            frozen_clock.advance(hours=1)  # 02:30
            assert schedule.run_if_due(frozen_clock(), wait=True) == 1
            frozen_clock.advance(hours=3)
            assert schedule.run_if_due(frozen_clock(), wait=True) == 0  # done today
            taken.append(frozen_clock().strftime("%Y%m%d"))
            frozen_clock.advance(hours=20)  # 01:30 the next day
        names = target.names()
        # Four days ran; keep_daily=2 left the last two.
        assert [n[len("mailwarden-") :][:8] for n in names] == taken[-2:]
    finally:
        for key, value in saved.items():
            setattr(config, key, value)
        schedule.forget_today()


def test_a_missing_pg_dump_is_named(pg, tmp_path, monkeypatch):
    from mailwarden.core.backup import create
    from mailwarden.core.backup.errors import BackupError

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BackupError, match="pg_dump is not installed or not on PATH"):
        create.backup(str(tmp_path / "out"), now=PG_TIMES)
    assert not list((tmp_path / "out").glob("*.tar*"))
