"""Queueing messages on every channel (docs/architecture.md rule 3).

Callers (escalation, playbook steps, site-wide messages) build :class:`Outgoing` messages and
:func:`queue` them in their own transaction; a periodic job sends them with retries and backoff,
and a message that keeps failing becomes a dead letter the console can replay.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from mailwarden.core import clock, plainsql
from mailwarden.directory.models import Recipient
from mailwarden.incidents.models import Channel, Delivery

EXERCISE_LABEL = "EXERCISE"


@dataclass(frozen=True)
class Address:
    channel: Channel
    address: str
    user_id: int | None = None


@dataclass(frozen=True)
class Outgoing:
    to: Address
    subject: str
    text: str
    # Unique per message: the same key queued twice is sent once.
    key: str
    ref: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    exercise: bool = False


def labelled(text: str, exercise: bool) -> str:
    """An exercise's message says so first, on every channel."""
    return f"{EXERCISE_LABEL} {EXERCISE_LABEL} {EXERCISE_LABEL}: {text}" if exercise else text


def queue(messages: Iterable[Outgoing]) -> int:
    """Queue messages in the caller's transaction; returns how many were new."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("delivery.queue must run inside the change's transaction")
    now = clock.now()
    # An exercise's label goes into each payload; messages that shared one payload share its
    # labelled copy too (the original is kept in the value, so its id stays its own).
    exercised: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}

    def payload_of(m: Outgoing) -> dict[str, Any]:
        if not m.exercise:
            return m.payload
        found = exercised.get(id(m.payload))
        if found is None or found[0] is not m.payload:
            found = exercised[id(m.payload)] = (m.payload, {**m.payload, "exercise": True})
        return found[1]

    rows = [
        {
            "channel": str(m.to.channel),
            "address": m.to.address[:500],
            "user_id": m.to.user_id,
            "subject": labelled(m.subject, m.exercise)[:200],
            "text": labelled(m.text, m.exercise),
            "payload": payload_of(m),
            "key": m.key[:200],
            "ref": m.ref[:100],
            "exercise": m.exercise,
        }
        for m in messages
    ]
    return _insert_new(rows, now)


# The columns each message gives; every other column of the table is the same for all.
_GIVEN = ("channel", "address", "user_id", "subject", "text", "payload", "key", "ref", "exercise")


def _insert_new(rows: list[dict[str, Any]], now: datetime) -> int:
    """INSERT ... ON CONFLICT (key) DO NOTHING for every row, in plain SQL; how many were new.

    A site-wide message queues 10,000 rows and more in one request: the ORM's bulk_create spends
    several times the database's own work preparing each value of each row, so this prepares
    only the payloads, and every other column once (the two times, and the model's defaults).
    SQLite runs one statement for every row (executemany, parsed once); PostgreSQL gets one
    array per column and unnests them in one statement, so psycopg sends a few arrays rather
    than dumping and pipelining 17 parameters a row.
    """
    if not rows:
        return 0
    connection = connections[DEFAULT_DB_ALIAS]
    quote = connection.ops.quote_name
    meta = Delivery._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    fixed: dict[str, Any] = {"created_at": now, "next_attempt_at": now}
    for f in fields:
        if f.attname not in _GIVEN and f.attname not in fixed:
            fixed[f.attname] = f.get_default()
    into = f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
    conflict = f" ON CONFLICT ({quote(meta.get_field('key').column)}) DO NOTHING"
    # Messages of one sending often share one payload object: serialised once.
    dumped: dict[int, str] = {}
    with plainsql.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = {name: [row[name] for row in rows] for name in _GIVEN}
            arrays["payload"] = [
                dumped.get(id(p)) or dumped.setdefault(id(p), json.dumps(p))
                for p in arrays["payload"]
            ]
            given = [f for f in fields if f.attname in _GIVEN]
            selected = []
            for f in fields:
                cast = "jsonb" if f.attname == "payload" else f.db_type(connection)
                selected.append(f"v.{f.attname}::{cast}" if f.attname in _GIVEN else f"%s::{cast}")
            # %b: binary arrays, which psycopg copies as they are; in text it escapes every value.
            unnest = ", ".join(
                f"%b::{'text' if f.attname == 'payload' else f.db_type(connection)}[]"
                for f in given
            )
            sql = (
                f"{into}SELECT {', '.join(selected)} FROM unnest({unnest}) "
                f"AS v({', '.join(f.attname for f in given)}){conflict}"
            )
            params = [fixed[f.attname] for f in fields if f.attname not in _GIVEN]
            params += [arrays[f.attname] for f in given]
            return plainsql.execute_bound(cursor, sql, params)
        else:
            prepared = {
                name: f.get_db_prep_save(fixed[name], connection)
                for f in fields
                if (name := f.attname) in fixed
            }
            # JSONField's own preparation is json.dumps on SQLite, behind three calls a row.
            dumps = json.dumps
            columns = [f.attname for f in fields]
            sql = f"{into}VALUES ({', '.join(['%s'] * len(fields))}){conflict}"
            params = []
            for row in rows:
                payload = row["payload"]
                text = dumped.get(id(payload))
                if text is None:
                    text = dumped[id(payload)] = dumps(payload)
                values = {**prepared, **row, "payload": text}
                params.append([values[c] for c in columns])
            cursor.executemany(sql, params)
        return max(cursor.rowcount, 0)


def addresses_for_user(user_id: int) -> Sequence[Address]:
    """Every channel a staff member can be reached on; the in-app inbox always."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return ()
    found = [Address(Channel.INAPP, str(user.pk), user.pk)]
    if user.email:
        found.append(Address(Channel.EMAIL, user.email, user.pk))
    return found


def addresses_for_recipient(recipient_id: int) -> Sequence[Address]:
    """Every channel a person in the directory can be reached on."""
    recipient = Recipient.objects.filter(pk=recipient_id).first()
    if recipient is None or not recipient.active:
        return ()
    return recipient_addresses(recipient.email, recipient.phone, recipient.user_id)


def recipient_addresses(email: str, phone: str, user_id: int | None) -> list[Address]:
    """The channels of a person from their columns, without a query: a site-wide message reads
    thousands of people's columns in one query and asks this of each."""
    found = []
    if email:
        found.append(Address(Channel.EMAIL, email, user_id))
    if phone:
        found.append(Address(Channel.SMS, phone, user_id))
    if user_id:
        found.append(Address(Channel.INAPP, str(user_id), user_id))
    return found
