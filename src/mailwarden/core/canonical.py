"""Canonical JSON: one byte string for one value, so its hash is stable across databases."""

from __future__ import annotations

import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | Decimal | UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not allowed in a ledger entry")


def dumps(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default
    )
