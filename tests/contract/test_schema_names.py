"""Every API schema has a name of its own: two models of one name would share one component in
the OpenAPI document, and answers of the one would be checked against the other."""

from __future__ import annotations

from collections import Counter

from ninja import Schema


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found += _subclasses(sub)
    return found


def test_no_two_api_schemas_share_a_name():
    import mailwarden.server.api  # noqa: F401  (imports every app's API and its schemas)

    ours = [c for c in _subclasses(Schema) if c.__module__.startswith("mailwarden.")]
    names = Counter(c.__name__ for c in ours)
    clashes = {
        name: sorted(c.__module__ for c in ours if c.__name__ == name)
        for name, count in names.items()
        if count > 1
    }
    assert clashes == {}
