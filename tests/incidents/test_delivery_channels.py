"""Point 10: every channel against a real receiver that is down, then failing, then back.
Each message is retried with backoff (the clock is moved, never slept), its last error is
visible, it is never lost, and it is delivered once when the receiver is back; after the last
try it is a dead letter with a console alarm, and a replay sends it."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User

from mailwarden.core import clock
from mailwarden.core.ledger import LedgerEntry, entry_data
from mailwarden.core.tasks import tick
from mailwarden.incidents.delivery import sender
from mailwarden.incidents.models import Alarm, Channel, Delivery, DeliveryStatus, WebhookEndpoint
from mailwarden.incidents.queries import delivery as queries
from mailwarden.incidents.services import delivery as services
from tests.conftest import race
from tests.incidents.conftest import MANAGER
from tests.incidents.delivery_helpers import Subscriber, queue_one
from tests.notify.conftest import free_port

pytestmark = pytest.mark.django_db(transaction=True)

SECRET = "whsec-test-0123456789abcdef"


def run() -> int:
    return sender.send_due(clock.now())


def endpoint(url: str, **fields) -> WebhookEndpoint:
    now = clock.now()
    values = {"name": "ops", "url": url, "secret": SECRET, **fields}
    return WebhookEndpoint.objects.create(**values, created_at=now, updated_at=now)


def signed_correctly(request, secret: str = SECRET) -> bool:
    """The receiver's own check, written from docs/webhooks.md rather than with our code."""
    timestamp = request.headers["Mailwarden-Timestamp"]
    expected = hmac.new(
        secret.encode(), f"{timestamp}.".encode() + request.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(request.headers["Mailwarden-Signature"], f"v1={expected}")


def test_a_webhook_endpoint_down_then_failing_is_retried_and_delivered_once_signed(
    frozen_clock, channels, receiver
):
    endpoint(receiver.url)
    queued = queue_one(Channel.WEBHOOK, "ops")
    started = clock.now()

    # Down: connection refused.
    assert run() == 1
    row = Delivery.objects.get(pk=queued.pk)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert "unreachable" in row.last_error and "ConnectError" in row.last_error
    assert row.next_attempt_at == started + timedelta(seconds=10)

    # Up, but failing: not tried before the backoff has passed, then answered 500.
    receiver.status = 500
    receiver.start()
    frozen_clock.advance(seconds=9)
    assert run() == 0 and receiver.received == []
    frozen_clock.advance(seconds=1)
    assert run() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 2)
    assert row.last_error.startswith(f"{receiver.url} answered HTTP 500")
    assert row.next_attempt_at == clock.now() + timedelta(seconds=20)

    receiver.status = 200
    frozen_clock.advance(seconds=20)
    assert run() == 1
    frozen_clock.advance(seconds=3600)
    assert run() == 0
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 3, "")
    assert len(receiver.received) == 2  # the 500 and the delivery; nothing after
    delivered = receiver.received[-1]
    assert signed_correctly(delivered)
    assert not signed_correctly(delivered, secret="another-secret-entirely")
    assert delivered.headers["Mailwarden-Timestamp"] == str(int(row.sent_at.timestamp()))
    assert delivered.headers["Mailwarden-Webhook-Id"] == "m1"
    body = delivered.json()
    assert body["id"] == "m1" and body["ref"] == "incident:12"
    assert body["subject"] == "Suspicious package at HQ"
    assert body["data"] == {"incident": 12, "site": "hq"}


def test_a_webhook_secret_can_come_from_the_environment(
    frozen_clock, channels, receiver, monkeypatch
):
    monkeypatch.setenv("MW_TEST_HOOK_SECRET", "from-the-environment-123")
    endpoint(receiver.url, secret="", secret_env="MW_TEST_HOOK_SECRET")
    receiver.start()
    queue_one(Channel.WEBHOOK, "ops")
    run()
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert signed_correctly(receiver.received[0], "from-the-environment-123")


def test_an_smtp_server_down_is_retried_until_it_is_back(frozen_clock, channels, smtp_server):
    smtp_server.stop()
    queued = queue_one(Channel.EMAIL, "guard@example.org")
    run()
    row = Delivery.objects.get(pk=queued.pk)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert row.last_error.startswith("ConnectionRefusedError")

    smtp_server.start()
    frozen_clock.advance(seconds=10)
    run()
    frozen_clock.advance(seconds=600)
    run()
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 2, "")
    [mail] = smtp_server.to("guard@example.org")
    assert mail["Subject"] == "Suspicious package at HQ"
    assert mail["X-Mailwarden-Ref"] == "incident:12"
    assert "Level 1: please acknowledge." in mail.get_content()


def test_a_broker_down_is_retried_then_the_subscriber_gets_json_at_qos_1(
    frozen_clock, channels, mqtt_topic_root
):
    channels.mqtt_port = free_port()  # nothing listens there: the broker is down
    topic = f"{mqtt_topic_root}/hq/page"
    queued = queue_one(Channel.MQTT, topic, exercise=True)
    run()
    row = Delivery.objects.get(pk=queued.pk)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 1)
    assert "unreachable" in row.last_error and "ConnectionRefusedError" in row.last_error

    subscriber = Subscriber(f"{mqtt_topic_root}/#")
    try:
        channels.mqtt_port = 1883
        frozen_clock.advance(seconds=10)
        assert run() == 1
        message = subscriber.next()
    finally:
        subscriber.close()
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 2, "")
    assert message.topic == topic and topic.startswith("mailwarden/incidents/")
    assert message.qos == 1
    body = json.loads(message.payload)
    assert body["id"] == "m1" and body["exercise"] is True
    assert body["subject"].startswith("EXERCISE EXERCISE EXERCISE: ")
    assert body["data"] == {"incident": 12, "site": "hq", "exercise": True}


def test_sms_goes_through_the_http_gateway_with_its_token(frozen_clock, channels, receiver):
    channels.sms_gateway_url = receiver.url
    channels.sms_gateway_token = "gw-token"
    queued = queue_one(Channel.SMS, "+44 7700 900123")
    run()
    row = Delivery.objects.get(pk=queued.pk)
    assert row.last_error.startswith("SMS gateway unreachable")

    receiver.status = 503
    receiver.start()
    frozen_clock.advance(seconds=10)
    run()
    row.refresh_from_db()
    assert row.last_error.startswith("SMS gateway answered HTTP 503")

    receiver.status = 202
    frozen_clock.advance(seconds=20)
    run()
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 3)
    sent = receiver.received[-1]
    assert sent.headers["Authorization"] == "Bearer gw-token"
    assert sent.headers["Idempotency-Key"] == "m1"
    assert sent.json() == {
        "to": "+44 7700 900123",
        "from": "mailwarden",
        "text": "Suspicious package at HQ: Level 1: please acknowledge.",
        "id": "m1",
    }


def test_sms_without_a_gateway_waits_visibly(frozen_clock, channels, receiver):
    queue_one(Channel.SMS, "+44 7700 900123")
    run()
    row = Delivery.objects.get()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 0
    assert row.last_error == "waiting: no SMS gateway is configured (delivery.sms_gateway_url)"
    # Waiting uses up no tries: a day later it is still pending, and a gateway set then sends it.
    frozen_clock.advance(hours=24)
    run()
    row.refresh_from_db()
    assert row.status == DeliveryStatus.PENDING and row.attempts == 0
    channels.sms_gateway_url = receiver.url
    receiver.start()
    run()
    row.refresh_from_db()
    assert row.status == DeliveryStatus.SENT and len(receiver.received) == 1


def test_dead_after_the_last_try_with_an_alarm_then_replayed(frozen_clock, channels, receiver):
    endpoint(receiver.url)
    queued = queue_one(Channel.WEBHOOK, "ops")
    delays = []
    for attempt in range(1, channels.max_attempts + 1):
        row = Delivery.objects.get(pk=queued.pk)
        assert row.status == DeliveryStatus.PENDING
        frozen_clock.current = row.next_attempt_at
        run()
        row.refresh_from_db()
        assert row.attempts == attempt
        delays.append((row.next_attempt_at - clock.now()).total_seconds())
    assert delays[:-1] == [10, 20, 25]  # doubling, up to the cap
    assert row.status == DeliveryStatus.DEAD
    assert "unreachable" in row.last_error
    assert list(queries.dead_deliveries()) == [row]
    alarm = Alarm.objects.get(source="delivery")
    assert alarm.type == "incidents.delivery.failed" and alarm.severity == 3
    assert alarm.title == "Webhook messages are not getting through"
    assert "To ops after 4 tries" in alarm.evidence[0]["label"]

    # Dead stays dead, even with the receiver back.
    receiver.start()
    frozen_clock.advance(seconds=3600)
    assert run() == 0 and receiver.received == []

    [replayed] = services.replay_deliveries(MANAGER, [row.pk])
    assert (replayed.status, replayed.attempts) == (DeliveryStatus.PENDING, 0)
    entry = LedgerEntry.objects.get(action="incidents.delivery.replayed")
    assert entry.subject_id == str(row.pk) and entry_data(entry)["attempts"] == 4
    assert run() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.last_error) == (DeliveryStatus.SENT, 1, "")
    assert len(receiver.received) == 1


def test_a_second_dead_letter_on_the_channel_counts_on_the_same_alarm(frozen_clock, channels):
    channels.max_attempts = 1
    queue_one(Channel.WEBHOOK, "nowhere", key="a")
    queue_one(Channel.WEBHOOK, "nowhere", key="b")
    run()
    assert set(Delivery.objects.values_list("status", flat=True)) == {"dead"}
    assert Delivery.objects.filter(last_error="no webhook endpoint named 'nowhere'").count() == 2
    assert Alarm.objects.get(source="delivery").count == 2


def test_an_mqtt_topic_outside_mailwarden_is_dead_at_once(frozen_clock, channels):
    queue_one(Channel.MQTT, "other/app/topic")
    run()
    row = Delivery.objects.get()
    assert (row.status, row.attempts) == (DeliveryStatus.DEAD, 1)
    assert row.last_error == "MQTT topic 'other/app/topic' is not under mailwarden/"
    assert Alarm.objects.filter(source="delivery").exists()


def test_in_app_messages_are_in_the_inbox_at_once(frozen_clock, channels):
    user = User.objects.create_user("ivy")
    row = queue_one(Channel.INAPP, str(user.pk))
    assert (row.status, row.sent_at, row.user_id) == (DeliveryStatus.SENT, clock.now(), user.pk)
    assert run() == 0
    assert list(queries.inbox(user.pk)) == [row]
    missing = queue_one(Channel.INAPP, "999999", key="m2")
    assert missing.status == DeliveryStatus.DEAD
    assert missing.last_error == "no user 999999 for the in-app inbox"


def test_the_background_tick_sends_the_due_messages(frozen_clock, channels, smtp_server):
    queue_one(Channel.EMAIL, "guard@example.org")
    result = tick(clock.now())
    assert result.jobs["incidents-deliveries"] == 1
    assert Delivery.objects.get().status == DeliveryStatus.SENT
    assert len(smtp_server.to("guard@example.org")) == 1


def test_two_senders_at_once_make_one_try(pg, frozen_clock, channels, receiver):
    receiver.start()
    endpoint(receiver.url)
    row = queue_one(Channel.WEBHOOK, "ops")
    results = race(lambda: sender.send(row.pk), lambda: sender.send(row.pk))
    assert sorted(results) == ["sent", "skipped"]
    assert len(receiver.received) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 1)


def test_one_outage_costs_one_try_per_tick_and_starves_nobody(frozen_clock, channels, smtp_server):
    smtp_server.stop()
    first = queue_one(Channel.EMAIL, "a@example.org", key="a")
    frozen_clock.advance(seconds=1)
    second = queue_one(Channel.EMAIL, "b@example.org", key="b")
    receiver_down = queue_one(Channel.WEBHOOK, "nowhere", key="c")
    assert run() == 2  # one email, and the webhook, whose endpoint is another destination
    attempts = dict(Delivery.objects.values_list("key", "attempts"))
    assert attempts == {"a": 1, "b": 0, "c": 1}
    assert run() == 1  # the first email waits out its backoff; the second gets its turn
    assert Delivery.objects.get(pk=second.pk).attempts == 1
    smtp_server.start()
    frozen_clock.advance(seconds=10)
    run()
    statuses = dict(Delivery.objects.values_list("key", "status"))
    assert statuses == {"a": "sent", "b": "sent", "c": "pending"}
    assert Delivery.objects.get(pk=first.pk).attempts == 2
    assert Delivery.objects.get(pk=receiver_down.pk).attempts == 2


def test_a_try_cut_off_by_a_crash_is_made_again_and_the_last_one_is_not_lost(
    frozen_clock, channels, smtp_server
):
    row = queue_one(Channel.EMAIL, "guard@example.org")
    # A worker claims the try and dies before sending: the row still waits, due after backoff.
    assert sender._claim(row.pk, clock.now()) is not None
    assert run() == 0
    frozen_clock.advance(seconds=10)
    assert run() == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == (DeliveryStatus.SENT, 2)
    assert len(smtp_server.to("guard@example.org")) == 1

    # A worker that died during the last allowed try leaves a dead letter, with its alarm.
    last = queue_one(Channel.EMAIL, "boss@example.org", key="m2")
    Delivery.objects.filter(pk=last.pk).update(attempts=channels.max_attempts)
    run()
    last.refresh_from_db()
    assert (last.status, last.last_error) == (DeliveryStatus.DEAD, "the last try was interrupted")
    assert Alarm.objects.filter(source="delivery").count() == 1
