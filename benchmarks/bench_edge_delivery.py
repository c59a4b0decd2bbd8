"""Figure: access events per second delivered from an edge controller's outbox to a real server.

Starts ``mailwarden serve`` on a free loopback port against a fresh database with one site, three
doors, an enrolled controller and its four readers, and 200 cardholders with cards (all made
through the access services). An edge outbox (the edge library's own SQLite outbox) is filled with
the events a busy controller writes: card decisions (granted and refused, some at the two-person
quarantine door), door openings and closings, and reader status, as after an outage. Then the
edge library's ``EventDelivery`` drains it over HTTP with the controller's device token, in
batches of up to 500, exactly as the ``mailwarden edge`` process does. Every event runs the whole
ingestion service: parse and check, the access-log row, alarms, the ledger for quarantine-room
entries, and an outbox event for the live feed.

Target: a day's backlog at a busy door (10,000 events) drains within a minute: 200 events/s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import add_database_args, bench_environment, describe_ms, setup_django
from bench_intake_api import free_port, server, tree_cpu_seconds

TARGET_PER_S = 200.0
CONTROLLER = "bench-edge"
DOORS = (("entrance", "mailroom-in", "in"), ("screening", "screening-in", "in"))
QUARANTINE = ("quarantine", "quarantine-in", "quarantine-out")


def set_up(holders: int) -> tuple[str, list[tuple[str, str, int]]]:
    """The site, doors, controller and cards; the device token and each card's ids and number."""
    from mailwarden.access import services, snapshots
    from mailwarden.core.actor import Actor
    from mailwarden.core.roles import Role
    from mailwarden.directory import services as directory
    from mailwarden.directory.models import LocationKind

    admin = Actor.job("benchmark")
    manager = Actor("user", "bench-manager", frozenset({Role.SECURITY_MANAGER}))
    site = directory.create_site(admin, code="hq", name="Head office", timezone="Europe/London")
    room = directory.create_location(
        admin,
        site_code=site.code,
        code="quarantine",
        name="Quarantine room",
        kind=LocationKind.QUARANTINE,
    )
    always = services.levels.create_schedule(
        manager,
        site=site.code,
        name="always",
        windows=[
            {
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "start": "00:00",
                "end": "24:00",
            }
        ],
    )
    enrolment = services.doors.create_controller(admin, name=CONTROLLER, site=site.code)
    doors = []
    address = 1
    for code, reader, direction in DOORS:
        door = services.doors.create_door(
            manager, services.doors.DoorData(site=site.code, code=code)
        )
        services.doors.create_reader(
            manager,
            controller=CONTROLLER,
            door=door.code,
            code=reader,
            osdp_address=address,
            direction=direction,
        )
        doors.append(door)
        address += 1
    quarantine = services.doors.create_door(
        manager, services.doors.DoorData(site=site.code, code=QUARANTINE[0], location=room.code)
    )
    for reader, direction in ((QUARANTINE[1], "in"), (QUARANTINE[2], "out")):
        services.doors.create_reader(
            manager,
            controller=CONTROLLER,
            door=quarantine.code,
            code=reader,
            osdp_address=address,
            direction=direction,
        )
        address += 1
    services.doors.set_door_rules(manager, site.code, quarantine.code, two_person_window_s=30)
    level = services.levels.create_level(
        manager,
        site=site.code,
        name="staff",
        schedule_id=always.pk,
        doors=[d.code for d in (*doors, quarantine)],
    )
    cards = []
    for n in range(holders):
        holder = services.credentials.create_cardholder(manager, name=f"Bench Person {n}")
        credential = services.credentials.issue_credential(
            manager,
            services.credentials.CredentialData(
                holder_id=holder.pk,
                format="H10301",
                facility=42,
                card=1000 + n,
                level_ids=[level.pk],
            ),
        )
        cards.append(
            (snapshots.holder_id(holder.pk), snapshots.credential_id(credential.pk), 1000 + n)
        )
    return enrolment.token, cards


def fill_outbox(outbox, count: int, cards: list[tuple[str, str, int]], rng: random.Random) -> None:
    """``count`` events as a busy controller writes them, spread over the last hours."""
    from mailwarden.edge.edge_events import (
        ACCESS_DECISION,
        DOOR_EVENT,
        READER_STATUS,
        AccessDecisionEvent,
        DoorEventRecord,
        PresentedCard,
        ReaderStatusEvent,
    )

    readers = [(reader, door) for door, reader, _ in DOORS] + [
        (QUARANTINE[1], QUARANTINE[0]),
        (QUARANTINE[2], QUARANTINE[0]),
    ]
    start = datetime.now(UTC) - timedelta(hours=6)
    step = timedelta(hours=6) / max(1, count)
    written = 0
    while written < count:
        at = start + step * written
        roll = rng.random()
        if roll < 0.02:
            reader, _ = rng.choice(readers)
            kind, event = (
                READER_STATUS,
                ReaderStatusEvent(
                    occurred_at=at, reader_id=reader, online=rng.random() < 0.5, secure=True
                ),
            )
        elif roll < 0.35:
            _, door = rng.choice(readers)
            kind, event = (
                DOOR_EVENT,
                DoorEventRecord(
                    occurred_at=at,
                    door_id=door,
                    kind=rng.choice(("opened", "closed", "unlocked", "locked")),
                ),
            )
        else:
            reader, door = rng.choice(readers)
            holder, credential, number = rng.choice(cards)
            refused = rng.random() < 0.08
            two = door == QUARANTINE[0] and not refused
            kind, event = (
                ACCESS_DECISION,
                AccessDecisionEvent(
                    occurred_at=at,
                    reader_id=reader,
                    door_id=door,
                    granted=not refused,
                    reason="no_access" if refused else ("granted_two_person" if two else "granted"),
                    holder_id=holder,
                    credential_id=credential,
                    card=PresentedCard(format="H10301", facility=42, card=number, bits="0" * 26),
                    snapshot_version=1,
                    companion_id=rng.choice(cards)[0] if two else None,
                ),
            )
        outbox.put(kind, event)
        written += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=20_000, help="events to deliver (default 20,000)"
    )
    parser.add_argument(
        "--batch", type=int, default=500, help="events per request, 1-500 (default 500)"
    )
    parser.add_argument("--holders", type=int, default=200, help="cardholders (default 200)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 events")
    add_database_args(parser)
    args = parser.parse_args()
    count = 1_000 if args.quick else args.events
    rng = random.Random(args.seed)

    with bench_environment(args.postgres, args.keep) as env:
        setup_django(env)
        token, cards = set_up(args.holders)
        from django.db import connections

        from mailwarden.access.models import AccessEvent
        from mailwarden.edge.outbox import Outbox
        from mailwarden.edge.sync import EventDelivery, Journal, ServerClient

        # The server process owns the database from here; ours must not hold a write lock.
        connections.close_all()
        with tempfile.TemporaryDirectory() as edge_dir:
            folder = Path(edge_dir)
            outbox = Outbox(folder / "outbox.sqlite3")
            fill_outbox(outbox, count, cards, rng)
            port = free_port()
            with server(env, port, workers=1) as (base, pid):
                client = ServerClient(base, token, timeout=120)
                delivery = EventDelivery(
                    client, outbox, Journal(folder / "journal.jsonl"), batch=args.batch
                )
                latencies: list[float] = []
                cpu_before = tree_cpu_seconds(pid)
                started = time.perf_counter()
                while outbox.pending_count():
                    sent = time.perf_counter()
                    result = delivery.deliver_once()
                    latencies.append(time.perf_counter() - sent)
                    if result.failed:
                        raise SystemExit(f"delivery failed: {result.error}")
                elapsed = time.perf_counter() - started
                cpu_after = tree_cpu_seconds(pid)
                client.close()
            outbox.close()
        stored = AccessEvent.objects.filter(controller__name=CONTROLLER).count()
        database = "PostgreSQL" if args.postgres else "SQLite"
        rate = count / elapsed
        print(
            f"  {len(latencies)} requests of up to {args.batch} events: {describe_ms(latencies)}; "
            f"{stored:,} events stored at the server, {delivery.duplicates} duplicates",
            file=sys.stderr,
        )
        if cpu_before is not None and cpu_after is not None:
            # Independent of what else the machine runs: the server's own CPU per event.
            per = (cpu_after - cpu_before) / count
            print(
                f"  server CPU: {per * 1000:.2f} ms per event (one core: {1 / per:.0f} events/s)",
                file=sys.stderr,
            )
        sys.stderr.flush()
        complete = stored == count
        verdict = "meets" if rate >= TARGET_PER_S and complete else "MISSES"
        print(
            f"edge delivery: {count:,} events in {elapsed:.1f} s = {rate:.0f} events/s on "
            f"{database}, one server process, batches of {args.batch}; {verdict} the target of "
            f"{TARGET_PER_S:.0f}/s"
        )
        return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
