"""What the benchmark scripts share: a throw-away database, Django set-up, and percentiles.

Each script runs against a fresh SQLite file in a temporary data folder, or against a dedicated
PostgreSQL database that it creates and drops, so a benchmark never touches real data.
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/mw_bench"


def add_database_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=DEFAULT_PG,
        metavar="URL",
        help=f"use PostgreSQL; the database in URL is created and dropped (default {DEFAULT_PG})",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the data folder / database afterwards"
    )


def _admin_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name.startswith(("mw_bench", "mailwarden_bench")):
        # Dropping a database is destructive; only names that are clearly ours are allowed.
        raise SystemExit(f"refusing to create/drop {name!r}: its name must start with mw_bench")
    return urlunsplit(parts._replace(path="/postgres")), name


def _pg_admin(url: str, statement: str) -> None:
    import psycopg

    admin, _ = _admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(statement)


@contextmanager
def bench_environment(postgres: str | None, keep: bool) -> Iterator[dict[str, str]]:
    """Environment variables for a fresh data folder and database; cleaned up afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="mailwarden-bench-"))
    # Empty values override whatever the caller's environment points at: a benchmark must never
    # write into a configured database or read a configuration file.
    env = {
        "MW_DATA_DIR": str(data_dir),
        "MW_ENV": "development",
        "MW_DEBUG": "false",
        "MW_DATABASE_URL": "",
        "MW_CONFIG": "",
    }
    if postgres:
        _, name = _admin_url(postgres)
        _pg_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _pg_admin(postgres, f'CREATE DATABASE "{name}"')
        env["MW_DATABASE_URL"] = postgres
    try:
        yield env
    finally:
        if keep:
            print(f"kept: {data_dir}" + (f" and {postgres}" if postgres else ""), file=sys.stderr)
        else:
            if postgres:
                _close_django_connections()
                _pg_admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(data_dir, ignore_errors=True)


def _close_django_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def setup_django(env: dict[str, str]) -> None:
    """Point Django at the benchmark database and create the schema."""
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "mailwarden.server.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def database_label() -> str:
    from django.db import connection

    if connection.vendor == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0]}"


def percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile: the smallest sample at or above ``pct`` percent of them."""
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(pct / 100 * len(ordered))) - 1]


def describe_ms(samples_s: list[float]) -> str:
    ms = [s * 1000 for s in samples_s]
    return (
        f"p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms, "
        f"p99 {percentile(ms, 99):.1f} ms, max {max(ms):.1f} ms, mean {statistics.fmean(ms):.1f} ms"
    )


@contextmanager
def stopwatch(label: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    print(f"  {label}: {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
