"""The arrival email: sent once when an item is ready for pickup, with its code, QR and place."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from mailwarden.core import notify, outbox
from mailwarden.core.models import Notification, NotificationStatus, OutboxEvent, OutboxStatus
from mailwarden.core.runner import run_pending
from mailwarden.custody import pickup, services
from tests.factories import CLERK, SCREENER, intake, make_recipient
from tests.notify.conftest import make_ready_item

pytestmark = pytest.mark.django_db(transaction=True)


def _parts(message):
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    return text, html, images


def test_arrival_email_carries_code_qr_and_where_to_collect(smtp_server, ready_item):
    run_pending()

    [message] = smtp_server.to(ready_item.recipient.email)
    code = pickup.pickup_code(ready_item.uid)
    assert ready_item.uid in message["Subject"]
    text, html, images = _parts(message)
    for body in (text, html):
        assert code in body
        assert ready_item.location.name in body
        assert ready_item.site.name in body
    # Plain text is not HTML-escaped; the HTML part is.
    assert "Acme & Sons <parcels>" in text
    assert "Acme &amp; Sons &lt;parcels&gt;" in html

    [image] = images
    assert image["Content-Disposition"].startswith("inline")
    content_id = image["Content-ID"].strip("<>")
    assert f'src="cid:{content_id}"' in html
    [barcode] = zxingcpp.read_barcodes(Image.open(io.BytesIO(image.get_content())))
    assert barcode.format == zxingcpp.BarcodeFormat.QRCode
    assert pickup.qr_uid(barcode.text) == ready_item.uid

    notification = Notification.objects.get(key=f"arrival:{ready_item.uid}")
    assert notification.status == NotificationStatus.SENT
    assert notification.attempts == 1
    assert notification.to_address == ready_item.recipient.email
    assert code in notification.body


def test_the_email_waits_until_the_item_is_on_the_shelf(smtp_server, site):
    item = intake(site, make_recipient())
    services.transition(SCREENER, item.uid, "cleared")

    result = run_pending()

    assert result.tick.dispatched == 3  # received, awaiting_screening, cleared
    assert smtp_server.received == []
    assert not Notification.objects.exists()

    services.transition(CLERK, item.uid, "ready_for_pickup")
    run_pending()
    assert len(smtp_server.to(item.recipient.email)) == 1


def test_redelivered_event_gives_one_notification_and_one_email(smtp_server, ready_item):
    topic = "custody.item.made_ready_for_pickup"
    assert outbox.dispatch_due() >= 1
    # At-least-once delivery may hand the same event to the handler again.
    OutboxEvent.objects.filter(topic=topic).update(status=OutboxStatus.PENDING)
    assert outbox.dispatch_due() == 1
    run_pending()

    assert Notification.objects.filter(subject_ref=f"mailitem:{ready_item.uid}").count() == 1
    assert len(smtp_server.to(ready_item.recipient.email)) == 1


def test_an_item_collected_before_the_event_is_handled_gets_no_invitation(smtp_server, site):
    item = make_ready_item(site)
    services.hand_over(CLERK, item.uid, method="code", proof=pickup.pickup_code(item.uid))

    run_pending()

    assert smtp_server.received == []
    assert not Notification.objects.exists()


def test_an_item_back_on_the_shelf_is_not_announced_twice(smtp_server, ready_item):
    run_pending()
    services.transition(CLERK, ready_item.uid, "out_for_delivery")
    services.transition(CLERK, ready_item.uid, "ready_for_pickup")
    run_pending()

    assert len(smtp_server.to(ready_item.recipient.email)) == 1


def test_queue_refuses_to_run_outside_a_transaction(ready_item):
    with pytest.raises(RuntimeError, match="inside the change's transaction"):
        notify.queue(key="x", kind="arrival", to_address="a@example.org", subject_ref="mailitem:x")
