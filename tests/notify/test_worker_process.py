"""A separate ``mailwarden worker --burst`` process on Redis sends the arrival email.

Everything runs as it would in production: ``mailwarden migrate``, the data written by another
process through the services, and the worker picking up the outbox event, queueing the send on
Redis and running it. SQLite in a file by default; PostgreSQL when MW_DATABASE_URL is set.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from mailwarden.custody import pickup
from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[2]
# Per run, so two suites on one machine (or xdist workers) never share a database.
PG_DATABASE = f"mw_worker_test_{os.getpid()}"
CLAIM_KEY = "mailwarden-test-claim"

MAKE_READY_ITEM = """
import json
import django

django.setup()
from mailwarden.custody import services
from tests.factories import CLERK, SCREENER, intake, make_recipient, make_site

person = make_recipient()
item = intake(make_site(), person)
services.transition(SCREENER, item.uid, "cleared")
services.transition(CLERK, item.uid, "ready_for_pickup")
print(json.dumps({"uid": item.uid, "email": person.email}))
"""


@pytest.fixture
def redis_queue() -> Iterator:
    """A Redis database no other run holds: claimed with SET NX, released at the end."""
    import redis

    for db in range(8, 16):
        conn = redis.Redis.from_url(f"redis://127.0.0.1:6379/{db}")
        try:
            claimed = conn.set(CLAIM_KEY, os.getpid(), nx=True, ex=900)
        except redis.exceptions.ConnectionError:
            service_missing("Redis is not reachable at 127.0.0.1:6379")
        if claimed:
            break
    else:
        pytest.fail("every Redis database from 8 to 15 is claimed by another test run")
    conn.flushdb()
    conn.set(CLAIM_KEY, os.getpid(), ex=900)
    yield conn
    conn.flushdb()


@pytest.fixture
def database_url() -> Iterator[str | None]:
    """None for a file SQLite database; a fresh PostgreSQL database when MW_DATABASE_URL is set."""
    base = os.environ.get("MW_DATABASE_URL")
    if not base:
        yield None
        return
    import psycopg

    def admin(sql: str) -> None:
        with psycopg.connect(base, autocommit=True) as conn:
            conn.execute(sql)

    admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
    admin(f"CREATE DATABASE {PG_DATABASE}")
    yield urlunsplit(urlsplit(base)._replace(path=f"/{PG_DATABASE}"))
    admin(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.redis
def test_worker_process_sends_the_arrival_email_through_redis(
    tmp_path, smtp_server, redis_queue, database_url, settings
):
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    secret = secrets.token_urlsafe(40)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MW_")}
    env.update(
        DJANGO_SETTINGS_MODULE="mailwarden.server.settings",
        MW_DATA_DIR=str(tmp_path),
        MW_SECRET_KEY=secret,
        MW_QUEUE_URL=f"redis://127.0.0.1:6379/{redis_queue.connection_pool.connection_kwargs['db']}",
        MW_EMAIL__HOST=smtp_server.host,
        MW_EMAIL__PORT=str(smtp_server.port),
    )
    if database_url:
        env["MW_DATABASE_URL"] = database_url
    cli = [sys.executable, "-m", "mailwarden.cli"]

    _run([*cli, "migrate"], env)
    made = json.loads(_run([sys.executable, "-c", MAKE_READY_ITEM], env).strip().splitlines()[-1])
    assert smtp_server.received == []
    _run([*cli, "worker", "--burst"], env)

    [message] = smtp_server.to(made["email"])
    assert made["uid"] in message["Subject"]
    settings.SECRET_KEY = secret
    code = pickup.pickup_code(made["uid"])
    assert code in message.get_body(("plain",)).get_content()
    # The send ran as an RQ job, not inline in the worker's tick.
    finished = FinishedJobRegistry("default", connection=redis_queue).get_job_ids()
    funcs = [Job.fetch(job_id, connection=redis_queue).func_name for job_id in finished]
    assert funcs == ["mailwarden.core.tasks.send_notification"]
