"""Scoring method: matrix (placeholder)."""
