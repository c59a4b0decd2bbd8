"""Figure: the cost of a signed ledger checkpoint over 1,000,000 entries (target: under 1 s).

Builds the ledger as ``bench_ledger_verify.py`` does, then times what ``mailwarden ledger
checkpoint`` does: the first checkpoint, which hashes every entry into the Merkle tree's tile
cache, and a checkpoint after 10,000 more entries, which hashes only those (the figure: a
scheduled checkpoint's cost). Then ``ledger verify`` with and without the checkpoint check
(the full Merkle rebuild from the entries), and the sizes of the proofs and of a receipt.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import TypeVar

from _common import add_database_args, bench_environment, database_label, setup_django
from bench_ledger_verify import build, settle

T = TypeVar("T")
TARGET_S = 1.0
MORE = 10_000


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--quick", action="store_true", help="smoke run with 20,000 entries")
    add_database_args(parser)
    args = parser.parse_args()
    entries = 20_000 if args.quick else args.entries
    more = 1_000 if args.quick else MORE

    with bench_environment(args.postgres, args.keep) as env:
        setup_django(env)
        from django.db import transaction

        from mailwarden.core import checkpoints, ledger, merkle
        from mailwarden.core.actor import Actor

        actor = Actor.job("bench")
        print(f"building {entries:,} ledger entries on {database_label()}", file=sys.stderr)
        build(entries)
        settle()
        first, first_s = timed(lambda: checkpoints.write(actor))
        # More entries, as a day's work would add between scheduled checkpoints.
        with transaction.atomic():
            ledger.append_many(
                actor,
                [
                    ledger.Record("custody.item.moved", "mailitem", f"MW-{i:08d}")
                    for i in range(more)
                ],
            )
        second, second_s = timed(lambda: checkpoints.write(actor))
        size = second.checkpoint.size
        if not (first.new and second.new and size == entries + more + 1):
            print("the checkpoints were not written as expected", file=sys.stderr)
            return 1
        plain, plain_s = timed(lambda: ledger.verify(jobs=ledger.default_jobs(), checkpoints=False))
        held, held_s = timed(lambda: ledger.verify(jobs=ledger.default_jobs()))
        if not (plain.ok and held.ok and held.consistent == 1):
            print(f"verification failed: {held.problem}", file=sys.stderr)
            return 1
        tree = checkpoints.cached_tree()
        inclusion = tree.inclusion_proof(size // 3, size)
        consistency = tree.consistency_proof(first.checkpoint.size, size)
        note_bytes = len(second.note.encode())
        tiles = checkpoints.LedgerTile.objects.count()
        proof_b = len(inclusion) * merkle.HASH_SIZE
        for line in (
            f"  first checkpoint (hashes all {entries:,} entries into the tile cache): "
            f"{first_s:.2f} s",
            f"  checkpoint after {more:,} more entries: {second_s:.3f} s",
            f"  ledger verify: {plain_s:.2f} s for the chain, {held_s:.2f} s with the checkpoint"
            f" check (+{held_s - plain_s:.2f} s to rebuild the tree from every entry)",
            f"  inclusion proof: {len(inclusion)} hashes = {proof_b} bytes"
            f" ({len(''.join(merkle.proof_to_text(inclusion)))} characters of base64);"
            f" consistency proof {first.checkpoint.size:,} -> {size:,}: {len(consistency)} hashes",
            f"  checkpoint note: {note_bytes} bytes; tile cache: {tiles:,} rows",
        ):
            print(line, file=sys.stderr)
        verdict = "meets" if second_s < TARGET_S else "MISSES"
        print(
            f"ledger checkpoint: {size:,} entries, {second_s:.3f} s after {more:,} new ones"
            f" (first {first_s:.1f} s), inclusion proof {proof_b} B, on {database_label()};"
            f" {verdict} the target of {TARGET_S:.0f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
