"""Figure: item search latency on 1,000,000 items and 5,000 recipients (target: p95 under 200 ms).

Builds the tables in bulk (a mailroom's two years of mail), then times 200 mixed searches through
``custody.queries.search_items``, as the console and the API call it: by item ID, by tracking
number, by recipient name, and by state plus name.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import (
    add_database_args,
    bench_environment,
    database_label,
    describe_ms,
    percentile,
    setup_django,
    stopwatch,
)

TARGET_P95_MS = 200.0
UID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
TRACKING_ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
SYLLABLES = [c + v for c in "bdfghklmnprstvz" for v in "aeiou"]
ENDINGS = ("son", "ton", "ley", "ford", "man", "ski", "ez", "er", "ova", "ini", "sen", "ard")


def uid_for(n: int) -> str:
    # A multiplicative bijection on 40 bits spreads sequential numbers over the ID space.
    value = (n * 0x9E3779B1) % 32**8
    chars = []
    for _ in range(8):
        value, digit = divmod(value, 32)
        chars.append(UID_ALPHABET[digit])
    return "MW-" + "".join(reversed(chars))


def surname(rng: random.Random, common: list[str]) -> str:
    if rng.random() < 0.3:
        return rng.choice(common)
    return (
        "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 2))) + rng.choice(ENDINGS)
    ).capitalize()


def build_directory(recipients: int, rng: random.Random) -> tuple[int, dict[str, int], list[int]]:
    """One site with its locations, and the recipients; returns site id, locations, people."""
    from mailwarden.core.actor import Actor
    from mailwarden.directory import services
    from mailwarden.directory.demo import FIRST, LAST
    from mailwarden.directory.models import Department, Location, LocationKind, Recipient

    admin = Actor.job("benchmark")
    site = services.create_site(admin, code="hq", name="Head office", timezone="Europe/London")
    for code, kind in (
        ("dock", LocationKind.DOCK),
        ("xray", LocationKind.SCREENING),
        ("quarantine", LocationKind.QUARANTINE),
        ("shelf-a", LocationKind.SHELF),
        ("trolley", LocationKind.VEHICLE),
    ):
        services.create_location(admin, site_code=site.code, code=code, name=code, kind=kind)
    # Directory rows in bulk: going through create_recipient would time the ledger, not search.
    departments = [
        Department.objects.create(name=name)
        for name in ("Finance", "Legal", "Research", "IT", "Facilities")
    ]
    Recipient.objects.bulk_create(
        Recipient(
            employee_id=f"E{n:06d}",
            first_name=(first := rng.choice(FIRST)),
            last_name=(last := surname(rng, LAST)),
            email=f"{first}.{last}.{n}@example.org".lower(),
            department=rng.choice(departments),
        )
        for n in range(recipients)
    )
    locations = dict(Location.objects.values_list("code", "id"))
    return site.pk, locations, list(Recipient.objects.values_list("id", flat=True))


def item_rows(
    count: int, site_id: int, locations: dict[str, int], people: list[int], rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    from django.db import connection

    adapt = connection.ops.adapt_datetimefield_value
    heavy = people[:100]  # a few people (executive offices) get a fifth of all mail
    end = datetime.now(UTC).replace(microsecond=0)
    start = end - timedelta(days=730)
    step = (end - start) / count
    terminal = (("picked_up", 60), ("delivered", 30), ("returned", 5), ("destroyed", 1))
    open_states = (
        ("awaiting_screening", 10),
        ("cleared", 5),
        ("quarantined", 1),
        ("ready_for_pickup", 50),
        ("out_for_delivery", 10),
    )
    where = {
        "picked_up": "shelf-a",
        "delivered": "trolley",
        "returned": "dock",
        "destroyed": "quarantine",
        "awaiting_screening": "xray",
        "cleared": "xray",
        "quarantined": "quarantine",
        "ready_for_pickup": "shelf-a",
        "out_for_delivery": "trolley",
    }
    for n in range(count):
        received = start + step * n + timedelta(seconds=rng.randint(0, 59))
        mix = open_states if end - received < timedelta(days=10) else terminal
        state = rng.choices([s for s, _ in mix], [w for _, w in mix])[0]
        kind = rng.choices(("letter", "flat", "parcel"), (5, 2, 4))[0]
        tracked = kind != "letter" or rng.random() < 0.2
        number = "1Z" + "".join(rng.choice(TRACKING_ALPHABET) for _ in range(16)) if tracked else ""
        changed = received + timedelta(hours=rng.randint(1, 72))
        yield (
            uid_for(n),
            site_id,
            number,
            "ups" if number else "",
            "ups" if number else "",
            kind,
            "",
            False,
            rng.randint(20, 20_000),
            rng.choice(heavy) if rng.random() < 0.2 else rng.choice(people),
            state,
            locations[where[state]],
            adapt(received),
            adapt(min(changed, end)),
            0,
            0,
            1,
            "",
            "",
        )


ITEM_COLUMNS = (
    "uid, site_id, tracking_number, carrier, tracking_type, kind, sender, accountable, weight_g,"
    " recipient_id, state, location_id, received_at, state_changed_at, pickup_failures,"
    " reminders_sent, version, notes, photo_sha256"
)


def insert_items(rows: Iterator[tuple[Any, ...]], batch: int = 50_000) -> None:
    from django.db import connection, transaction

    if connection.vendor == "postgresql":
        # COPY is the bulk path PostgreSQL is built for, an order of magnitude over INSERTs.
        connection.ensure_connection()
        raw = connection.connection
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY custody_mailitem ({ITEM_COLUMNS}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        raw.commit()
        return
    sql = f"INSERT INTO custody_mailitem ({ITEM_COLUMNS}) VALUES ({', '.join(['%s'] * 19)})"
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == batch:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.executemany(sql, chunk)
            chunk = []
    if chunk:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, chunk)


def gather_statistics(analyze: bool) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        # PostgreSQL's autovacuum gathers statistics by itself soon after a load; SQLite has
        # none unless someone runs ANALYZE, which a mailwarden install does not.
        if analyze or connection.vendor == "postgresql":
            cursor.execute("ANALYZE")


Search = tuple[str, str, dict[str, Any]]


def searches(count: int, items: int, rng: random.Random) -> list[Search]:
    """A seeded mix: (kind, q, filters), a quarter of each kind."""
    from mailwarden.custody.models import MailItem
    from mailwarden.directory.models import Recipient

    people = list(Recipient.objects.values_list("first_name", "last_name"))
    numbers = list(
        MailItem.objects.exclude(tracking_number="")
        .filter(id__in=[rng.randint(1, items) for _ in range(count)])
        .values_list("tracking_number", flat=True)
    )
    states = ("ready_for_pickup", "picked_up", "awaiting_screening", "delivered")
    mix: list[Search] = []
    for n in range(count):
        first, last = rng.choice(people)
        name = rng.choice((last, last[: max(3, len(last) - 2)], f"{first} {last}"))
        match n % 4:
            case 0:
                uid = uid_for(rng.randrange(items))
                mix.append(("uid", rng.choice((uid, uid.lower(), uid[3:])), {}))
            case 1:
                mix.append(("tracking", rng.choice(numbers), {}))
            case 2:
                mix.append(("name", name, {}))
            case _:
                mix.append(("state+name", name, {"state": rng.choice(states)}))
    return mix


def listings() -> list[Search]:
    """Listing by each state or by site with no text, and one-letter names."""
    from mailwarden.custody.states import State

    mix: list[Search] = [("listing", "", {"state": s}) for s in State.values]
    mix.append(("listing", "", {"site_code": "hq"}))
    mix.extend(("listing", letter, {}) for letter in "aems")
    return mix


def time_searches(mix: list[Search], warm: bool = True) -> dict[str, list[float]]:
    from mailwarden.core.actor import Actor
    from mailwarden.custody.queries import search_items

    actor = Actor.job("benchmark")
    for _, q, filters in mix[:20] if warm else ():  # warm connection and caches; not counted
        search_items(actor, q, **filters)
    timings: dict[str, list[float]] = defaultdict(list)
    for kind, q, filters in mix:
        start = time.perf_counter()
        found = search_items(actor, q, **filters)
        elapsed = time.perf_counter() - start
        if kind in ("tracking",) and not found:
            raise SystemExit(f"search for {q!r} found nothing; the benchmark data is wrong")
        timings[kind].append(elapsed)
        timings["all"].append(elapsed)
    return timings


def explain(mix: list[Search]) -> None:
    """Print the plan of each kind of query once, for docs/performance.md."""
    from django.db import connection

    from mailwarden.core.actor import Actor
    from mailwarden.custody.queries import search_items

    seen = set()
    for kind, q, filters in mix:
        if kind in seen:
            continue
        seen.add(kind)
        start = len(connection.queries)
        search_items(Actor.job("benchmark"), q, **filters)
        print(f"--- {kind}: {q!r} {filters}", file=sys.stderr)
        for query in connection.queries[start:]:
            sql = query["sql"]
            with connection.cursor() as cursor:
                prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
                cursor.execute(prefix + sql)
                plan = [" ".join(str(c) for c in row) for row in cursor.fetchall()]
            print(f"{sql[:160]}...\n    " + "\n    ".join(plan), file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    items = 20_000 if args.quick else args.items
    recipients = 500 if args.quick else args.recipients
    rng = random.Random(args.seed)
    with bench_environment(args.postgres, args.keep) as env:
        setup_django(env)
        label = database_label()
        print(f"building {items:,} items and {recipients:,} recipients on {label}", file=sys.stderr)
        with stopwatch("directory"):
            site_id, locations, people = build_directory(recipients, rng)
        with stopwatch("items"):
            insert_items(item_rows(items, site_id, locations, people, rng))
        with stopwatch("statistics"):
            gather_statistics(args.analyze)
        mix = searches(args.searches, items, rng)
        if args.explain:
            from django.conf import settings
            from django.db import reset_queries

            settings.DEBUG = True
            reset_queries()
            explain(mix)
            settings.DEBUG = False
        timings = time_searches(mix)
        for kind in ("uid", "tracking", "name", "state+name"):
            print(f"  {kind:>10}: {describe_ms(timings[kind])}", file=sys.stderr)
        # Not part of the figure: the console's plain listings and the vaguest names, which
        # the search indexes of custody's migration 0002 exist for.
        extra = time_searches(listings(), warm=False)
        print(f"  {'listings':>10}: {describe_ms(extra['all'])}", file=sys.stderr)
        p95 = percentile([t * 1000 for t in timings["all"]], 95)
        verdict = "meets" if p95 < TARGET_P95_MS else "MISSES"
        print(
            f"search: {len(mix)} searches over {items:,} items on {label}:"
            f" {describe_ms(timings['all'])}; {verdict} the p95 target of"
            f" {TARGET_P95_MS:.0f} ms"
        )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="default 1,000,000")
    parser.add_argument("--recipients", type=int, default=5_000, help="default 5,000")
    parser.add_argument("--searches", type=int, default=200, help="default 200")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 items")
    parser.add_argument("--analyze", action="store_true", help="run ANALYZE on SQLite too")
    parser.add_argument("--explain", action="store_true", help="print each query plan once")
    add_database_args(parser)
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
