"""Checks that services share for the text people type, refusing with the field's name."""

from __future__ import annotations

from mailwarden.core.api import clean_text
from mailwarden.core.errors import ServiceError


def check_text(value: str, field_name: str, *, max_length: int, required: bool = False) -> str:
    """``value`` stripped, or a ServiceError naming ``field_name``: control characters, empty
    when ``required``, or longer than ``max_length``."""
    value = (value or "").strip()
    try:
        clean_text(value)
    except ValueError as exc:
        raise ServiceError(str(exc), field_name) from None
    if required and not value:
        raise ServiceError("must not be empty", field_name)
    if len(value) > max_length:
        raise ServiceError(f"must be at most {max_length} characters", field_name)
    return value


def check_slug(value: str, field_name: str) -> str:
    """A name used in addresses and tokens: letters, digits, '-' and '_', at most 100."""
    value = check_text(value, field_name, max_length=100, required=True)
    if not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        raise ServiceError("use only letters, digits, '-' and '_'", field_name)
    return value
