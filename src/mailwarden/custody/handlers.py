"""Outbox handlers for custody events (notifications are registered here)."""
