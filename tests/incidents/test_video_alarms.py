"""The surveillance app's catalogue events reach the console: a raised video event is an alarm
with a severity by its type and a link to the event's page, its handling acknowledges the
alarm, and a camera offline is an alarm its reconnection clears."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailwarden.contracts.events import (
    CameraDisconnected,
    CameraReconnected,
    VideoEventHandled,
    VideoEventRaised,
)
from mailwarden.core.models import LedgerEntry
from mailwarden.incidents.handlers import surveillance as handlers
from mailwarden.incidents.models import Alarm, AlarmSource, AlarmState, Severity
from mailwarden.incidents.services import alarms as services
from tests.incidents.conftest import OPERATOR, deliver

pytestmark = pytest.mark.django_db
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def raised(event: int, kind: str = "tailgating", **kw) -> VideoEventRaised:
    fields = {
        "event": event,
        "type": kind,
        "camera": "dock-cam",
        "site": "hq",
        "zone": "dock door",
        "door": "dock" if kind == "tailgating" else None,
        "occurred_at": AT,
        "detail": f"{kind} seen",
        "has_snapshot": True,
        "has_clip": True,
        **kw,
    }
    return VideoEventRaised(**fields)


def only_alarm() -> Alarm:
    [alarm] = Alarm.objects.all()
    return alarm


@pytest.mark.parametrize(
    ("kind", "severity"),
    [
        ("tailgating", Severity.HIGH),
        ("unattended", Severity.HIGH),
        ("after_hours", Severity.HIGH),
        ("loitering", Severity.MEDIUM),
        ("crowding", Severity.MEDIUM),
        ("presence", Severity.LOW),
    ],
)
def test_a_video_event_becomes_an_alarm_by_its_type(site, frozen_clock, kind, severity):
    deliver(raised(41, kind))
    alarm = only_alarm()
    assert (alarm.source, alarm.severity, alarm.site) == (AlarmSource.VIDEO, severity, site)
    assert alarm.type == f"surveillance.video_event.{kind}"
    assert alarm.first_seen == AT and alarm.state == AlarmState.OPEN
    assert alarm.evidence == [
        {"label": f"Video event #41: {kind} seen", "url": "/surveillance/events/41/"}
    ]
    assert LedgerEntry.objects.filter(action="incidents.alarm.raised").count() == 1


def test_a_tailgating_alarm_names_its_door(site, frozen_clock):
    deliver(raised(41))
    assert only_alarm().title == "Tailgating: door dock on dock-cam"


def test_repeats_on_one_camera_zone_and_type_fold_and_a_delivery_twice_counts_once(
    site, frozen_clock
):
    deliver(raised(41, "loitering"), raised(42, "loitering", occurred_at=AT + timedelta(minutes=1)))
    handlers.video_event_raised(raised(41, "loitering"))
    deliver(raised(43, "loitering", zone="hall"))
    folded = Alarm.objects.get(title="Loitering: dock door on dock-cam")
    assert folded.count == 2 and len(folded.evidence) == 2
    assert Alarm.objects.count() == 2


def test_handling_the_video_event_acknowledges_its_alarm(site, frozen_clock):
    deliver(raised(41), raised(50, "loitering"))
    deliver(VideoEventHandled(event=41, by="user:otto", false_positive=True, note="a delivery"))
    tailgating = Alarm.objects.get(type="surveillance.video_event.tailgating")
    assert tailgating.state == AlarmState.ACKNOWLEDGED
    assert tailgating.acknowledged_by == "user:otto"
    assert tailgating.note == "marked as a false positive on the video event's page: a delivery"
    assert Alarm.objects.get(type="surveillance.video_event.loitering").acknowledged_at is None


def test_an_alarm_acknowledged_in_the_console_stays_so_when_the_event_is_handled(
    site, frozen_clock
):
    deliver(raised(41))
    services.acknowledge_alarm(OPERATOR, only_alarm().pk, note="on it")
    deliver(VideoEventHandled(event=41, by="user:otto", false_positive=False, note=""))
    assert only_alarm().note == "on it"


def offline(at: datetime = AT) -> CameraDisconnected:
    return CameraDisconnected(
        camera="dock-cam", site="hq", reason="worker silent since 08:57:00 UTC", occurred_at=at
    )


def test_a_camera_offline_is_an_alarm_until_it_reconnects(site, frozen_clock):
    deliver(offline())
    alarm = only_alarm()
    assert (alarm.source, alarm.type, alarm.severity) == (
        AlarmSource.VIDEO,
        "surveillance.camera.disconnected",
        Severity.MEDIUM,
    )
    assert alarm.title == "Camera offline: dock-cam"
    assert alarm.evidence == [
        {"label": "dock-cam: worker silent since 08:57:00 UTC", "ref": "dock-cam"}
    ]
    deliver(CameraReconnected(camera="dock-cam", site="hq", occurred_at=AT + timedelta(minutes=5)))
    alarm.refresh_from_db()
    assert alarm.state == AlarmState.CLEARED and alarm.cleared_at == frozen_clock()


def test_a_later_outage_is_cleared_alone(site, frozen_clock):
    deliver(offline())
    deliver(CameraReconnected(camera="dock-cam", site="hq", occurred_at=AT))
    first = only_alarm()
    services.acknowledge_alarm(OPERATOR, first.pk)
    first.refresh_from_db()
    first_cleared = first.cleared_at
    frozen_clock.advance(hours=1)
    deliver(offline(AT + timedelta(hours=1)))
    second = Alarm.objects.exclude(pk=first.pk).get()
    assert second.state == AlarmState.OPEN
    frozen_clock.advance(minutes=2)
    deliver(CameraReconnected(camera="dock-cam", site="hq", occurred_at=frozen_clock()))
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.cleared_at == first_cleared
    assert second.state == AlarmState.CLEARED and second.cleared_at == frozen_clock()


def test_long_names_stay_within_their_columns(site, frozen_clock):
    deliver(raised(41, "loitering", camera="c" * 100, zone="z" * 100))
    alarm = only_alarm()
    assert len(alarm.source_key) <= 200
    deliver(offline().model_copy(update={"camera": "c" * 100}))
    deliver(CameraReconnected(camera="c" * 100, site="hq", occurred_at=AT))
    assert Alarm.objects.get(type="surveillance.camera.disconnected").state == AlarmState.CLEARED
