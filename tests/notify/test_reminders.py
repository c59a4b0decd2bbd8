"""Reminders and escalation: at the configured day boundaries, once each, only while waiting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mailwarden.config import get_settings
from mailwarden.core import clock, ledger
from mailwarden.core.models import Notification
from mailwarden.core.runner import run_pending
from mailwarden.custody import pickup, services
from mailwarden.custody.models import MailItem
from tests.factories import CLERK
from tests.notify.conftest import make_ready_item

pytestmark = pytest.mark.django_db(transaction=True)

SECOND = timedelta(seconds=1)


def test_reminder_goes_once_on_its_day(smtp_server, ready_item, frozen_clock):
    days = get_settings().notifications.reminder_after_days
    ready_at = clock.now()
    address = ready_item.recipient.email
    run_pending()

    frozen_clock.current = ready_at + timedelta(days=days) - SECOND
    run_pending()
    assert len(smtp_server.to(address)) == 1  # the arrival email only

    frozen_clock.current = ready_at + timedelta(days=days)
    run_pending()
    frozen_clock.advance(hours=5)
    run_pending()

    [_arrival, reminder] = smtp_server.to(address)
    assert reminder["Subject"].startswith("Reminder:")
    assert pickup.pickup_code(ready_item.uid) in reminder.get_body(("plain",)).get_content()
    assert any(p.get_content_type() == "image/png" for p in reminder.walk())
    item = MailItem.objects.get(uid=ready_item.uid)
    assert item.reminders_sent == 1
    [entry] = [
        e for e in ledger.entries_for("mailitem", item.uid) if e.action == "custody.reminder.sent"
    ]
    assert entry.actor == "job:reminders"
    assert entry.created_at == ready_at + timedelta(days=days)


def test_escalation_goes_to_the_manager_once_without_the_code(
    smtp_server, ready_item, frozen_clock
):
    days = get_settings().notifications.escalate_after_days
    ready_at = clock.now()
    manager = ready_item.recipient.manager

    frozen_clock.current = ready_at + timedelta(days=days) - SECOND
    run_pending()
    assert smtp_server.to(manager.email) == []

    frozen_clock.current = ready_at + timedelta(days=days)
    run_pending()
    frozen_clock.advance(days=3)
    run_pending()

    [escalation] = smtp_server.to(manager.email)
    text = escalation.get_body(("plain",)).get_content()
    assert ready_item.uid in text
    assert ready_item.recipient.display_name in text
    assert pickup.pickup_code(ready_item.uid) not in text
    assert not any(p.get_content_type() == "image/png" for p in escalation.walk())
    item = MailItem.objects.get(uid=ready_item.uid)
    assert item.escalated_at == ready_at + timedelta(days=days)
    actions = [e.action for e in ledger.entries_for("mailitem", item.uid)]
    assert actions.count("custody.item.escalated") == 1
    assert actions.count("custody.reminder.sent") == 1


def test_nothing_is_sent_for_an_item_already_collected(smtp_server, site, frozen_clock):
    item = make_ready_item(site)
    run_pending()
    frozen_clock.advance(days=1)
    services.hand_over(CLERK, item.uid, method="code", proof=pickup.pickup_code(item.uid))

    frozen_clock.advance(days=30)
    assert services.send_due_reminders(clock.now()) == 0
    run_pending()

    assert len(smtp_server.received) == 1  # the arrival email only
    assert set(Notification.objects.values_list("kind", flat=True)) == {"arrival"}
    item.refresh_from_db()
    assert (item.reminders_sent, item.escalated_at) == (0, None)


def test_no_escalation_without_a_manager(smtp_server, site, frozen_clock):
    item = make_ready_item(site, manager=False)
    frozen_clock.advance(days=get_settings().notifications.escalate_after_days + 1)

    assert services.send_due_reminders(clock.now()) == 1  # the reminder
    item.refresh_from_db()
    assert item.escalated_at is None
    assert set(Notification.objects.values_list("kind", flat=True)) == {"reminder"}
