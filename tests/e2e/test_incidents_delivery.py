"""Dead letters and the inbox in the browser (desktop and tablet): a manager replays one dead
message and then the rest in bulk; an operator reads without replay buttons; a person marks an
in-app message read."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from playwright.sync_api import expect

from mailwarden.contracts.events import ItemReceived
from mailwarden.core import outbox
from mailwarden.core.models import OutboxEvent, OutboxStatus
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.incidents.models import Channel, Delivery, DeliveryStatus
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, shot, sign_in
from tests.factories import ADMIN
from tests.incidents.delivery_helpers import queue_one

pytestmark = pytest.mark.browser

VIEWPORTS = pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])


def _name(viewport: dict[str, int]) -> str:
    return "desktop" if viewport == DESKTOP else "tablet"


@pytest.fixture
def letters(transactional_db) -> list[Delivery]:
    for role in (Role.SECURITY_MANAGER, Role.SECURITY_OPERATOR):
        create_user(ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False)
    rows = [
        queue_one(Channel.WEBHOOK, "ops", key="w1", subject="Bomb threat at HQ"),
        queue_one(Channel.MQTT, "mailwarden/incidents/hq/page", key="m1", subject="Level 2"),
        queue_one(Channel.EMAIL, "guard@example.org", key="e1", subject="Forced door"),
    ]
    Delivery.objects.update(
        status=DeliveryStatus.DEAD,
        attempts=10,
        last_error="http://hooks.example.org/a/very/long/path/that/wraps answered HTTP 500",
    )
    with transaction.atomic():
        outbox.emit(ItemReceived(uid="MW-EEEE0000", site="hq", kind="parcel"))
    OutboxEvent.objects.filter(topic=ItemReceived.TOPIC).update(
        status=OutboxStatus.DEAD, attempts=20, last_error="RuntimeError: handler broke"
    )
    return rows


@VIEWPORTS
def test_a_manager_replays_dead_letters(open_page, letters, viewport):
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_MANAGER.value)
    page.goto("/incidents/dead-letters/")
    rows = page.locator("#dead-deliveries tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#dead-events tbody tr")).to_have_count(1)
    expect(page.locator("#dead-events")).to_contain_text("RuntimeError: handler broke")
    shot(page, f"dead-letters-{_name(viewport)}")
    # The replay button of each row is on screen, not cut off by the table.
    button = rows.filter(has_text="Bomb threat at HQ").get_by_role("button", name="Replay")
    button.wait_for(state="visible")
    box = button.bounding_box()
    assert box is not None and box["x"] + box["width"] <= viewport["width"]
    button.click()
    expect(page.locator(".alert")).to_have_text("1 message queued to be sent again.")
    expect(rows).to_have_count(2)
    for box in page.locator("#dead-deliveries input[name=delivery_ids]").all():
        box.check()
    page.click("[data-replay-selected]")
    expect(page.locator(".alert")).to_have_text("2 messages queued to be sent again.")
    expect(page.locator("#dead-deliveries")).to_contain_text("No dead messages.")
    page.locator("#dead-events input[name=event_ids]").check()
    page.get_by_role("button", name="Replay selected events").click()
    expect(page.locator(".alert")).to_have_text("1 event handed to their handlers again.")
    assert not Delivery.objects.filter(status=DeliveryStatus.DEAD).exists()
    assert not OutboxEvent.objects.filter(status=OutboxStatus.DEAD).exists()


def test_an_operator_reads_dead_letters_without_replaying(open_page, letters):
    page = open_page(DESKTOP)
    sign_in(page, Role.SECURITY_OPERATOR.value)
    page.click("nav >> text=Dead letters")
    expect(page.locator("#dead-deliveries tbody tr")).to_have_count(3)
    expect(page.get_by_role("button", name="Replay")).to_have_count(0)
    expect(page.locator("input[type=checkbox]")).to_have_count(0)


@VIEWPORTS
def test_a_person_reads_their_inbox(open_page, transactional_db, viewport):
    user = create_user(ADMIN, "clerk", password=PASSWORD, roles=["clerk"], check_password=False)
    other = User.objects.create_user("someone-else")
    queue_one(Channel.INAPP, str(user.pk), key="a", subject="Evacuate now", user_id=user.pk)
    queue_one(Channel.INAPP, str(user.pk), key="b", subject="All clear", user_id=user.pk)
    queue_one(Channel.INAPP, str(other.pk), key="c", subject="Not yours", user_id=other.pk)
    page = open_page(viewport)
    sign_in(page, "clerk")
    page.click("nav >> text=Messages")
    items = page.locator("#inbox .inbox-item")
    expect(items).to_have_count(2)
    expect(page.locator("#inbox")).not_to_contain_text("Not yours")
    expect(page.locator("[data-unread]")).to_have_text("2 unread")
    shot(page, f"inbox-{_name(viewport)}")
    items.filter(has_text="Evacuate now").get_by_role("button", name="Mark read").click()
    expect(page.locator(".alert")).to_have_text("1 message marked read.")
    expect(page.locator("[data-unread]")).to_have_text("1 unread")
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("[data-unread]")).to_have_text("0 unread")
    expect(page.locator("#inbox .is-unread")).to_have_count(0)


@VIEWPORTS
def test_a_manager_adds_a_webhook_endpoint(open_page, letters, viewport):
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_MANAGER.value)
    page.goto("/incidents/dead-letters/")
    page.get_by_role("link", name="Webhook endpoints").click()
    expect(page.locator("h1")).to_have_text("Webhook endpoints")
    page.fill("#id_name", "ops")
    page.fill("#id_url", "https://hooks.example/ops")
    page.fill("#id_secret", "short")
    page.click("#endpoint-form button[type=submit]")
    expect(page.locator("[data-field-error=secret]")).to_contain_text("at least 16 characters")
    page.fill("#id_secret", "a-long-enough-secret-value")
    page.click("#endpoint-form button[type=submit]")
    expect(page.locator(".alert")).to_have_text("Webhook endpoint ops added.")
    row = page.locator("tr[data-endpoint=ops]")
    expect(row).to_contain_text("Stored")
    expect(page.locator("body")).not_to_contain_text("a-long-enough-secret-value")
    shot(page, f"webhook-endpoints-{_name(viewport)}")
    row.get_by_role("button", name="Switch off").click()
    expect(page.locator("tr[data-endpoint=ops]")).to_contain_text("Switched off")
