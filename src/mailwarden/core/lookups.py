"""Single-row lookups for hot paths, as plain SQL that still returns model instances.

Compiling an ORM query costs several times what running it costs on SQLite, and a small API
call makes a handful of them. ``first_where`` skips the compiler: the caller writes the
condition, Django's raw queryset builds the instance and converts its columns as the ORM would.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Model

M = TypeVar("M", bound=Model)


def first_where(
    model: type[M], where: str, params: Sequence[Any], *, order_by: str = ""
) -> M | None:
    """The first ``model`` row matching ``where`` (SQL with ``%s`` placeholders), or None.

    ``where`` and ``order_by`` name columns; they are the caller's text, never user input.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    order = f" ORDER BY {order_by}" if order_by else ""
    sql = f"SELECT * FROM {table} WHERE {where}{order} LIMIT 1"
    return next(iter(model._default_manager.raw(sql, [_adapt(p) for p in params])), None)


def _adapt(value: Any) -> Any:
    # Stored as the ORM stores them (naive UTC text on SQLite), so comparisons line up.
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value
