"""People's names for pages and documents: the ledger keeps actor labels ("user:mona"), and what a
person reads shows the person's name instead."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User


def names(labels: Iterable[str]) -> dict[str, str]:
    """Each label's display name: a person's full name (or username); a job or device as is."""
    wanted = {label for label in labels if label}
    usernames = {label.split(":", 1)[1] for label in wanted if label.startswith("user:")}
    people = {
        user.username: user.get_full_name() or user.username
        for user in User.objects.filter(username__in=usernames)
    }
    found: dict[str, str] = {}
    for label in wanted:
        kind, _, name = label.partition(":")
        found[label] = people.get(name, name) if kind == "user" else name or label
    return found


def name_of(label: str) -> str:
    return names([label]).get(label, label)
