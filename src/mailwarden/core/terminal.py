"""What the ``mailwarden`` commands share for asking a person at a terminal."""

from __future__ import annotations

from typing import TextIO


def confirmed(question: str, expected: str, stdin: TextIO, stderr: TextIO) -> bool:
    """Ask on a terminal for ``expected`` to be typed back; without a terminal, refuse."""
    if not stdin.isatty():
        stderr.write("mailwarden: confirm with --yes (there is no terminal to ask on)\n")
        return False
    stderr.write(question)
    stderr.flush()
    return stdin.readline().strip() == expected
