"""The dashboard: counts that match the custody data, and a fragment for HTMX polling."""

from __future__ import annotations

import re

from mailwarden.core.roles import Role
from mailwarden.custody import services
from tests.factories import CLERK, SCREENER, intake


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
