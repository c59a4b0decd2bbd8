"""Migration 0003 moves the time on item out of the notes of decisions made before it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from mailwarden.core import clock
from tests.factories import intake, make_recipient, make_site

BEFORE = [("screening", "0002_indicator_catalogue")]
AFTER = [("screening", "0003_decision_seconds_on_item")]


def migrate(targets: list[tuple[str, str]]):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_the_time_line_of_old_notes_becomes_the_column():
    item = intake(make_site(), make_recipient())
    Decision = migrate(BEFORE).get_model("screening", "Decision")
    common = {
        "item_id": item.pk,
        "tier": "low",
        "action": "clear",
        "status": "cleared",
        "points": 0,
        "screener": "user:sam",
        "decided_at": clock.now(),
    }
    try:
        timed = Decision.objects.create(notes="wires at one corner\nTime on item: 42 s", **common)
        untimed = Decision.objects.create(notes="spent Time on item: lots", **common)
        new = migrate(AFTER).get_model("screening", "Decision")
        moved, kept = new.objects.get(pk=timed.pk), new.objects.get(pk=untimed.pk)
        assert (moved.seconds_on_item, moved.notes) == (42, "wires at one corner")
        assert (kept.seconds_on_item, kept.notes) == (None, "spent Time on item: lots")
    finally:
        # The schema the other tests expect, whatever happened above: winding screening back
        # also wound back the migrations that depend on it (the directory's).
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
