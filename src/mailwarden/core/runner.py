"""Background work: the in-process runner for ``serve`` and the ``worker`` process.

Every runner repeats one cycle: the periodic tick (:func:`mailwarden.core.tasks.tick`), then the
queued tasks. With the database queue (the default) the tasks are run by django-tasks-db's own
worker, in batch mode, inside the cycle. With Redis (``MW_QUEUE_URL``) only ``mailwarden worker``
processes do background work: an RQ worker runs the tasks and a thread beside it ticks.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import FrameType
from typing import Any

from django.db import close_old_connections, connections
from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.management.commands.db_worker import Worker as DbWorker
from django_tasks_db.models import DBTaskResult

from mailwarden.config import get_settings
from mailwarden.core import clock, leases, tasks
from mailwarden.core.errors import ServiceError

log = logging.getLogger(__name__)

TICK_INTERVAL_S = 2.0


@dataclass(frozen=True)
class CycleResult:
    tick: tasks.TickResult
    tasks_run: int

    @property
    def idle(self) -> bool:
        return self.tick.idle and not self.tasks_run


class _CountingDbWorker(DbWorker):
    ran = 0

    def run_task(self, db_task_result: DBTaskResult[..., Any]) -> None:
        super().run_task(db_task_result)
        self.ran += 1


def _worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{threading.get_native_id()}"


def _uses_db_queue() -> bool:
    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def run_db_tasks() -> int:
    """Run every ready task in the database queue, then return how many ran."""
    worker = _CountingDbWorker(
        queue_names=["*"],
        # Batch mode returns as soon as the queue is empty; the interval only matters while
        # SQLite is locked by another writer, which its busy timeout already waits out.
        interval=0,
        batch=True,
        backend_name=DEFAULT_TASK_BACKEND_ALIAS,
        startup_delay=False,
        max_tasks=None,
        worker_id=_worker_id(),
        excluded_queue_names=[],
    )
    worker.run()
    return worker.ran


def run_pending(now: datetime | None = None) -> CycleResult:
    """One cycle of the database-queue runner: tick, then run every task that is ready."""
    ticked = tasks.tick(now)
    return CycleResult(ticked, run_db_tasks())


def repeat(cycle: Callable[[], object], halt: threading.Event, interval_s: float) -> None:
    """Run ``cycle`` every ``interval_s`` seconds until ``halt`` is set; failures are logged."""
    try:
        while not halt.is_set():
            try:
                cycle()
            except Exception:
                log.exception("background cycle failed")
            finally:
                close_old_connections()
            halt.wait(interval_s)
    finally:
        connections.close_all()


class LeasedCycle:
    """Runs ``cycle`` only while this process holds the background-work lease (``core.leases``).

    Every ``serve`` process runs one of these, so exactly one of them does the background work
    however many there are, on one machine or several, and another takes over if it dies.
    """

    def __init__(
        self,
        cycle: Callable[[], object] = run_pending,
        *,
        name: str = leases.BACKGROUND,
        ttl: timedelta | None = None,
        holder: str | None = None,
    ) -> None:
        self._cycle = cycle
        self._name = name
        self._ttl = ttl or timedelta(seconds=get_settings().background_lease_s)
        self.holder = holder or leases.holder_name()
        self.held = False

    def __call__(self) -> object:
        held = leases.acquire(self._name, self.holder, clock.now(), self._ttl)
        if held != self.held:
            log.info(
                "%s %s the background work",
                self.holder,
                "now runs" if held else "no longer runs",
            )
            self.held = held
        return self._cycle() if held else None

    def release(self) -> None:
        if self.held:
            leases.release(self._name, self.holder)
            self.held = False


class BackgroundRunner(threading.Thread):
    """A daemon thread that repeats ``cycle`` until :meth:`stop`."""

    def __init__(
        self,
        cycle: Callable[[], object] = run_pending,
        interval_s: float = TICK_INTERVAL_S,
        name: str = "mailwarden-background",
    ) -> None:
        super().__init__(name=name, daemon=True)
        self._cycle = cycle
        self._interval_s = interval_s
        self._halt = threading.Event()

    def run(self) -> None:
        try:
            repeat(self._cycle, self._halt, self._interval_s)
        finally:
            if isinstance(self._cycle, LeasedCycle):
                # Handing over at once spares the next process the lease's whole expiry.
                try:
                    self._cycle.release()
                except Exception:
                    log.exception("could not release the background-work lease")
                finally:
                    connections.close_all()

    def stop(self, timeout_s: float = 30.0) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(timeout_s)


def proxy_options() -> dict[str, Any]:
    """uvicorn's proxy settings for ``serve``: believe forwarded headers from trusted proxies only.

    uvicorn's own default trusts 127.0.0.1, so anyone on the machine (or a proxy that passes the
    header through) could name any client address and walk around the per-address sign-in limit.
    django-axes reads the address uvicorn settles on (``REMOTE_ADDR``), so the two agree.
    """
    trusted = get_settings().security.trusted_proxies
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": list(trusted)}


def start_background_runner() -> BackgroundRunner | None:
    """Start the in-process runner for ``serve`` and ``demo``, unless worker processes do it.

    Each server process starts one; the lease lets only one of them work at a time.
    """
    cfg = get_settings()
    if not cfg.run_tasks_in_process or cfg.queue_url:
        return None
    runner = BackgroundRunner(LeasedCycle())
    runner.start()
    return runner


def run_worker(*, burst: bool = False) -> int:
    """The ``mailwarden worker`` process; with ``burst``, work until nothing is due, then exit."""
    if _uses_db_queue():
        return _run_db_worker(burst)
    return _run_rq_worker(burst)


def _until_signalled(halt: threading.Event) -> None:
    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("worker stopping on %s", signal.Signals(signum).name)
        halt.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _run_db_worker(burst: bool) -> int:
    if burst:
        while not run_pending().idle:
            pass
        return 0
    halt = threading.Event()
    _until_signalled(halt)
    log.info("worker running on the database queue")
    repeat(run_pending, halt, TICK_INTERVAL_S)
    return 0


def _run_rq_worker(burst: bool) -> int:
    import django_rq
    from django_tasks_rq import Job
    from redis.exceptions import RedisError
    from rq import SimpleWorker
    from rq.worker import BaseWorker

    queues = sorted(task_backends[DEFAULT_TASK_BACKEND_ALIAS].queues)

    def rq_worker() -> BaseWorker:
        # SimpleWorker runs jobs in this process: forking beside the tick thread would hand the
        # child copies of open database connections.
        return django_rq.get_worker(
            *queues,
            job_class=Job,
            # django_rq types worker_class as type[Worker]; it takes any rq worker class, and
            # SimpleWorker is a BaseWorker beside Worker, not below it.
            worker_class=SimpleWorker,  # type: ignore[arg-type]
        )

    try:
        if burst:
            # A tick can enqueue sends and a send can make nothing new due, so this ends once a
            # tick finds nothing and the queue is empty.
            while True:
                ticked = tasks.tick()
                worked = rq_worker().work(burst=True, logging_level="WARNING")
                if ticked.idle and not worked:
                    return 0
        ticker = BackgroundRunner(cycle=tasks.tick, name="mailwarden-tick")
        ticker.start()
        try:
            rq_worker().work(burst=False)
        finally:
            ticker.stop()
    except RedisError as exc:
        raise ServiceError(f"cannot reach the task queue: {exc}", "queue_url") from exc
    return 0
