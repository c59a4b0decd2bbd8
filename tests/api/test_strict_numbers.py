"""Every number in every API input is strict: true and false are never 0 and 1, and a whole
number is never given as a fraction."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from mailwarden.core.api import Input, _scalar_types
from mailwarden.core.plugins import api_routers


def input_schemas() -> Iterator[type[Input]]:
    api_routers()  # imports every app's API, and so its schemas
    seen: set[type[Input]] = set()
    todo = list(Input.__subclasses__())
    while todo:
        schema = todo.pop()
        if schema in seen:
            continue
        seen.add(schema)
        todo.extend(schema.__subclasses__())
        if schema.__module__.startswith("mailwarden."):
            yield schema


def number_fields() -> list[tuple[type[Input], str, Any]]:
    found = []
    for schema in input_schemas():
        for name, field in schema.model_fields.items():
            types = _scalar_types(field.annotation)
            if (int in types or float in types) and bool not in types:
                found.append((schema, name, field.annotation))
    return sorted(found, key=lambda f: (f[0].__qualname__, f[1]))


def wrap(annotation: Any, value: object) -> object:
    """The value where the field holds it: itself, in a list, or as a dict's value."""
    text = str(annotation)
    if text.startswith("dict") or "dict[" in text:
        return {"weight": value}
    return [value] if "list[" in text else value


def field_errors(schema: type[Input], data: dict[str, Any], name: str) -> list[str]:
    try:
        schema.model_validate(data)
    except ValidationError as exc:
        return [str(e["msg"]) for e in exc.errors() if e["loc"][:1] == (name,)]
    return []


def test_the_api_inputs_have_number_fields_to_check():
    names = {(s.__name__, n) for s, n, _ in number_fields()}
    assert {("ReaderIn", "osdp_address"), ("AreaIn", "reentry_s")} <= names


@pytest.mark.parametrize(
    ("schema", "name", "annotation"),
    number_fields(),
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_no_number_field_takes_a_boolean(schema, name, annotation):
    for value in (False, True):
        errors = field_errors(schema, {name: wrap(annotation, value)}, name)
        assert errors == ["Value error, must be a number, not true or false"], (schema, name)


@pytest.mark.parametrize(
    ("schema", "name", "annotation"),
    [f for f in number_fields() if float not in _scalar_types(f[2])],
    ids=lambda v: v.__name__ if isinstance(v, type) else str(v),
)
def test_no_whole_number_field_takes_a_fraction(schema, name, annotation):
    errors = field_errors(schema, {name: wrap(annotation, 5.0)}, name)
    assert errors == ["Value error, must be a whole number"], (schema, name)
