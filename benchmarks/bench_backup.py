"""Figure: backup and restore times for 1,000,000 mail items with their ledger; archive size.

The items are bulk loaded as ``bench_search`` loads them, each with its intake entry on the ledger
(hashed by ``ledger.build_entry``, as ``bench_ledger_verify`` builds its chain), and a signed
checkpoint is written over the whole ledger. Then ``mailwarden backup`` and ``mailwarden restore``
run as the commands a person would run, each in its own process: the restore into a fresh data
folder (and, on PostgreSQL, a database of its own), with its checks included (every hash, the
row counts, the ledger chain and the checkpoint).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    _admin_url,
    _pg_admin,
    add_database_args,
    bench_environment,
    database_label,
    setup_django,
    stopwatch,
)
from bench_search import build_directory, insert_items, item_rows, uid_for

PHOTO_BYTES = 64 * 1024


def build_ledger(items: int, batch: int = 10_000) -> None:
    """One intake entry per item, chained, in bulk."""
    from django.db import transaction

    from mailwarden.core import ledger
    from mailwarden.core.actor import Actor
    from mailwarden.core.models import LedgerEntry, LedgerHead
    from mailwarden.core.roles import Role

    clerk = Actor("user", "clerk", frozenset({Role.CLERK}))
    start = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    # The directory's own entries (site, locations) come first.
    seq, prev_hash = ledger.head()
    done = 0
    while done < items:
        rows = []
        for _ in range(min(batch, items - done)):
            seq += 1
            entry = ledger.build_entry(
                seq=seq,
                prev_hash=prev_hash,
                actor=clerk,
                action="custody.item.received",
                subject_type="mailitem",
                subject_id=uid_for(done),
                data={"site": "hq", "kind": "parcel", "location": "dock"},
                at=start + timedelta(seconds=done * 7),
            )
            rows.append(entry)
            prev_hash = entry.hash
            done += 1
        with transaction.atomic():
            LedgerEntry.objects.bulk_create(rows)
    LedgerHead.objects.update_or_create(id=1, defaults={"seq": seq, "hash": prev_hash})


def put_photos(count: int) -> int:
    """Photos are already compressed: random bytes stand in for them."""
    from mailwarden.core import media

    for _ in range(count):
        media.put(os.urandom(PHOTO_BYTES))
    return count * PHOTO_BYTES


def run(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "mailwarden.cli", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"mailwarden {' '.join(args)} failed: {done.stderr.strip()}")
    return elapsed


def mib(n: float) -> str:
    return f"{n / (1 << 20):,.1f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument(
        "--photos", type=int, default=1_000, help="64 KiB media files (default 1,000)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 5,000 items, 20 photos")
    add_database_args(parser)
    args = parser.parse_args()
    items, photos = (5_000, 20) if args.quick else (args.items, args.photos)

    with bench_environment(args.postgres, args.keep) as env:
        setup_django(env)
        from django.db import connections

        from mailwarden.core import checkpoints
        from mailwarden.core.actor import Actor

        label = database_label()
        print(f"building {items:,} items with their ledger on {label}", file=sys.stderr)
        rng = random.Random(7)
        with stopwatch("build items"):
            site, locations, people = build_directory(200, rng)
            insert_items(item_rows(items, site, locations, people, rng))
        with stopwatch("build ledger"):
            build_ledger(items)
        with stopwatch("checkpoint"):
            checkpoints.write(Actor.job("benchmark"))
        photo_bytes = put_photos(photos)
        connections.close_all()

        data_dir = Path(env["MW_DATA_DIR"])
        db_bytes = sum(
            p.stat().st_size for p in data_dir.glob("mailwarden.sqlite3*") if p.is_file()
        )
        out = data_dir / "archives"
        backup_s = run(["backup", "--to", str(out)], env)
        [archive] = sorted(out.glob("mailwarden-*.tar"))
        size = archive.stat().st_size

        restored_dir = Path(tempfile.mkdtemp(prefix="mailwarden-bench-restore-"))
        restore_env = {**env, "MW_DATA_DIR": str(restored_dir)}
        restored_db = None
        if args.postgres:
            restored_db = args.postgres.rstrip("/") + "_restored"
            _, name = _admin_url(restored_db)
            _pg_admin(restored_db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            _pg_admin(restored_db, f'CREATE DATABASE "{name}"')
            restore_env["MW_DATABASE_URL"] = restored_db
        try:
            restore_s = run(["restore", str(archive)], restore_env)
        finally:
            if restored_db is not None:
                _pg_admin(restored_db, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            import shutil

            shutil.rmtree(restored_dir, ignore_errors=True)
        database_part = f" (the database file {mib(db_bytes)})" if db_bytes else ""
        print(
            f"backup: {items:,} items and {items:,} ledger entries with {photos:,} photos "
            f"({mib(photo_bytes)}) on {label}: backup {backup_s:.1f} s, restore {restore_s:.1f} s "
            f"(checks included), archive {mib(size)}{database_part}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
