"""Figure: time to queue one site message (evacuate, with a roll call) to 5,000 people.

Seeds one site with 5,000 active people, each with an email address and a phone number, in
twenty departments (bulk inserted: the seeding is not what is measured). Then one security
operator's ``send_broadcast`` is timed as the console and the API call it: the checks, the
message row, one roll-call row per person, two signed answer links per message, 10,000
deliveries (email and SMS) through ``delivery.queue``, the ledger entry and the catalogue event,
in one transaction. A second site message to the same people is timed too, so the figure is
not only a cold start. The URLconf is loaded first, as in a running server.

Target: under 2 s.
"""

from __future__ import annotations

import argparse
import sys
import time

from _common import add_database_args, bench_environment, database_label, setup_django

TARGET_S = 2.0


def seed(people: int) -> None:
    from django.db import transaction

    from mailwarden.core.actor import Actor
    from mailwarden.directory import services as directory
    from mailwarden.directory.models import Department, Recipient

    admin = Actor.job("benchmark")
    site = directory.create_site(admin, code="hq", name="Head office", timezone="Europe/London")
    with transaction.atomic():
        departments = Department.objects.bulk_create(
            [Department(name=f"Department {n:02d}") for n in range(20)]
        )
        Recipient.objects.bulk_create(
            [
                Recipient(
                    employee_id=f"E{n:06d}",
                    first_name="Person",
                    last_name=f"Number{n}",
                    email=f"person{n}@example.org",
                    phone=f"+4420{n:08d}",
                    department=departments[n % len(departments)],
                    site=site,
                )
                for n in range(people)
            ],
            batch_size=1000,
        )


def send_one(headline: str) -> tuple[float, int, int]:
    from mailwarden.core.actor import Actor
    from mailwarden.core.roles import Role
    from mailwarden.incidents.services import broadcasts

    operator = Actor("user", "bench-operator", frozenset({Role.SECURITY_OPERATOR}))
    request = broadcasts.BroadcastRequest(
        site="hq",
        kind="evacuate",
        headline=headline,
        text="Leave the building by the nearest exit and go to assembly point B.",
    )
    start = time.perf_counter()
    sent = broadcasts.send_broadcast(operator, request, confirm=True)
    elapsed = time.perf_counter() - start
    return elapsed, sent.recipients, sent.messages


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=5_000, help="default 5,000")
    parser.add_argument("--quick", action="store_true", help="smoke run with 500 people")
    add_database_args(parser)
    args = parser.parse_args()
    people = 500 if args.quick else args.people

    with bench_environment(args.postgres, args.keep) as env:
        setup_django(env)
        from mailwarden.incidents.models import Delivery

        print(f"seeding {people:,} people at one site on {database_label()}", file=sys.stderr)
        seed(people)
        # A running server has its URLconf loaded (every app's views and the API): not a cost of
        # the message, and several seconds on a busy 2-core machine.
        from django.urls import reverse

        reverse("incidents:broadcasts")
        first, recipients, messages = send_one("Evacuate now")
        second, _, _ = send_one("Evacuate now (second message)")
        queued = Delivery.objects.count()
        if recipients != people or messages != 2 * people or queued != 4 * people:
            print(f"wrong counts: {recipients}, {messages}, {queued}", file=sys.stderr)
            return 1
        print(f"  second message: {second:.2f} s", file=sys.stderr)
        worst = max(first, second)
        verdict = "meets" if worst < TARGET_S else "MISSES"
        print(
            f"site message: {people:,} people, {messages:,} messages queued in {first:.2f} s "
            f"(second message {second:.2f} s) on {database_label()}; "
            f"{verdict} the {TARGET_S:.0f} s target"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
