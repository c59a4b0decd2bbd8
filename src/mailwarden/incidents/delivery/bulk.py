"""Queueing thousands of messages in one statement (a site-wide message to everyone at a site)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections

from mailwarden.core import plainsql
from mailwarden.incidents.models import Delivery

# The columns each message gives; every other column of the table is the same for all.
_GIVEN = ("channel", "address", "user_id", "subject", "text", "payload", "key", "ref", "exercise")


def insert_new(rows: list[dict[str, Any]], now: datetime) -> int:
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
