"""What the ``mailwarden`` commands share: starting Django, and asking a person at a terminal."""

from __future__ import annotations

import os
from typing import TextIO


def setup_django() -> None:
    """Load the server's settings and apps, for a command that reads or changes the database."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailwarden.server.settings")
    import django

    django.setup()


def confirmed(question: str, expected: str, stdin: TextIO, stderr: TextIO) -> bool:
    """Ask on a terminal for ``expected`` to be typed back; without a terminal, refuse."""
    if not stdin.isatty():
        stderr.write("mailwarden: confirm with --yes (there is no terminal to ask on)\n")
        return False
    stderr.write(question)
    stderr.flush()
    return stdin.readline().strip() == expected
