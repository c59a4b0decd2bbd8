"""From the camera to the console: a tailgating entry raises an alarm through the outbox, and
handling the video event acknowledges it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.core import clock, outbox
from mailwarden.incidents.models import Alarm, AlarmSource, AlarmState, Severity
from mailwarden.surveillance.models import VideoEvent
from mailwarden.surveillance.services import events
from tests.access.conftest import OPERATOR
from tests.surveillance.conftest import DOCK_LINE, badge, record

pytestmark = pytest.mark.django_db


def dispatch() -> int:
    return outbox.dispatch_due(clock.now() + timedelta(seconds=1), limit=1000)


def test_tailgating_reaches_the_console_and_handling_acknowledges_it(
    mailroom, camera, frozen_clock
):
    now = frozen_clock()
    badge(mailroom, now)
    for seconds in (1, 2):
        record(
            camera,
            "line_crossing",
            now + timedelta(seconds=seconds),
            zone=DOCK_LINE,
            direction="entry",
        )
    dispatch()
    tailgate = VideoEvent.objects.get(type="tailgating")
    [alarm] = Alarm.objects.filter(source=AlarmSource.VIDEO)
    assert alarm.severity == Severity.HIGH
    assert alarm.title == "Tailgating: door dock on dock-cam"
    assert alarm.evidence[0]["url"] == f"/surveillance/events/{tailgate.pk}/"
    assert "2 entries on 1 badge grant within 10 s" in alarm.evidence[0]["label"]

    events.handle(OPERATOR, tailgate.pk, false_positive=False, note="courier, let in")
    dispatch()
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.ACKNOWLEDGED and alarm.acknowledged_by == "user:otto"
    assert alarm.note == "acknowledged on the video event's page: courier, let in"
