"""mailwarden: self-hosted security for an organisation's mailroom."""

__version__ = "0.1.0"
