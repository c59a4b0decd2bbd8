"""The risk app's periodic jobs (core.tasks.periodic): each is quick and idempotent."""

from __future__ import annotations

from datetime import datetime

from mailwarden.core.tasks import periodic
from mailwarden.risk.services import controls, treatments


@periodic("risk-overdue-treatments")
def overdue_treatments(now: datetime) -> int:
    return treatments.alert_overdue(now)


@periodic("risk-control-evidence")
def control_evidence(now: datetime) -> int:
    return controls.evaluate_due(now)
