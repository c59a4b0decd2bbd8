"""Scoring method: carver (placeholder)."""
