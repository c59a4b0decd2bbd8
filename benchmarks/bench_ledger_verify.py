"""Figure: time to verify a ledger of 1,000,000 entries (target: under 10 s).

The entries are hashed by the same code as ``ledger.append`` (``ledger.build_entry``) and bulk
inserted, then ``ledger.verify()`` checks the whole chain as ``mailwarden ledger verify`` does:
in parts on one worker process per core (at most 4), and, for comparison, in one walk.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import add_database_args, bench_environment, database_label, setup_django, stopwatch

TARGET_S = 10.0


def build(entries: int, batch: int = 5_000) -> None:
    from django.db import transaction

    from mailwarden.core import ledger
    from mailwarden.core.actor import Actor
    from mailwarden.core.models import LedgerEntry, LedgerHead
    from mailwarden.core.roles import Role

    actors = [
        Actor("user", "clerk", frozenset({Role.CLERK})),
        Actor("user", "screener", frozenset({Role.SCREENER})),
        Actor("device", "dock-scanner-1", frozenset({Role.CLERK})),
    ]
    steps = ("awaiting_screening", "cleared", "ready_for_pickup", "picked_up")
    start = datetime(2025, 1, 1, 8, 0, tzinfo=UTC)
    prev_hash, seq = ledger.GENESIS, 0
    while seq < entries:
        rows = []
        for _ in range(min(batch, entries - seq)):
            seq += 1
            entry = ledger.build_entry(
                seq=seq,
                prev_hash=prev_hash,
                actor=actors[seq % len(actors)],
                action="custody.item.transitioned",
                subject_type="mailitem",
                subject_id=f"MW-{seq // 4:08d}",
                data={
                    "from": steps[(seq - 1) % 4],
                    "to": steps[seq % 4],
                    "location": "shelf-a",
                    "reason": "benchmark step",
                },
                at=start + timedelta(seconds=seq * 7, microseconds=seq % 1000),
            )
            rows.append(entry)
            prev_hash = entry.hash
        with transaction.atomic():
            LedgerEntry.objects.bulk_create(rows)
    LedgerHead.objects.update_or_create(id=1, defaults={"seq": seq, "hash": prev_hash})


def settle() -> None:
    """VACUUM a PostgreSQL ledger after the bulk load, as autovacuum does on a live server.

    Otherwise the first read after the load also sets every row's hint bits while autovacuum
    works through the table beside it: a cost of the benchmark's build, not of verifying.
    """
    from django.db import connection

    from mailwarden.core.models import LedgerEntry

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"VACUUM (ANALYZE) {connection.ops.quote_name(LedgerEntry._meta.db_table)}"
            )


def timed_verify(ledger: Any, entries: int, *, jobs: int) -> float | None:
    start = time.perf_counter()
    result = ledger.verify(jobs=jobs)
    elapsed = time.perf_counter() - start
    if not result.ok or result.checked != entries:
        print(f"verification failed: {result.problem}", file=sys.stderr)
        return None
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--quick", action="store_true", help="smoke run with 20,000 entries")
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="worker processes, as mailwarden ledger verify (default: cores, at most 4)",
    )
    add_database_args(parser)
    args = parser.parse_args()
    entries = 20_000 if args.quick else args.entries

    with bench_environment(args.postgres, args.keep) as env:
        setup_django(env)
        from mailwarden.core import ledger

        jobs = args.jobs or ledger.default_jobs()
        print(f"building {entries:,} ledger entries on {database_label()}", file=sys.stderr)
        with stopwatch("build"):
            build(entries)
        settle()
        elapsed = timed_verify(ledger, entries, jobs=jobs)
        walked = timed_verify(ledger, entries, jobs=1)
        if walked is None or elapsed is None:
            return 1
        print(f"  one walk, one process: {walked:.2f} s", file=sys.stderr)
        rate = entries / elapsed
        parallel = jobs > 1 and entries >= ledger.PARALLEL_FROM
        how = f"with {jobs} worker processes" if parallel else "in one walk"
        verdict = "meets" if elapsed < TARGET_S * entries / 1_000_000 else "MISSES"
        print(
            f"ledger verify: {entries:,} entries in {elapsed:.2f} s ({rate:,.0f} entries/s) "
            f"{how} on {database_label()}; {verdict} the target of"
            f" {TARGET_S:.0f} s per million"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
