"""The dashboard: counts that match the custody data, and a fragment for HTMX polling."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from mailwarden.core.clock import FrozenClock, use_clock
from mailwarden.core.roles import Role
from mailwarden.custody import services
from mailwarden.directory import services as directory
from tests.factories import ADMIN, CLERK, SCREENER, intake


def tiles(body: str) -> dict[str, int]:
    return {k: int(v) for k, v in re.findall(r'data-tile="(\w+)">(\d+)<', body)}


def test_counts_follow_the_items(as_role, site, recipient, frozen_clock):
    first = intake(site, recipient)
    second = intake(site, recipient)
    services.transition(SCREENER, first.uid, "cleared")
    services.transition(CLERK, first.uid, "ready_for_pickup")
    services.transition(SCREENER, second.uid, "quarantined", reason="leaking powder")
    frozen_clock.advance(days=4)
    intake(site, recipient)
    body = as_role(Role.AUDITOR).get("/").content.decode()
    assert tiles(body) == {"intake_today": 1, "awaiting_pickup": 1, "quarantined": 1, "overdue": 1}
    counts = dict(re.findall(r'data-count="(\w+)">(\d+)<', body))
    assert counts["awaiting_screening"] == "1" and counts["received"] == "0"
    # The longest bar is full width; the others are drawn in proportion.
    widths = re.findall(r'class="fill-(\w+)" width="([\d.]+)"', body)
    assert ("ready_for_pickup", "100.0") in widths and ("cleared", "0.0") in widths


def test_polling_gets_only_the_panel_which_polls_again(as_role, db):
    body = as_role(Role.CLERK).get("/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in body
    assert body.lstrip().startswith('<div id="dashboard"')
    assert 'hx-trigger="every 30s"' in body


def test_today_is_each_sites_own_day(as_role, recipient):
    auckland = directory.create_site(
        ADMIN, code="akl", name="Auckland", timezone="Pacific/Auckland"
    )
    directory.create_location(ADMIN, site_code=auckland.code, code="dock", name="dock", kind="dock")
    seattle = directory.create_site(
        ADMIN, code="sea", name="Seattle", timezone="America/Los_Angeles"
    )
    directory.create_location(ADMIN, site_code=seattle.code, code="dock", name="dock", kind="dock")
    # 10:00 UTC on 2 March is 23:00 in Auckland (UTC+13) and 02:00 in Seattle (UTC-8).
    with use_clock(FrozenClock(datetime(2026, 3, 2, 10, 0, tzinfo=UTC))):
        for site in (auckland, seattle):
            intake(site, recipient)
    clock = FrozenClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))  # Auckland: 3 March, 01:00
    with use_clock(clock):
        assert tiles(as_role(Role.AUDITOR).get("/").content.decode())["intake_today"] == 1
        clock.advance(hours=14)  # Seattle: 2 March, 18:00; Auckland: 3 March, 15:00
        assert tiles(as_role(Role.AUDITOR).get("/").content.decode())["intake_today"] == 1
        clock.advance(hours=7)  # Seattle: 3 March, 01:00
        assert tiles(as_role(Role.AUDITOR).get("/").content.decode())["intake_today"] == 0
