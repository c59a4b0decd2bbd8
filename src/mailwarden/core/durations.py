"""Durations as people read them: "7 hours 2 minutes", not "25337 s"."""

from __future__ import annotations

_UNITS = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))


def spoken(seconds: float) -> str:
    """``seconds`` in the two largest units that matter ("3 days 4 hours", "90 seconds" reads
    as "1 minute 30 seconds"); under a second reads as "0 seconds"."""
    left = max(0, round(seconds))
    parts: list[str] = []
    for name, size in _UNITS:
        count, left = divmod(left, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
        elif parts:
            # A zero between two units ("2 days 0 hours 5 minutes") says nothing: stop there.
            break
        if len(parts) == 2:
            break
    return " ".join(parts) or "0 seconds"
