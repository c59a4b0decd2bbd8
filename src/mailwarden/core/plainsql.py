"""Plain SQL for hot paths: single-row lookups and inserts that still deal in model instances.

Compiling an ORM query costs several times what running it costs on SQLite, and a small API
call makes a handful of them. These skip the compiler: ``first_where`` runs the caller's
condition and turns the row into an instance through the converters and ``Model.from_db`` that
the ORM uses; ``insert`` writes an instance through its fields' own preparation.
The statements are prepared once per model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class _Shape:
    select: str
    insert_into: str  # "INSERT INTO table (columns)"
    row: str  # "(%s, ...)", one placeholder per written column
    insert_fields: list[Any]
    # One function per written column: the instance's value as the database takes it.
    preparers: list[Callable[[Model], Any]]
    attnames: list[str]
    # (column index, converter functions, the column expression they expect)
    converters: list[tuple[int, list[Callable[..., Any]], Any]]


def _db() -> BaseDatabaseWrapper:
    # The connection itself, not django.db.connection: every attribute read through that proxy
    # looks the connection up again in a context-local, and an insert reads dozens of them.
    return connections[DEFAULT_DB_ALIAS]


@contextmanager
def cursor() -> Iterator[Any]:
    """A cursor for hot-path statements, with Django's translation of database errors.

    On PostgreSQL it is psycopg's own cursor: Django's wrapper costs, per statement, close to
    what psycopg's own work on a small one costs, and an intake runs ten. SQLite keeps Django's
    wrapper, which turns the ``%s`` placeholders into the driver's ``?``.
    """
    connection = _db()
    if connection.vendor != "postgresql":
        with connection.cursor() as wrapped:
            yield wrapped
        return
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors, connection.connection.cursor() as raw:
        yield raw


def execute_bound(cursor: Any, sql: str, params: Sequence[Any]) -> int:
    """Run one statement on PostgreSQL with its parameters bound by the server (``%b`` sends a
    parameter in binary); returns the rows it touched. Django's cursors merge parameters into
    the SQL text on the client, which for arrays of thousands of values costs more in escaping
    than the statement costs the server. ``cursor`` is one from :func:`cursor`."""
    import psycopg

    with psycopg.Cursor(cursor.connection) as bound:
        bound.execute(sql, params)
        return max(bound.rowcount, 0)


@cache
def _shape(model: type[Model], vendor: str) -> _Shape:
    connection = _db()
    meta = model._meta
    fields = meta.concrete_fields
    quote = connection.ops.quote_name
    converters = []
    for index, field in enumerate(fields):
        column = field.get_col(meta.db_table)
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, found, column))
    table = quote(meta.db_table)
    columns = ", ".join(quote(field.column) for field in fields)
    written = [field for field in fields if field is not meta.pk]
    return _Shape(
        f"SELECT {columns} FROM {table}",
        f"INSERT INTO {table} ({', '.join(quote(f.column) for f in written)})",
        f"({', '.join(['%s'] * len(written))})",
        written,
        [_preparer(field, connection) for field in written],
        [field.attname for field in fields],
        converters,
    )


def first_where(
    model: type[M], where: str, params: Sequence[Any], *, order_by: str = ""
) -> M | None:
    """The first ``model`` row matching ``where`` (SQL with ``%s`` placeholders), or None.

    ``where`` and ``order_by`` name columns; they are the caller's text, never user input.
    """
    connection = _db()
    shape = _shape(model, connection.vendor)
    order = f" ORDER BY {order_by}" if order_by else ""
    with cursor() as db:
        args = [_adapt(connection, p) for p in params]
        db.execute(f"{shape.select} WHERE {where}{order} LIMIT 1", args)
        row = db.fetchone()
    if row is None:
        return None
    values = list(row)
    for index, functions, column in shape.converters:
        for convert in functions:
            values[index] = convert(values[index], column, connection)
    return model.from_db(connection.alias, shape.attnames, values)


def insert(obj: Model, *, unless_taken: str | None = None) -> bool:
    """INSERT a new instance, giving it its primary key; returns whether it was written.

    With ``unless_taken`` (a unique column) a row that already holds the instance's value there
    leaves it unwritten, and the transaction usable on every database, without the savepoint
    that the ORM's way of retrying a unique value costs.
    """
    connection = _db()
    meta = obj._meta
    shape = _shape(type(obj), connection.vendor)
    quote = connection.ops.quote_name
    conflict = f" ON CONFLICT ({quote(unless_taken)}) DO NOTHING" if unless_taken else ""
    sql = f"{shape.insert_into} VALUES {shape.row}{conflict} RETURNING {quote(meta.pk.column)}"
    with cursor() as db:
        db.execute(sql, _prepared(connection, shape, obj))
        row = db.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    obj._state.db = connection.alias
    return True


def insert_many(objs: Sequence[Model]) -> None:
    """INSERT new instances of one model in one statement; their primary keys are not read."""
    if not objs:
        return
    with cursor() as db:
        db.execute(*insert_many_statement(objs))


def insert_many_statement(objs: Sequence[Model]) -> tuple[str, list[Any]]:
    """The SQL and parameters :func:`insert_many` runs, for a caller that adds to it."""
    connection = _db()
    shape = _shape(type(objs[0]), connection.vendor)
    sql = f"{shape.insert_into} VALUES {', '.join([shape.row] * len(objs))}"
    return sql, [value for obj in objs for value in _prepared(connection, shape, obj)]


def _prepared(connection: BaseDatabaseWrapper, shape: _Shape, obj: Model) -> list[Any]:
    return [prepare(obj) for prepare in shape.preparers]


# Fields whose value of these exact types goes to the database as it is: what their own
# preparation (``get_db_prep_save``) would return for it unchanged.
_AS_IS: dict[str, tuple[type, ...]] = {
    "CharField": (str,),
    "TextField": (str,),
    "EmailField": (str,),
    "SlugField": (str,),
    "URLField": (str,),
    "BooleanField": (bool,),
    "IntegerField": (int,),
    "BigIntegerField": (int,),
    "SmallIntegerField": (int,),
    "PositiveIntegerField": (int,),
    "PositiveBigIntegerField": (int,),
    "PositiveSmallIntegerField": (int,),
    "FloatField": (float, int),
}


def _preparer(field: Any, connection: BaseDatabaseWrapper) -> Callable[[Model], Any]:
    """How one column's value is prepared: a shortcut for the common plain values, the field's
    own preparation for everything else. Preparing every column of every row through the field
    was most of the cost of writing a batch of rows."""

    def through_field(obj: Model) -> Any:
        return field.get_db_prep_save(field.pre_save(obj, True), connection)

    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return through_field
    attname = field.attname
    kind = field.get_internal_type()
    if field.is_relation:
        kind = field.target_field.get_internal_type()
        # A key to a row is stored as that row's integer key.
        kind = "BigIntegerField" if kind in ("AutoField", "BigAutoField") else kind
    if kind == "DateTimeField":
        adapt = connection.ops.adapt_datetimefield_value

        def moment(obj: Model) -> Any:
            value = getattr(obj, attname)
            if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
                return adapt(value)
            return through_field(obj)

        return moment
    plain = _AS_IS.get(kind)
    if plain is None:
        return through_field

    def as_is(obj: Model) -> Any:
        value = getattr(obj, attname)
        if value is None or type(value) in plain:
            return value
        return through_field(obj)

    return as_is


def _adapt(connection: BaseDatabaseWrapper, value: Any) -> Any:
    # Stored as the ORM stores them (naive UTC text on SQLite), so comparisons line up.
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value
