"""The tailgating join: each badge grant at a door's entry reader admits one entry within the
line's window; an entry no grant is left for raises a tailgating event with the crossing's
evidence. Exits and lines without the rule are recorded, every other type is raised."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.core import ledger
from mailwarden.core.models import LedgerEntry, OutboxEvent
from mailwarden.surveillance.models import EventState, VideoEvent
from tests.surveillance.conftest import (
    DOCK_LINE,
    PLAIN_LINE,
    QUARANTINE_LINE,
    WINDOW_S,
    badge,
    record,
)

pytestmark = pytest.mark.django_db
SNAP = "a" * 64
CLIP = "b" * 64


def raised() -> list[dict]:
    return [
        e.payload
        for e in OutboxEvent.objects.filter(topic="surveillance.video_event.raised").order_by("id")
    ]


def tailgating() -> list[VideoEvent]:
    """The tailgating events the server raised from a crossing."""
    return list(VideoEvent.objects.filter(type="tailgating", crossing__isnull=False).order_by("id"))


def entry(camera, at, line=DOCK_LINE, **kw):
    return record(camera, "line_crossing", at, zone=line, direction="entry", **kw)


def test_an_entry_on_a_grant_is_recorded_against_it(mailroom, camera, frozen_clock):
    now = frozen_clock()
    grant = badge(mailroom, now)
    crossing = entry(camera, now + timedelta(seconds=3))
    assert crossing.state == EventState.RECORDED
    assert crossing.grant_event_id == grant
    assert crossing.door == mailroom.dock
    assert tailgating() == [] and raised() == []


def test_two_entries_on_one_grant_raise_one_tailgating_event(mailroom, camera, frozen_clock):
    now = frozen_clock()
    grant = badge(mailroom, now)
    first = entry(camera, now + timedelta(seconds=2), snapshot=SNAP, clip=CLIP)
    second = entry(camera, now + timedelta(seconds=4), snapshot=SNAP, clip=CLIP)
    assert first.grant_event_id == grant
    assert second.grant_event_id is None and second.state == EventState.RECORDED
    [event] = tailgating()
    assert event.crossing == second and event.state == EventState.NEW
    assert (event.snapshot, event.clip, event.clip_type) == (SNAP, CLIP, "video/mp4")
    assert event.door == mailroom.dock and event.zone == DOCK_LINE
    assert event.occurred_at == second.occurred_at
    assert event.detail == {
        "direction": "entry",
        "window_s": WINDOW_S,
        "grants_in_window": 1,
        "entries": 2,
    }
    [payload] = raised()
    assert payload["event"] == event.pk and payload["type"] == "tailgating"
    assert payload["door"] == "dock"
    assert payload["detail"] == (
        "tailgating at door dock on dock-cam: 2 entries on 1 badge grant within 10 s"
    )
    [entry_] = LedgerEntry.objects.filter(action="surveillance.video_event.raised")
    assert ledger.entry_data(entry_)["crossing"] == second.pk
    assert ledger.verify().ok


def test_an_entry_after_the_window_is_tailgating(mailroom, camera, frozen_clock):
    now = frozen_clock()
    badge(mailroom, now)
    late = entry(camera, now + timedelta(seconds=WINDOW_S + 1))
    assert late.grant_event_id is None
    [event] = tailgating()
    assert event.detail["grants_in_window"] == 0 and event.detail["entries"] == 1


def test_an_entry_before_its_grant_is_not_paid_for(mailroom, camera, frozen_clock):
    now = frozen_clock()
    badge(mailroom, now)
    entry(camera, now - timedelta(seconds=1))
    assert len(tailgating()) == 1


def test_each_entry_takes_the_earliest_unused_grant(mailroom, camera, frozen_clock):
    now = frozen_clock()
    first = badge(mailroom, now)
    second = badge(mailroom, now + timedelta(seconds=1))
    a = entry(camera, now + timedelta(seconds=5))
    b = entry(camera, now + timedelta(seconds=6))
    assert (a.grant_event_id, b.grant_event_id) == (first, second)
    assert tailgating() == []


def test_denied_and_exit_reader_decisions_pay_for_nothing(mailroom, camera, frozen_clock):
    now = frozen_clock()
    badge(mailroom, now, granted=False)
    badge(mailroom, now, reader="q-out", door="quarantine")
    entry(camera, now + timedelta(seconds=1))
    entry(camera, now + timedelta(seconds=1), line=QUARANTINE_LINE)
    assert [e.door.code for e in tailgating()] == ["dock", "quarantine"]


def test_a_grant_on_another_door_pays_for_nothing(mailroom, camera, frozen_clock):
    now = frozen_clock()
    badge(mailroom, now, reader="q-in", door="quarantine")
    entry(camera, now + timedelta(seconds=1))
    assert [e.door.code for e in tailgating()] == ["dock"]


def test_a_two_person_grant_admits_both(mailroom, camera, frozen_clock):
    now = frozen_clock()
    grant = badge(mailroom, now, companion=True)
    a = entry(camera, now + timedelta(seconds=1))
    b = entry(camera, now + timedelta(seconds=2))
    assert a.grant_event_id == grant
    assert b.grant_event_id is None and b.detail["companion_grant"] == grant
    assert tailgating() == []
    entry(camera, now + timedelta(seconds=3))
    [event] = tailgating()
    assert event.detail["grants_in_window"] == 1 and event.detail["entries"] == 3


def test_exits_and_plain_lines_are_recorded_not_raised(mailroom, camera, frozen_clock):
    now = frozen_clock()
    out = record(camera, "line_crossing", now, zone=DOCK_LINE, direction="exit")
    plain = record(camera, "line_crossing", now, zone=PLAIN_LINE, direction="entry")
    unknown_line = record(camera, "line_crossing", now, zone="gone", direction="entry")
    assert {out.state, plain.state, unknown_line.state} == {EventState.RECORDED}
    assert tailgating() == [] and raised() == []
    assert not LedgerEntry.objects.filter(action="surveillance.video_event.raised").exists()


@pytest.mark.parametrize("kind", ["loitering", "after_hours", "unattended", "crowding"])
def test_every_other_type_is_raised(mailroom, camera, frozen_clock, kind):
    event = record(camera, kind, frozen_clock(), snapshot=SNAP)
    assert event.state == EventState.NEW
    [payload] = raised()
    assert payload["type"] == kind and payload["camera"] == "dock-cam" and payload["site"] == "hq"
    assert payload["has_snapshot"] is True and payload["has_clip"] is False
    assert payload["detail"] == f"{kind.replace('_', ' ')} in floor on dock-cam"
    assert LedgerEntry.objects.filter(action="surveillance.video_event.raised").count() == 1


def test_a_workers_own_tailgating_report_is_judged_as_an_entry(mailroom, camera, frozen_clock):
    # The vision library knows no grants: on a line with only the tailgating rule it reports
    # every entry as tailgating, and the server joins it with the grants instead.
    now = frozen_clock()
    grant = badge(mailroom, now)
    paid = record(camera, "tailgating", now + timedelta(seconds=1), zone=DOCK_LINE)
    assert (paid.type, paid.state, paid.grant_event_id) == ("line_crossing", "recorded", grant)
    assert paid.detail == {"direction": "entry", "reported_as": "tailgating", "grant": grant}
    assert raised() == []
    unpaid = record(camera, "tailgating", now + timedelta(seconds=2), zone=DOCK_LINE)
    [event] = tailgating()
    assert event.crossing == unpaid and event.detail["entries"] == 2
    assert [p["type"] for p in raised()] == ["tailgating"]


def test_a_tailgating_report_beside_its_crossing_is_not_counted_twice(
    mailroom, camera, frozen_clock
):
    from mailwarden.surveillance.services import cameras
    from tests.access.conftest import MANAGER

    both = [{"type": "line_crossing"}, {"type": "tailgating", "window": WINDOW_S}]
    cameras.set_regions(
        MANAGER,
        camera.name,
        [
            cameras.RegionSpec(
                kind="line",
                name=DOCK_LINE,
                points=[(0.1, 0.5), (0.9, 0.5)],
                door="dock",
                rules=both,
            )
        ],
    )
    now = frozen_clock()
    badge(mailroom, now)
    entry(camera, now + timedelta(seconds=1))
    report = record(camera, "tailgating", now + timedelta(seconds=1), zone=DOCK_LINE)
    assert report.state == EventState.RECORDED and report.detail["judged_as"] == "its crossing"
    assert tailgating() == [] and raised() == []


def test_a_tailgating_report_on_an_unknown_line_is_raised_as_reported(camera, frozen_clock):
    event = record(camera, "tailgating", frozen_clock(), zone="a line drawn since")
    assert event.state == EventState.NEW
    assert [p["type"] for p in raised()] == ["tailgating"]
