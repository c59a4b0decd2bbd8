"""The demo's alarm console: its rules, and alarms from the demo's own screening data."""

from __future__ import annotations

import pytest

from mailwarden.core import outbox
from mailwarden.core.demo import seed
from mailwarden.incidents.models import Alarm, AlarmRule


@pytest.mark.django_db
def test_the_demo_console_opens_with_the_demos_own_alarms():
    result = seed(items=20, recipients=5, seed=3, skip={"access"})
    assert AlarmRule.objects.count() == 2
    alarms = list(Alarm.objects.all())
    assert len(alarms) == 2
    for alarm in alarms:
        assert alarm.source == "screening" and alarm.severity == 4
        assert alarm.title.startswith("Do not open: MW-")
        # Critical: the demo's first rule decides to open an incident.
        assert alarm.action == "open_incident"
    assert "Raised 2 alarms in the alarm console." in result.summary()
    # Delivering what the demo emitted later changes nothing.
    outbox.dispatch_due(limit=5000)
    assert sorted(Alarm.objects.values_list("count", flat=True)) == [1, 1]
    assert seed(items=20, recipients=5, seed=3).created is False
