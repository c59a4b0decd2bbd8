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
