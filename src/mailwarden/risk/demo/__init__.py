"""The risk app's demo data: one finished assessment and one in progress."""

from __future__ import annotations

from mailwarden.core.plugins import DemoOptions, DemoSeeder


class RiskDemo(DemoSeeder):
    def seed(self, options: DemoOptions) -> str:
        return ""
