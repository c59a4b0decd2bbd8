"""The one error backup and restore raise: a sentence for the person at the command line."""

from __future__ import annotations


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and names the file."""
