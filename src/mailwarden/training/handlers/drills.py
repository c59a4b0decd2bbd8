"""Outbox handlers: drills (to come)."""
