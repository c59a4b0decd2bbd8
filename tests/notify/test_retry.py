"""Failed sends are retried with backoff, never lost, and given up on after max_attempts."""

from __future__ import annotations

import logging

import pytest
from django_tasks_db.models import DBTaskResult

from mailwarden.config import get_settings
from mailwarden.core import clock, notify, outbox
from mailwarden.core.models import Notification, NotificationStatus
from mailwarden.core.runner import run_db_tasks, run_pending
from mailwarden.core.tasks import send_notification
from mailwarden.custody import pickup, services
from tests.factories import CLERK

pytestmark = pytest.mark.django_db(transaction=True)


def _arrival(item) -> Notification:
    return Notification.objects.get(key=f"arrival:{item.uid}")


def test_failed_send_waits_for_backoff_then_is_delivered_once(
    smtp_server, ready_item, frozen_clock
):
    smtp_server.stop()
    started = clock.now()
    run_pending()

    notification = _arrival(ready_item)
    assert notification.status == NotificationStatus.PENDING
    assert notification.attempts == 1
    delay = get_settings().notifications.backoff_base_s
    assert (notification.next_attempt_at - started).total_seconds() == delay
    assert notification.last_error.startswith("ConnectionRefusedError")

    smtp_server.start()
    frozen_clock.advance(seconds=delay - 1)
    run_pending()
    assert smtp_server.received == []
    assert _arrival(ready_item).attempts == 1

    frozen_clock.advance(seconds=1)
    run_pending()
    run_pending()

    assert len(smtp_server.to(ready_item.recipient.email)) == 1
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 2
    assert notification.last_error == ""
    assert notification.sent_at == clock.now()


def test_backoff_doubles_up_to_the_cap_and_the_last_failure_is_dead(
    smtp_server, ready_item, frozen_clock, caplog
):
    cfg = get_settings().notifications
    smtp_server.stop()
    run_pending()
    delays = []
    for attempt in range(1, cfg.max_attempts):
        notification = _arrival(ready_item)
        assert (notification.status, notification.attempts) == ("pending", attempt)
        delays.append((notification.next_attempt_at - clock.now()).total_seconds())
        frozen_clock.current = notification.next_attempt_at
        with caplog.at_level(logging.ERROR, logger="mailwarden.core.notify"):
            run_pending()

    notification = _arrival(ready_item)
    assert notification.status == NotificationStatus.DEAD
    assert notification.attempts == cfg.max_attempts
    assert f"dead after {cfg.max_attempts} tries" in caplog.text
    expected = [min(cfg.backoff_max_s, cfg.backoff_base_s * 2**n) for n in range(len(delays))]
    assert delays == expected

    # Dead stays dead: no further tries, even with the server back.
    smtp_server.start()
    frozen_clock.advance(days=1)
    run_pending()
    assert smtp_server.received == []
    assert _arrival(ready_item).attempts == cfg.max_attempts


def test_a_lost_enqueue_is_recovered_by_the_sweep(smtp_server, ready_item):
    outbox.dispatch_due()
    assert Notification.objects.filter(status=NotificationStatus.PENDING).count() == 1
    # The queue lost the send task (a crash between commit and enqueue, or a queue outage).
    DBTaskResult.objects.all().delete()

    result = run_pending()

    assert result.tick.swept == 1
    assert len(smtp_server.to(ready_item.recipient.email)) == 1


def test_a_notification_enqueued_twice_is_sent_once(smtp_server, ready_item):
    outbox.dispatch_due()
    notification = _arrival(ready_item)
    send_notification.enqueue(notification.pk)

    assert run_db_tasks() == 2
    assert len(smtp_server.to(ready_item.recipient.email)) == 1
    assert notify.send(notification.pk) == "skipped"


def test_a_retry_after_the_parcel_was_collected_is_withdrawn_unsent(
    smtp_server, ready_item, frozen_clock, caplog
):
    smtp_server.stop()
    run_pending()
    assert _arrival(ready_item).attempts == 1
    services.hand_over(
        CLERK, ready_item.uid, method="code", proof=pickup.pickup_code(ready_item.uid)
    )
    smtp_server.start()
    frozen_clock.current = _arrival(ready_item).next_attempt_at
    with caplog.at_level(logging.INFO, logger="mailwarden.core.notify"):
        run_pending()

    assert smtp_server.received == []
    notification = _arrival(ready_item)
    assert (notification.status, notification.attempts) == (NotificationStatus.WITHDRAWN, 2)
    assert notification.last_error == (
        f"withdrawn: {ready_item.uid} is picked_up, no longer waiting for pickup"
    )
    assert "withdrawn unsent" in caplog.text
    # Closed for good: a later sweep neither sends nor retries it.
    frozen_clock.advance(days=1)
    run_pending()
    assert smtp_server.received == [] and _arrival(ready_item).attempts == 2
