"""The in-process runner and the database-queue worker deliver without anyone calling them."""

from __future__ import annotations

import threading

import pytest

from mailwarden.config import load_settings
from mailwarden.core import runner
from mailwarden.core.models import Notification, NotificationStatus

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize(
    "overrides",
    [{"run_tasks_in_process": False}, {"queue_url": "redis://127.0.0.1:6379/13"}],
    ids=["disabled", "worker-processes"],
)
def test_no_in_process_runner_when_told_not_to_or_when_workers_run(monkeypatch, overrides):
    monkeypatch.setattr(runner, "get_settings", lambda: load_settings(**overrides))

    assert runner.start_background_runner() is None


def test_in_process_runner_delivers_the_arrival_email_and_stops(
    monkeypatch, smtp_server, ready_item
):
    monkeypatch.setattr(runner, "get_settings", lambda: load_settings(run_tasks_in_process=True))

    background = runner.start_background_runner()
    assert background is not None
    try:
        assert smtp_server.arrived.wait(timeout=30), "no email within 30 s"
    finally:
        background.stop()

    assert not background.is_alive()
    [message] = smtp_server.to(ready_item.recipient.email)
    assert ready_item.uid in message["Subject"]


def test_stop_interrupts_the_wait_between_cycles():
    cycled = threading.Event()
    background = runner.BackgroundRunner(cycle=cycled.set, interval_s=3600)
    background.start()
    assert cycled.wait(timeout=10)
    background.stop(timeout_s=10)

    assert not background.is_alive()


def test_a_failing_cycle_is_logged_and_the_runner_carries_on(caplog):
    calls = []
    second = threading.Event()

    def cycle() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database unavailable")
        second.set()

    background = runner.BackgroundRunner(cycle=cycle, interval_s=0)
    background.start()
    try:
        assert second.wait(timeout=10)
    finally:
        background.stop()

    assert len(calls) >= 2
    assert "background cycle failed" in caplog.text


def test_burst_worker_on_the_database_queue_sends_and_exits(smtp_server, ready_item):
    assert runner.run_worker(burst=True) == 0

    assert len(smtp_server.to(ready_item.recipient.email)) == 1
    assert Notification.objects.get().status == NotificationStatus.SENT
