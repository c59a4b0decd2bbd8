"""Files the controller keeps hold card numbers, PIN hashes, keys and signed rules: they are
readable by their owner only, whatever the process's umask."""

from __future__ import annotations

import os
from pathlib import Path

OWNER_ONLY = 0o600


def owner_only_opener(path: str, flags: int) -> int:
    """An ``opener`` for ``open()``: a file it creates is owner-only from the start."""
    return os.open(path, flags, OWNER_ONLY)


def make_owner_only(path: Path) -> None:
    """Create ``path`` empty if missing, and make it owner-only either way (a file left by an
    earlier release may be readable by others)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, OWNER_ONLY)
    try:
        os.fchmod(fd, OWNER_ONLY)  # O_CREAT's mode does not apply to a file that existed
    finally:
        os.close(fd)


def replace_durably(source: Path, target: Path) -> None:
    """Rename ``source`` over ``target`` and make the rename itself reach the disk: without the
    folder's fsync a power cut could bring the old file back."""
    os.replace(source, target)
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
