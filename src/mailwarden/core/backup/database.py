"""The database as one consistent snapshot, and loading it back.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies the file in one step under a
read transaction, so writers carry on (WAL) and the copy is one moment of the database; it is then
gzipped. PostgreSQL: a repeatable-read transaction exports its snapshot, the row counts and the
ledger head are read in it, and ``pg_dump -Fc --snapshot`` dumps that same moment.

The facts the manifest records (rows per table, applied migrations, ledger head) are read from the
snapshot itself, never from the live database beside it.
"""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mailwarden.core.backup.errors import BackupError

Vendor = Literal["sqlite", "postgresql"]
SQLITE_MEMBER = "database/mailwarden.sqlite3.gz"
POSTGRESQL_MEMBER = "database/postgresql.dump"
# Rows a freshly migrated database holds before anyone uses it: not data anyone would lose.
BOOKKEEPING = frozenset({"django_migrations", "django_content_type", "auth_permission"})


@dataclass(frozen=True)
class Database:
    """Where a database is: a SQLite file, or PostgreSQL connection parameters."""

    vendor: Vendor
    path: Path | None = None
    params: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_django(cls, alias: str = "default") -> Database:
        from django.db import connections

        settings = connections[alias].settings_dict
        vendor = connections[alias].vendor
        if vendor == "sqlite":
            name = str(settings["NAME"])
            if name.startswith("file:") or name == ":memory:":
                raise BackupError("an in-memory SQLite database cannot be backed up or restored")
            return cls("sqlite", path=Path(name))
        if vendor == "postgresql":
            keys = {"NAME": "dbname", "USER": "user", "PASSWORD": "password", "HOST": "host"}
            params = {pg: str(settings[dj]) for dj, pg in keys.items() if settings.get(dj)}
            if settings.get("PORT"):
                params["port"] = str(settings["PORT"])
            return cls("postgresql", params=params)
        raise BackupError(f"backups of {vendor} databases are not supported")

    @property
    def label(self) -> str:
        if self.vendor == "sqlite":
            return f"SQLite database {self.path}"
        where = f"{self.params.get('host', 'localhost')}:{self.params.get('port', '5432')}"
        return f"PostgreSQL database {self.params.get('dbname', '?')} on {where}"

    def exists(self) -> bool:
        return self.vendor != "sqlite" or (self.path is not None and self.path.exists())

    @contextmanager
    def connect(self) -> Iterator[Any]:
        """A plain DB-API connection (no Django), closed afterwards."""
        try:
            if self.vendor == "sqlite":
                assert self.path is not None
                conn: Any = sqlite3.connect(self.path, timeout=20)
            else:
                import psycopg

                # Autocommit: the snapshot's transaction is begun and ended by hand.
                conn = psycopg.connect(**self.params, autocommit=True)  # type: ignore[arg-type]
        except Exception as exc:  # sqlite3.Error, psycopg.Error: both say why in one line
            raise BackupError(f"cannot open the {self.label}: {exc}") from None
        try:
            yield conn
        finally:
            conn.close()

    def pg_env(self) -> dict[str, str]:
        # libpq's variables keep the password off the command line, where `ps` would show it.
        names = {"dbname": "PGDATABASE", "user": "PGUSER", "password": "PGPASSWORD"}
        names |= {"host": "PGHOST", "port": "PGPORT"}
        return {**os.environ, **{names[k]: v for k, v in self.params.items()}}


@dataclass(frozen=True)
class Facts:
    """The state a snapshot holds, for the manifest."""

    tables: dict[str, int]
    migrations: dict[str, list[str]]
    head_seq: int
    head_hash: str


@dataclass(frozen=True)
class Snapshot:
    path: Path
    member: str
    facts: Facts


def table_names(cursor: Any, vendor: Vendor) -> list[str]:
    if vendor == "sqlite":
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    else:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")
    return sorted(str(row[0]) for row in cursor.fetchall())


def row_counts(cursor: Any, vendor: Vendor) -> dict[str, int]:
    counts = {}
    for name in table_names(cursor, vendor):
        cursor.execute(f'SELECT COUNT(*) FROM "{name}"')
        counts[name] = int(cursor.fetchone()[0])
    return counts


def facts(cursor: Any, vendor: Vendor) -> Facts:
    from mailwarden.core.models import LedgerHead

    tables = row_counts(cursor, vendor)
    migrations: dict[str, list[str]] = {}
    if "django_migrations" in tables:
        cursor.execute('SELECT app, name FROM "django_migrations" ORDER BY app, name')
        for app, name in cursor.fetchall():
            migrations.setdefault(str(app), []).append(str(name))
    head_seq, head_hash = 0, "0" * 64
    head_table = LedgerHead._meta.db_table
    if head_table in tables:
        cursor.execute(f'SELECT seq, hash FROM "{head_table}" WHERE id = 1')
        row = cursor.fetchone()
        if row is not None:
            head_seq, head_hash = int(row[0]), str(row[1])
    return Facts(tables, migrations, head_seq, head_hash)


def snapshot(db: Database, workdir: Path) -> Snapshot:
    """Take the snapshot into ``workdir``; the caller archives and removes it."""
    if db.vendor == "sqlite":
        return _sqlite_snapshot(db, workdir)
    return _postgresql_snapshot(db, workdir)


def _sqlite_snapshot(db: Database, workdir: Path) -> Snapshot:
    assert db.path is not None
    if not db.path.exists():
        raise BackupError(f"there is no database at {db.path}")
    copy = workdir / "snapshot.sqlite3"
    with db.connect() as source:
        target = sqlite3.connect(copy)
        try:
            # pages=-1: the whole file in one step under one read transaction. Done in steps,
            # every write by the server in between would restart the copy.
            source.backup(target, pages=-1)
            found = facts(target.cursor(), "sqlite")
        finally:
            target.close()
    packed = workdir / "snapshot.sqlite3.gz"
    # Level 3 of 9: nearly the size of the default for a third of its time on ledger rows.
    with open(copy, "rb") as raw, gzip.open(packed, "wb", compresslevel=3) as out:
        shutil.copyfileobj(raw, out, 1 << 20)
    copy.unlink()
    return Snapshot(packed, SQLITE_MEMBER, found)


def program(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            f"{name} is not installed or not on PATH; it comes with the PostgreSQL client "
            "(Debian: apt install postgresql-client)"
        )
    return path


def _postgresql_snapshot(db: Database, workdir: Path) -> Snapshot:
    pg_dump = program("pg_dump")
    out = workdir / "postgresql.dump"
    with db.connect() as conn:
        cursor = conn.cursor()
        cursor.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor.execute("SELECT pg_export_snapshot()")
        snapshot_id = str(cursor.fetchone()[0])
        found = facts(cursor, "postgresql")
        # The exported snapshot lives as long as this transaction: pg_dump runs inside it.
        done = subprocess.run(
            [
                pg_dump,
                *("-Fc", "-Z", "3", "--no-owner", "--no-privileges"),
                *(f"--snapshot={snapshot_id}", "-f", str(out)),
            ],
            env=db.pg_env(),
            capture_output=True,
            text=True,
        )
        cursor.execute("ROLLBACK")
    if done.returncode != 0:
        raise BackupError(f"pg_dump failed: {_last_line(done.stderr)}")
    return Snapshot(out, POSTGRESQL_MEMBER, found)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


# ----------------------------------------------------------------------------- restoring


def existing(db: Database) -> dict[str, int]:
    """Rows per table in the target database; empty where there is no database yet."""
    if not db.exists():
        return {}
    with db.connect() as conn:
        return row_counts(conn.cursor(), db.vendor)


def holds_data(counts: dict[str, int]) -> bool:
    """Whether replacing the database would lose anything someone did.

    Every change goes through a service that appends to the ledger (docs/architecture.md rule
    1), so a mailwarden database with an empty ledger holds only what its migrations put there
    (indicators, playbooks, courses). A database without a ledger holds data if any row is
    more than bookkeeping.
    """
    from mailwarden.core.models import LedgerEntry

    ledger = counts.get(LedgerEntry._meta.db_table)
    if ledger is not None:
        return ledger > 0
    return any(n for name, n in counts.items() if name not in BOOKKEEPING)


def load(db: Database, dump: Path) -> None:
    """Replace the target database's contents with the dump (already checked)."""
    if db.vendor == "sqlite":
        _load_sqlite(db, dump)
    else:
        _load_postgresql(db, dump)


def _load_sqlite(db: Database, dump: Path) -> None:
    assert db.path is not None
    db.path.parent.mkdir(parents=True, exist_ok=True)
    incoming = db.path.with_name(db.path.name + ".restoring")
    with gzip.open(dump, "rb") as packed, open(incoming, "wb") as out:
        shutil.copyfileobj(packed, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())
    # A write-ahead log left beside the old file would be replayed into the new one.
    for suffix in ("-wal", "-shm", "-journal"):
        db.path.with_name(db.path.name + suffix).unlink(missing_ok=True)
    os.replace(incoming, db.path)


def _load_postgresql(db: Database, dump: Path) -> None:
    pg_restore = program("pg_restore")
    with db.connect() as conn:
        cursor = conn.cursor()
        names = table_names(cursor, "postgresql")
        if names:
            # The caller has checked these hold nothing to lose, or been told to go on.
            cursor.execute("DROP TABLE " + ", ".join(f'"{n}"' for n in names) + " CASCADE")
    done = subprocess.run(
        [
            pg_restore,
            *("--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"),
            *("-d", db.params.get("dbname", "postgres"), str(dump)),
        ],
        env=db.pg_env(),
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {_last_line(done.stderr)}")
