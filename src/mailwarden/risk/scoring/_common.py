"""What the scoring methods share: checking factor values and parameters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailwarden.risk.scoring import Factor, MethodError


def check_values(factors: tuple[Factor, ...], values: Mapping[str, int]) -> dict[str, int]:
    """Complete, known, whole-number values on each factor's scale (MethodError naming the
    factor at fault)."""
    known = {f.key for f in factors}
    for key in values:
        if key not in known:
            names = ", ".join(f.key for f in factors)
            raise MethodError(f"unknown factor {key!r}; the factors are {names}", key)
    checked: dict[str, int] = {}
    for factor in factors:
        if factor.key not in values:
            raise MethodError(f"{factor.label} needs a value", factor.key)
        checked[factor.key] = check_value(factor, values[factor.key])
    return checked


def check_value(factor: Factor, value: object) -> int:
    # JSON's true and false are ints to Python; a factor is a number on a scale, never a flag.
    if isinstance(value, bool) or not isinstance(value, int):
        raise MethodError(f"{factor.label} must be a whole number", factor.key)
    if not factor.low <= value <= factor.high:
        raise MethodError(
            f"{factor.label} must be from {factor.low} to {factor.high}, not {value}", factor.key
        )
    return value


def no_params(slug: str, params: Mapping[str, Any]) -> None:
    for key in params:
        raise MethodError(f"the {slug} method takes no parameters (got {key!r})", key)


def bucket(value: int, low: int, high: int, size: int) -> int:
    """Which of ``size`` equal bands of ``low..high`` holds ``value`` (0 for the lowest)."""
    return min(size - 1, (value - low) * size // (high - low + 1))
