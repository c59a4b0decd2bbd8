"""A progress bar on a terminal for backup and restore, drawn from byte counts."""

from __future__ import annotations

import time
from typing import TextIO


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class Bar:
    """``progress(label, done, total)``: redraws at most ten times a second; ``done`` ends it."""

    def __init__(self, title: str, out: TextIO, width: int = 30) -> None:
        self.title, self.out, self.width = title, out, width
        self._start = time.monotonic()
        self._drawn = 0.0
        self._label = ""

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        if label == "done":
            self.out.write("\n")
            self.out.flush()
            return
        if label == self._label and now - self._drawn < 0.1 and done < total:
            return
        self._label, self._drawn = label, now
        elapsed = now - self._start
        if total:
            filled = int(self.width * min(done, total) / total)
            bar = "#" * filled + "-" * (self.width - filled)
            line = f"{self.title}: {label} [{bar}] {_size(done)} of {_size(total)}"
        else:
            line = f"{self.title}: {label}…"
        self.out.write(f"\r{line}  {elapsed:.0f} s\033[K")
        self.out.flush()
