"""What the ``mailwarden`` commands share: starting Django, and asking a person at a terminal."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TextIO

from mailwarden.config import ConfigError


def setup_django(*, needs_database: bool = True) -> None:
    """Load the server's settings and apps, for a command that reads or changes the database.

    A command that ``needs_database`` and finds none would make an empty one and then fail, so
    it stops with a ConfigError naming the data folder it looked in instead. Commands that create
    the database (migrate, the demo, the server) or use none pass False.
    """
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailwarden.server.settings")
    import django

    django.setup()
    if needs_database:
        _require_database()


def _require_database() -> None:
    from django.conf import settings
    from django.db import connection

    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "sqlite" or name.startswith(("file:", ":memory:")):
        return
    if Path(name).exists():
        return
    folder = Path(settings.DATA_DIR).resolve()
    raise ConfigError(
        f"there is no mailwarden database in the data folder {folder} (no {Path(name).name}). "
        "Run the command from the folder where `make demo` or `mailwarden migrate` ran, or set "
        "MW_DATA_DIR to the data folder they used; `mailwarden migrate` creates a new database."
    )


def confirmed(question: str, expected: str, stdin: TextIO, stderr: TextIO) -> bool:
    """Ask on a terminal for ``expected`` to be typed back; without a terminal, refuse."""
    if not stdin.isatty():
        stderr.write("mailwarden: confirm with --yes (there is no terminal to ask on)\n")
        return False
    stderr.write(question)
    stderr.flush()
    return stdin.readline().strip() == expected
