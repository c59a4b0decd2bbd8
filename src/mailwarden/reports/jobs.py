"""The reports app's periodic job (core.tasks.periodic): quick and idempotent."""

from __future__ import annotations

from datetime import datetime

from mailwarden.core.tasks import periodic
from mailwarden.reports import services


@periodic("reports-weekly-summary")
def weekly_summary(now: datetime) -> int:
    return services.send_due_summaries(now)
