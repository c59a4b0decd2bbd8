"""Helpers for mailwarden's own test suite."""
