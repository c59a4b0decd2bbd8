"""PIN entry: collect keypad presses per reader into whole PINs.

Readers report keys as they are pressed, often one per event. ``#`` ends a PIN, ``*`` clears
what was typed, and a pause longer than ``timeout_s`` between keys discards the half-typed PIN so
the next person does not inherit it.

The controller feeds the same collector whether a PIN opens on its own or follows a card that
needs it; it decides which by whether a card at that reader is waiting for its PIN.
"""

from __future__ import annotations

from .clock import MonotonicClock


class PinCollector:
    def __init__(
        self, clock: MonotonicClock, *, timeout_s: float = 10.0, max_len: int = 12
    ) -> None:
        self._clock = clock
        self._timeout_s = timeout_s
        self._max_len = max_len
        self._typed: dict[str, str] = {}
        self._last_key: dict[str, float] = {}

    def feed(self, reader_id: str, keys: str) -> list[str]:
        """Add keys; return the PINs that ``#`` completed (usually none or one)."""
        now = self._clock()
        last = self._last_key.get(reader_id)
        if last is not None and now - last > self._timeout_s:
            self._typed.pop(reader_id, None)
        self._last_key[reader_id] = now
        done: list[str] = []
        typed = self._typed.get(reader_id, "")
        for key in keys:
            if key == "#":
                if typed:
                    done.append(typed)
                typed = ""
            elif key == "*":
                typed = ""
            elif key.isdigit() and len(typed) < self._max_len:
                typed += key
        self._typed[reader_id] = typed
        return done

    def clear(self, reader_id: str) -> None:
        """Forget what was typed at a reader, as a card that asks for its PIN starts afresh."""
        self._typed.pop(reader_id, None)
        self._last_key.pop(reader_id, None)
