"""Figures: intakes per second through the REST API with the default ``mailwarden serve`` (target:
750/s on a 2-core machine), the server's CPU per intake (target: 1.2 ms) and per empty
token-authenticated GET (target: 0.4 ms).

Starts ``mailwarden serve`` on a free loopback port against a fresh database, issues an API token
with ``mailwarden token issue``, creates a site and recipients through the API, then POSTs
``/api/items`` from a small pool of client threads until the request budget or the time budget
runs out. Every intake runs the whole service path: validation, carrier check, item row, ledger
entries and outbox events, with the server's in-process task runner on as it is by default.
Then it GETs ``/api/sites`` (one site) the same way. CPU is the server's whole process tree's.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from _common import add_database_args, bench_environment, describe_ms

TARGET_PER_S = 750.0
TARGET_INTAKE_CPU_MS = 1.2
TARGET_GET_CPU_MS = 0.4
MAILWARDEN = str(Path(sys.executable).with_name("mailwarden"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time the process has used (Linux), to express cost per intake."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float | None:
    """CPU time of the process and every live descendant (the server's worker processes)."""
    own = cpu_seconds(pid)
    if own is None:
        return None
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return own + sum(tree_cpu_seconds(int(child)) or 0.0 for child in children)


@contextmanager
def server(env: dict[str, str], port: int, workers: int | None = None) -> Iterator[tuple[str, int]]:
    log = open(Path(env["MW_DATA_DIR"]) / "serve.log", "wb")  # noqa: SIM115 - closed below
    extra = [] if workers is None else ["--workers", str(workers)]
    process = subprocess.Popen(
        [MAILWARDEN, "serve", "--host", "127.0.0.1", "--port", str(port), *extra],
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"the server exited; see {log.name}")
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"the server did not become ready; see {log.name}")
            time.sleep(0.2)  # polling a starting subprocess, not waiting on mailwarden's clock
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def issue_token(env: dict[str, str]) -> str:
    done = subprocess.run(
        [MAILWARDEN, "token", "issue", "--name", "benchmark", "--role", "admin"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def set_up_site(client: httpx.Client, recipients: int) -> list[int]:
    def ok(response: httpx.Response) -> httpx.Response:
        if response.status_code >= 300:
            raise SystemExit(f"{response.request.url}: {response.status_code} {response.text}")
        return response

    ok(client.post("/api/sites", json={"code": "hq", "name": "Head office", "timezone": "UTC"}))
    for code, kind in (("dock", "dock"), ("xray", "screening"), ("shelf-a", "shelf")):
        ok(client.post("/api/sites/hq/locations", json={"code": code, "name": code, "kind": kind}))
    ids = []
    for n in range(recipients):
        body = {
            "employee_id": f"B{n:05d}",
            "first_name": "Bench",
            "last_name": f"Person{n}",
            "email": f"bench{n}@example.org",
        }
        ids.append(ok(client.post("/api/recipients", json=body)).json()["id"])
    return ids


def payloads(count: int, recipients: list[int], rng: random.Random) -> list[dict[str, object]]:
    """A dock's mix: mostly untracked letters, parcels with unique valid tracking numbers."""
    from mailwarden.custody.demo import tracking_number

    seen: set[str] = set()
    out = []
    for _ in range(count):
        kind = rng.choices(("letter", "flat", "parcel"), (5, 2, 3))[0]
        number = ""
        if kind != "letter":
            while not number or number in seen:
                number = tracking_number(rng, rng.choice(("ups", "s10")))
            seen.add(number)
        out.append(
            {
                "site": "hq",
                "recipient_id": rng.choice(recipients),
                "kind": kind,
                "tracking_number": number,
                "sender": "Benchmark Supplies Ltd",
                "weight_g": rng.randint(20, 5000),
            }
        )
    return out


def hammer(
    base: str,
    token: str,
    bodies: list[dict[str, object] | None],
    threads: int,
    budget_s: float,
    path: str = "/api/items",
) -> tuple[float, list[float], Counter[int]]:
    """POST the bodies (GET for None) from ``threads`` keep-alive connections until they or the
    time run out.

    The standard library's HTTP client, not httpx: on a small machine the client shares the
    cores with the server, and httpx spent more CPU per request than the server did.
    """
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    encoded = iter([b"" if body is None else json.dumps(body).encode() for body in bodies])
    address = urlsplit(base)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    start = time.perf_counter()

    def worker() -> None:
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
        try:
            while time.perf_counter() - start < budget_s:
                with lock:
                    body = next(encoded, None)
                if body is None:
                    return
                sent = time.perf_counter()
                method = "POST" if body else "GET"
                connection.request(method, path, body=body or None, headers=headers)
                response = connection.getresponse()
                response.read()
                with lock:
                    latencies.append(time.perf_counter() - sent)
                    statuses[response.status] += 1
        finally:
            connection.close()

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - start, latencies, statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3_000, help="default 3,000")
    parser.add_argument("--seconds", type=float, default=30.0, help="time budget, default 30")
    parser.add_argument("--threads", type=int, default=4, help="client threads, default 4")
    parser.add_argument("--recipients", type=int, default=50, help="default 50")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--gets", type=int, default=3_000, help="empty GETs, default 3,000")
    parser.add_argument(
        "--workers", type=int, default=None, help="server processes (default: serve's own)"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 requests")
    parser.add_argument(
        "--checkpoint-interval",
        type=int,
        default=None,
        metavar="S",
        help="the server's ledger checkpoint interval (MW_LEDGER_CHECKPOINT_INTERVAL_S; 0: none)",
    )
    add_database_args(parser)
    args = parser.parse_args()
    requests = 200 if args.quick else args.requests
    rng = random.Random(args.seed)

    with bench_environment(args.postgres, args.keep) as env:
        # The client uses mailwarden's own generator for valid tracking numbers; it never
        # touches the database, which belongs to the server process.
        if args.checkpoint_interval is not None:
            env["MW_LEDGER_CHECKPOINT_INTERVAL_S"] = str(args.checkpoint_interval)
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "mailwarden.server.settings"
        import django

        django.setup()
        port = free_port()
        with server(env, port, args.workers) as (base, pid):
            token = issue_token(env)
            with httpx.Client(
                base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
            ) as client:
                recipients = set_up_site(client, args.recipients)
            bodies = payloads(requests, recipients, rng)
            cpu_before, client_before = tree_cpu_seconds(pid), cpu_seconds(os.getpid())
            elapsed, latencies, statuses = hammer(base, token, bodies, args.threads, args.seconds)
            cpu_after, client_after = tree_cpu_seconds(pid), cpu_seconds(os.getpid())
            gets = 200 if args.quick else args.gets
            get_before = tree_cpu_seconds(pid)
            get_elapsed, _, get_statuses = hammer(
                base, token, [None] * gets, args.threads, args.seconds, "/api/sites"
            )
            get_after = tree_cpu_seconds(pid)
        database = "PostgreSQL" if args.postgres else "SQLite"
        processes = f"{args.workers} server process(es)" if args.workers else "default serve"
        done = statuses.get(201, 0)
        rate = done / elapsed
        print(f"  latency: {describe_ms(latencies)}; statuses {dict(statuses)}", file=sys.stderr)
        if client_before is not None and client_after is not None and latencies:
            client = (client_after - client_before) / len(latencies)
            print(f"  client CPU: {client * 1000:.1f} ms per request", file=sys.stderr)
        figures = []
        met = rate >= TARGET_PER_S and done == len(latencies)
        if cpu_before is not None and cpu_after is not None and done:
            # Independent of what else the machine runs: the server's own CPU per intake.
            per_ms = (cpu_after - cpu_before) / done * 1000
            figures.append(f"{per_ms:.2f} ms CPU per intake (target {TARGET_INTAKE_CPU_MS})")
            met = met and per_ms <= TARGET_INTAKE_CPU_MS
        answered = get_statuses.get(200, 0)
        if get_before is not None and get_after is not None and answered:
            get_ms = (get_after - get_before) / answered * 1000
            figures.append(
                f"{get_ms:.2f} ms CPU per empty GET (target {TARGET_GET_CPU_MS}),"
                f" {answered / get_elapsed:.0f} GETs/s"
            )
            met = met and get_ms <= TARGET_GET_CPU_MS
        print(
            f"intake API: {done:,} intakes in {elapsed:.1f} s = {rate:.0f}/s on {database},"
            f" {processes}, {args.threads} client threads (target {TARGET_PER_S:.0f}/s); "
            + "; ".join(figures)
            + f"; {'meets' if met else 'MISSES'} the targets"
        )
        return 0 if done == len(latencies) and answered == sum(get_statuses.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
