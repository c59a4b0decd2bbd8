"""Two deliveries of the same batch at once, as an edge retrying after a timeout while the first
request is still running on another server worker: each event is stored once.

SQLite takes a database-wide write lock, so there is nothing to race there; these run on
PostgreSQL, where the second insert waits on the unique key and then finds it taken.
"""

from __future__ import annotations

import pytest

from mailwarden.access import services
from mailwarden.access.models import AccessEvent
from mailwarden.core import ledger
from tests.access.conftest import device, event
from tests.conftest import race
from tests.factories import ADMIN, make_site

pytestmark = pytest.mark.postgres


def test_the_same_batch_from_two_workers_is_stored_once(pg, frozen_clock):
    site = make_site()
    ctl = services.doors.create_controller(ADMIN, name="edge-race", site=site.code).controller
    now = frozen_clock()
    batch = [event("door.event", now, door_id="x", kind="forced_open") for _ in range(20)]
    keys = [item["key"] for item in batch]
    one, two = race(
        lambda: services.ingest.ingest_events(device(ctl), ctl.name, batch),
        lambda: services.ingest.ingest_events(device(ctl), ctl.name, batch),
    )
    assert not isinstance(one, Exception), one
    assert not isinstance(two, Exception), two
    assert sorted(one.applied + two.applied) == sorted(keys)
    assert sorted(one.duplicates + two.duplicates) == sorted(keys)
    assert AccessEvent.objects.count() == len(keys)
    assert ledger.verify().ok
