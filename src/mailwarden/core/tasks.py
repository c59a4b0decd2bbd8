"""Background tasks (through django-tasks, whichever backend is configured) and the periodic tick.

The tick is what every runner does every few seconds: enqueue due notification sends, dispatch the
outbox, and run the registered periodic jobs. It runs as a plain call in the runner's loop rather
than as a queued task, so an idle installation writes no task rows every two seconds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django_tasks import task

from mailwarden.core import clock, notify, outbox

log = logging.getLogger(__name__)

PeriodicJob = Callable[[datetime], int]
_periodic: dict[str, PeriodicJob] = {}


def periodic(name: str) -> Callable[[PeriodicJob], PeriodicJob]:
    """Register ``fn(now) -> count`` to run on every tick. It must be idempotent and quick."""

    def register(fn: PeriodicJob) -> PeriodicJob:
        _periodic[name] = fn
        return fn

    return register


@task()
def send_notification(notification_id: int) -> str:
    return notify.send(notification_id)


@dataclass(frozen=True)
class TickResult:
    swept: int
    dispatched: int
    jobs: dict[str, int]

    @property
    def idle(self) -> bool:
        return not (self.swept or self.dispatched or any(self.jobs.values()))


def _guarded(name: str, fn: Callable[[], int]) -> int:
    # One failing step must not stop the others: a broken reminder job still lets email go out.
    try:
        return fn()
    except Exception:
        log.exception("background step %s failed", name)
        return 0


def tick(now: datetime | None = None) -> TickResult:
    now = now or clock.now()
    # Sweep first: rows created by this tick's dispatch are enqueued when their transaction
    # commits, and sweeping after would enqueue them a second time.
    swept = _guarded("sweep", lambda: notify.sweep(now))
    dispatched = _guarded("outbox", lambda: outbox.dispatch_due(now))
    jobs = {name: _guarded(name, partial(fn, now)) for name, fn in _periodic.items()}
    return TickResult(swept, dispatched, jobs)


TASK_RESULT_RETENTION = timedelta(days=7)


@periodic("prune-task-results")
def prune_task_results(now: datetime) -> int:
    """Forget finished task rows after a week; the notifications keep the lasting record."""
    from django.apps import apps

    if not apps.is_installed("django_tasks_db"):
        return 0
    from django_tasks_db.models import DBTaskResult

    deleted, _ = DBTaskResult.objects.filter(finished_at__lt=now - TASK_RESULT_RETENTION).delete()
    return deleted
