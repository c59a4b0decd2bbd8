"""Two people entering on one badge grant, reported by two requests at once: exactly one
tailgating event (PostgreSQL row locks on the door; SQLite serialises every write anyway)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mailwarden.surveillance.models import VideoEvent
from tests.conftest import race
from tests.surveillance.conftest import DOCK_LINE, badge, record

pytestmark = pytest.mark.postgres
AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_two_concurrent_entries_on_one_grant_raise_exactly_one_tailgating(
    pg, mailroom, camera, frozen_clock
):
    grant = badge(mailroom, AT)

    def enter(seconds: int):
        return lambda: record(
            camera,
            "line_crossing",
            AT + timedelta(seconds=seconds),
            zone=DOCK_LINE,
            direction="entry",
        )

    for attempt in range(3):
        VideoEvent.objects.all().delete()
        results = race(enter(2), enter(3))
        assert all(isinstance(r, VideoEvent) for r in results), results
        crossings = VideoEvent.objects.filter(type="line_crossing")
        assert crossings.filter(grant_event_id=grant).count() == 1, attempt
        [tailgate] = VideoEvent.objects.filter(type="tailgating")
        assert tailgate.crossing.grant_event_id is None
        assert tailgate.detail["grants_in_window"] == 1
