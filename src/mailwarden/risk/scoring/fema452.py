"""Scoring method: fema452 (placeholder)."""
