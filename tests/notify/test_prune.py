from datetime import timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from mailwarden.core.runner import run_pending
from mailwarden.core.tasks import prune_task_results
from mailwarden.custody import services
from tests.factories import CLERK, SCREENER, intake, make_recipient, make_site


@pytest.mark.django_db(transaction=True)
def test_finished_task_rows_are_pruned_after_a_week(frozen_clock):
    site = make_site()
    item = intake(site, make_recipient())
    services.transition(SCREENER, item.uid, "cleared")
    services.transition(CLERK, item.uid, "ready_for_pickup")
    run_pending(frozen_clock())
    finished = list(DBTaskResult.objects.exclude(finished_at=None))
    assert finished, "the arrival e-mail task should have run"
    last = max(row.finished_at for row in finished)
    assert prune_task_results(last + timedelta(days=6)) == 0
    assert DBTaskResult.objects.count() == len(finished)
    assert prune_task_results(last + timedelta(days=7, seconds=1)) == len(finished)
    assert not DBTaskResult.objects.exists()
