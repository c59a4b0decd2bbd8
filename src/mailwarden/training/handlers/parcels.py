"""Outbox handlers: parcels (to come)."""
