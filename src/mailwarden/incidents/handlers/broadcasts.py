"""The periodic re-send of site messages to the people who have not answered their roll call."""

from __future__ import annotations

from datetime import datetime

from mailwarden.core.tasks import periodic
from mailwarden.incidents.services import broadcasts


@periodic("incidents-broadcast-resend")
def resend_due(now: datetime) -> int:
    return broadcasts.resend_due(now)
