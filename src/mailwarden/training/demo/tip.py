"""Demo: tip (to come)."""

from __future__ import annotations

from mailwarden.core.plugins import DemoOptions


def seed(options: DemoOptions) -> str:
    return ""
