"""Figure: items per second through a batch intake, ``POST /api/items/batch`` (target: 5,000/s).

Starts ``mailwarden serve`` on a free loopback port against a fresh database, as
``bench_intake_api.py`` does, then POSTs batches of up to 1,000 items (the dock's mix of letters,
flats and parcels with valid tracking numbers) one after another. Every item runs the whole
batch path: the same checks as a single intake (carrier rule, duplicate question, active
recipient), its row, two ledger entries and two outbox events, all of a batch in one
transaction. The figure is items logged over the wall time of the requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import time
from urllib.parse import urlsplit

import httpx
from _common import add_database_args, bench_environment, describe_ms
from bench_intake_api import (
    free_port,
    issue_token,
    payloads,
    server,
    set_up_site,
    tree_cpu_seconds,
)

TARGET_PER_S = 5_000.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=10, help="default 10")
    parser.add_argument("--size", type=int, default=1000, help="items per batch, default 1,000")
    parser.add_argument("--recipients", type=int, default=50, help="default 50")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smoke run: 2 batches of 100")
    add_database_args(parser)
    args = parser.parse_args()
    batches, size = (2, 100) if args.quick else (args.batches, args.size)
    rng = random.Random(args.seed)

    with bench_environment(args.postgres, args.keep) as env:
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "mailwarden.server.settings"
        import django

        django.setup()
        port = free_port()
        with server(env, port, workers=1) as (base, pid):
            token = issue_token(env)
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60
            ) as client:
                recipients = set_up_site(client, args.recipients)
            items = payloads(batches * size, recipients, rng)
            bodies = [
                json.dumps({"items": items[n * size : (n + 1) * size]}).encode()
                for n in range(batches)
            ]
            address = urlsplit(base)
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=120)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            latencies: list[float] = []
            created = refused = 0
            cpu_before = tree_cpu_seconds(pid)
            start = time.perf_counter()
            for body in bodies:
                sent = time.perf_counter()
                connection.request("POST", "/api/items/batch", body=body, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                latencies.append(time.perf_counter() - sent)
                if response.status != 200:
                    raise SystemExit(f"batch refused: {response.status} {answer[:300]!r}")
                parsed = json.loads(answer)
                created += len(parsed["created"])
                refused += len(parsed["refused"])
            elapsed = time.perf_counter() - start
            cpu_after = tree_cpu_seconds(pid)
            connection.close()
        database = "PostgreSQL" if args.postgres else "SQLite"
        rate = created / elapsed
        print(f"  per batch: {describe_ms(latencies)}; refused items: {refused}", file=sys.stderr)
        if cpu_before is not None and cpu_after is not None and created:
            per = (cpu_after - cpu_before) / created
            print(
                f"  server CPU: {per * 1e6:.0f} µs per item (one core: {1 / per:,.0f}/s)",
                file=sys.stderr,
            )
        verdict = "meets" if rate >= TARGET_PER_S and not refused else "MISSES"
        print(
            f"batch intake: {created:,} items in {batches} batches of {size:,} in {elapsed:.2f} s"
            f" = {rate:,.0f}/s on {database}, one server process; {verdict} the target of"
            f" {TARGET_PER_S:,.0f}/s"
        )
        return 0 if created == batches * size else 1


if __name__ == "__main__":
    sys.exit(main())
