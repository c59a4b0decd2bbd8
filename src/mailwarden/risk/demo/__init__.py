"""Risk for ``mailwarden demo``: at the first site, one finalised assessment from the start of the
demo's history (answered, scored, treated, with controls measured against the demo's data) and
its re-assessment in progress now, with the automatic findings the demo's data gives."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from mailwarden.core.plugins import DemoOptions, DemoSeeder


class RiskDemo(DemoSeeder):
    def present(self) -> str | None:
        from mailwarden.risk.models import Assessment

        count = Assessment.objects.count()
        return f"{count} risk assessments" if count else None

    def seed(self, options: DemoOptions) -> str:
        from mailwarden.risk.demo import assessments

        return assessments.seed(options)


def answer_for(kind: str, choices: tuple[tuple[str, str], ...], rng: random.Random) -> Any:
    """A plausible answer of ``kind``: mostly reassuring, now and then not."""
    if kind == "yesno":
        return rng.random() < 0.8
    if kind == "choice":
        return choices[0][0] if rng.random() < 0.7 else rng.choice(choices)[0]
    if kind == "multi":
        return [key for key, _ in choices[: max(1, len(choices) // 2)]]
    if kind == "number":
        return rng.randint(1, 12)
    return "Checked on the walk-round with the mailroom supervisor."


def due_in(now: datetime, days: int) -> date:
    return (now + timedelta(days=days)).date()
