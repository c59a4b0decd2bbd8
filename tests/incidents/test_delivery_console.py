"""Dead letters and the inbox in the console and the API: who may see and replay them, the
forms' answers, and bad input answered with the field at fault."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from mailwarden.contracts.events import ItemReceived
from mailwarden.core import clock, outbox
from mailwarden.core.models import OutboxEvent, OutboxStatus
from mailwarden.core.roles import Role
from mailwarden.incidents.models import Channel, Delivery, DeliveryStatus, WebhookEndpoint
from tests.api.conftest import Api, assert_refused, token_for
from tests.incidents.delivery_helpers import queue_one
from tests.incidents.test_console import signed_in

pytestmark = pytest.mark.django_db

READERS = [Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR]
OTHERS = [Role.AUDITOR, Role.CLERK, Role.SCREENER, Role.RECIPIENT]


@pytest.fixture
def dead(frozen_clock) -> Delivery:
    row = queue_one(Channel.WEBHOOK, "ops", subject="Bomb threat at HQ")
    Delivery.objects.filter(pk=row.pk).update(
        status=DeliveryStatus.DEAD, attempts=10, last_error="http://hooks.example/ answered 500"
    )
    return Delivery.objects.get(pk=row.pk)


@pytest.fixture
def dead_event(frozen_clock) -> OutboxEvent:
    with transaction.atomic():
        outbox.emit(ItemReceived(uid="MW-DDDD0000", site="hq", kind="parcel"))
    OutboxEvent.objects.filter(topic=ItemReceived.TOPIC).update(
        status=OutboxStatus.DEAD, attempts=20, last_error="RuntimeError: handler broke"
    )
    return OutboxEvent.objects.get(topic=ItemReceived.TOPIC)


def inapp(user: User, key: str, subject: str = "Evacuate now") -> Delivery:
    return queue_one(Channel.INAPP, str(user.pk), key=key, subject=subject, user_id=user.pk)


# ----------------------------------------------------------------------------- the pages


@pytest.mark.parametrize("role", READERS)
def test_managers_and_operators_see_dead_letters(dead, dead_event, role):
    html = signed_in(role).get("/incidents/dead-letters/").content.decode()
    assert "Bomb threat at HQ" in html and "answered 500" in html
    assert "custody.item.received" in html and "RuntimeError: handler broke" in html
    assert 'href="/incidents/dead-letters/"' in html  # in the menu
    replay = "Replay selected messages" in html
    assert replay == (role == Role.SECURITY_MANAGER)


@pytest.mark.parametrize("role", OTHERS)
def test_others_are_refused_the_dead_letters(dead, role):
    client = signed_in(role)
    assert client.get("/incidents/dead-letters/").status_code == 403
    assert 'href="/incidents/dead-letters/"' not in client.get("/incidents/inbox/").content.decode()


def test_signed_out_people_are_sent_to_sign_in(dead):
    from django.test import Client

    for path in ("/incidents/dead-letters/", "/incidents/inbox/"):
        response = Client().get(path)
        assert response.status_code == 302 and "/login/" in response["Location"]


@pytest.mark.parametrize("role", [Role.SECURITY_OPERATOR, Role.AUDITOR, Role.CLERK])
def test_only_managers_replay(dead, dead_event, role):
    client = signed_in(role)
    assert (
        client.post(
            "/incidents/dead-letters/messages/replay/", {"delivery_ids": [dead.pk]}
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/incidents/dead-letters/events/replay/", {"event_ids": [dead_event.pk]}
        ).status_code
        == 403
    )
    dead.refresh_from_db()
    dead_event.refresh_from_db()
    assert dead.status == DeliveryStatus.DEAD and dead_event.status == OutboxStatus.DEAD


def test_a_manager_replays_from_the_page(dead, dead_event):
    client = signed_in(Role.SECURITY_MANAGER)
    page = client.post(
        "/incidents/dead-letters/messages/replay/", {"delivery_ids": [dead.pk]}, follow=True
    )
    assert "1 message queued to be sent again." in page.content.decode()
    dead.refresh_from_db()
    assert (dead.status, dead.attempts, dead.next_attempt_at) == ("pending", 0, clock.now())
    page = client.post(
        "/incidents/dead-letters/events/replay/", {"event_ids": [dead_event.pk]}, follow=True
    )
    assert "1 event handed to their handlers again." in page.content.decode()
    again = client.post(
        "/incidents/dead-letters/messages/replay/", {"delivery_ids": [dead.pk]}, follow=True
    )
    assert (
        f"Nothing was replayed: message {dead.pk} is not a dead letter." in again.content.decode()
    )
    nothing = client.post("/incidents/dead-letters/messages/replay/", {}, follow=True)
    assert "tick a message first" in nothing.content.decode()


@pytest.mark.parametrize("role", [*READERS, *OTHERS])
def test_everyone_reads_only_their_own_inbox(frozen_clock, role):
    client = signed_in(role)
    me = User.objects.get(username=role.value)
    other = User.objects.create_user("someone-else")
    mine = inapp(me, "mine")
    inapp(other, "theirs", subject="Not for you")
    html = client.get("/incidents/inbox/").content.decode()
    assert "Evacuate now" in html and "Not for you" not in html
    assert 'data-unread="1"' in html and 'href="/incidents/inbox/"' in html
    page = client.post("/incidents/inbox/read/", {"message_ids": [mine.pk]}, follow=True)
    assert "1 message marked read." in page.content.decode()
    mine.refresh_from_db()
    assert mine.read_at == clock.now()


def test_someone_elses_message_cannot_be_marked(frozen_clock):
    client = signed_in(Role.CLERK)
    theirs = inapp(User.objects.create_user("someone-else"), "theirs")
    page = client.post("/incidents/inbox/read/", {"message_ids": [theirs.pk]}, follow=True)
    assert f"Nothing was marked: no message {theirs.pk} in your inbox." in page.content.decode()
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read(frozen_clock):
    client = signed_in(Role.SECURITY_OPERATOR)
    me = User.objects.get(username=Role.SECURITY_OPERATOR.value)
    inapp(me, "a")
    inapp(me, "b")
    page = client.post("/incidents/inbox/read/", {"all": "1"}, follow=True)
    assert "2 messages marked read." in page.content.decode()
    assert not Delivery.objects.filter(read_at__isnull=True).exists()


# ----------------------------------------------------------------------------- the API


def api(role: Role, user: User | None = None) -> Api:
    return Api(token_for(role, user))


@pytest.mark.parametrize("role", READERS)
def test_the_api_lists_dead_letters_to_readers(dead, dead_event, role):
    client = api(role)
    [row] = client.get("/api/deliveries/dead").json()
    assert row["id"] == dead.pk and row["attempts"] == 10 and row["channel"] == "webhook"
    assert row["last_error"] == "http://hooks.example/ answered 500"
    [event] = client.get("/api/outbox/dead").json()
    assert event["id"] == dead_event.pk and event["topic"] == "custody.item.received"
    assert [d["id"] for d in client.get("/api/deliveries", status="dead").json()] == [dead.pk]
    assert client.get(f"/api/deliveries/{dead.pk}").json()["status"] == "dead"


@pytest.mark.parametrize("role", OTHERS)
def test_the_api_refuses_dead_letters_to_others(dead, dead_event, role):
    client = api(role)
    for path in ("/api/deliveries", "/api/deliveries/dead", "/api/outbox/dead"):
        assert_refused(client.get(path), 403, None)
    assert_refused(client.get("/api/webhook-endpoints"), 403, None)


@pytest.mark.parametrize("role", [Role.SECURITY_OPERATOR, Role.AUDITOR, Role.CLERK])
def test_the_api_lets_only_managers_replay(dead, dead_event, role):
    client = api(role)
    assert_refused(client.post(f"/api/deliveries/{dead.pk}/replay"), 403, None)
    assert_refused(client.post("/api/deliveries/replay", {"delivery_ids": [dead.pk]}), 403, None)
    assert_refused(client.post(f"/api/outbox/{dead_event.pk}/replay"), 403, None)
    assert_refused(client.post("/api/outbox/replay", {"event_ids": [dead_event.pk]}), 403, None)


def test_the_api_replays_single_and_bulk(dead, dead_event):
    manager = api(Role.SECURITY_MANAGER)
    one = manager.post(f"/api/deliveries/{dead.pk}/replay")
    assert one.status_code == 200 and one.json()["status"] == "pending"
    assert_refused(manager.post(f"/api/deliveries/{dead.pk}/replay"), 409, "delivery_ids")
    bulk = manager.post("/api/outbox/replay", {"event_ids": [dead_event.pk]})
    assert [e["status"] for e in bulk.json()] == ["pending"]
    assert_refused(manager.post("/api/outbox/replay", {"event_ids": []}), 422, "event_ids")
    assert_refused(
        manager.post("/api/deliveries/replay", {"delivery_ids": [99999]}), 404, "delivery_ids"
    )
    assert_refused(
        manager.post("/api/deliveries/replay", {"delivery_ids": ["x"]}), 422, "delivery_ids.0"
    )
    assert_refused(manager.get("/api/deliveries", channel="pigeon"), 422, "channel")
    assert_refused(manager.get("/api/deliveries/424242"), 404, "delivery_id")


def test_the_api_inbox_is_the_callers_own(frozen_clock):
    from mailwarden.core.services import create_user
    from tests.factories import ADMIN

    person = create_user(
        ADMIN, "rita", password="Correct-Horse-9-Battery", roles=["recipient"], check_password=False
    )
    other = User.objects.create_user("sam")
    mine = inapp(person, "mine")
    theirs = inapp(other, "theirs")
    client = api(Role.RECIPIENT, person)
    assert [m["id"] for m in client.get("/api/inbox").json()] == [mine.pk]
    assert_refused(client.post("/api/inbox/read", {"message_ids": [theirs.pk]}), 404, "message_ids")
    assert client.post("/api/inbox/read", {"message_ids": [mine.pk]}).json() == {"marked": 1}
    assert client.get("/api/inbox", unread=True).json() == []
    assert client.post("/api/inbox/read-all").json() == {"marked": 0}
    # A token that acts for nobody has no inbox.
    assert_refused(api(Role.SECURITY_MANAGER).get("/api/inbox"), 403, None)


def test_webhook_endpoints_keep_their_secret_write_only(frozen_clock):
    manager = api(Role.SECURITY_MANAGER)
    body = {"name": "ops", "url": "https://hooks.example/ops", "secret": "s" * 20}
    created = manager.post("/api/webhook-endpoints", body)
    assert created.status_code == 201, created.content
    assert created.json()["secret_stored"] is True and "secret" not in created.json()
    assert "s" * 20 not in manager.get("/api/webhook-endpoints").content.decode()
    assert_refused(manager.post("/api/webhook-endpoints", body), 409, "name")
    # Changing the URL keeps the stored secret when none is given.
    changed = manager.put(
        "/api/webhook-endpoints/ops", {"name": "ops", "url": "https://h.example/"}
    )
    assert changed.status_code == 200 and changed.json()["secret_stored"] is True
    assert WebhookEndpoint.objects.get().secret == "s" * 20
    bad = [
        ({**body, "name": "x2", "url": "ftp://hooks.example/"}, 400, "url"),
        ({**body, "name": "x3", "secret": "short"}, 400, "secret"),
        ({"name": "x4", "url": "https://h.example/"}, 400, "secret"),
        ({**body, "name": "x5", "secret_env": "lower case"}, 400, "secret_env"),
        ({**body, "name": "Bad Name"}, 422, "name"),
    ]
    for payload, status, field in bad:
        assert_refused(manager.post("/api/webhook-endpoints", payload), status, field)
    assert_refused(api(Role.SECURITY_OPERATOR).post("/api/webhook-endpoints", body), 403, None)
    assert api(Role.SECURITY_OPERATOR).get("/api/webhook-endpoints").status_code == 200
    assert manager.delete("/api/webhook-endpoints/ops").status_code == 204
    assert_refused(manager.delete("/api/webhook-endpoints/ops"), 404, "name")


# ----------------------------------------------------------------------------- webhook endpoints


def test_a_manager_adds_switches_and_removes_an_endpoint(frozen_clock):
    client = signed_in(Role.SECURITY_MANAGER)
    form = {"name": "ops", "url": "https://hooks.example/ops", "secret": "x" * 24, "active": "on"}
    page = client.post("/incidents/webhooks/new/", form, follow=True)
    html = page.content.decode()
    assert "Webhook endpoint ops added." in html and "x" * 24 not in html
    assert WebhookEndpoint.objects.get().secret == "x" * 24
    assert "Stored" in html and "Switch off" in html
    page = client.post("/incidents/webhooks/ops/switch/", follow=True)
    assert "Webhook endpoint ops switched off." in page.content.decode()
    assert WebhookEndpoint.objects.get().active is False
    assert WebhookEndpoint.objects.get().secret == "x" * 24
    page = client.post("/incidents/webhooks/ops/delete/", follow=True)
    assert "Webhook endpoint ops removed." in page.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_a_refused_endpoint_names_the_field(frozen_clock):
    client = signed_in(Role.SECURITY_MANAGER)
    bad = {"name": "ops", "url": "ftp://hooks.example/", "secret": "x" * 24}
    page = client.post("/incidents/webhooks/new/", bad)
    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-field-error="url"' in html and "must be an http:// or https:// URL" in html
    page = client.post(
        "/incidents/webhooks/new/", {**bad, "url": "https://h.example/", "secret": ""}
    )
    assert 'data-field-error="secret"' in page.content.decode()
    assert not WebhookEndpoint.objects.exists()


def test_operators_read_endpoints_and_others_are_refused(frozen_clock):
    now = clock.now()
    WebhookEndpoint.objects.create(
        name="ops", url="https://h.example/", secret="y" * 20, created_at=now, updated_at=now
    )
    html = signed_in(Role.SECURITY_OPERATOR).get("/incidents/webhooks/").content.decode()
    assert "https://h.example/" in html and "y" * 20 not in html
    assert "Add an endpoint" not in html and "Switch off" not in html
    operator = signed_in(Role.SECURITY_OPERATOR)
    form = {"name": "b", "url": "https://h.example/", "secret": "z" * 20}
    assert operator.post("/incidents/webhooks/new/", form).status_code == 403
    assert operator.post("/incidents/webhooks/ops/switch/").status_code == 403
    assert operator.post("/incidents/webhooks/ops/delete/").status_code == 403
    for role in OTHERS:
        assert signed_in(role).get("/incidents/webhooks/").status_code == 403
    assert WebhookEndpoint.objects.get().active is True
