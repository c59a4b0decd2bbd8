"""Custody details on the item page, the pickup screen and the custody PDF."""

from __future__ import annotations

import base64
import re

from mailwarden.core import ledger
from mailwarden.core.roles import Role
from mailwarden.custody import export, pickup, services
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from tests.custody_services.conftest import item_in, png
from tests.factories import CLERK


def whereabouts(body: str) -> str:
    found = re.search(r"<dd data-whereabouts>([^<]*)</dd>", body)
    assert found, body
    return found.group(1)


def test_an_item_that_left_no_longer_shows_its_shelf(as_role, site, recipient):
    waiting = item_in(site, recipient, State.READY_FOR_PICKUP)
    client = as_role(Role.CLERK)
    shelf = waiting.location.name
    assert whereabouts(client.get(f"/items/{waiting.uid}/").content.decode()).startswith(shelf)
    services.hand_over(CLERK, waiting.uid, method="code", proof=pickup.pickup_code(waiting.uid))
    gone = client.get(f"/items/{waiting.uid}/").content.decode()
    assert whereabouts(gone) == f"Picked up by the recipient · {site.name}"
    delivered = item_in(site, recipient, State.DELIVERED)
    assert whereabouts(client.get(f"/items/{delivered.uid}/").content.decode()).startswith(
        "Delivered to the recipient"
    )
    html = " ".join(export.custody_html(MailItem.objects.get(pk=waiting.pk)).split())
    assert "<th>Current location</th><td>Picked up by the recipient</td>" in html


def test_a_code_with_letters_is_refused_without_using_a_try(as_role, site, recipient):
    waiting = item_in(site, recipient, State.READY_FOR_PICKUP)
    client = as_role(Role.CLERK)
    response = client.post(f"/pickup/{waiting.uid}/", {"method": "code", "code": "12ab56"})
    assert response.status_code == 400
    assert "a pickup code is 6 digits (0-9)" in response.content.decode()
    stored = MailItem.objects.get(pk=waiting.pk)
    assert (stored.state, stored.pickup_failures) == (State.READY_FOR_PICKUP, 0)


def test_a_drawn_signature_shows_on_the_item_page_and_in_the_pdf(as_role, site, recipient):
    waiting = item_in(site, recipient, State.READY_FOR_PICKUP)
    drawn = png(200, 80)
    proof = "data:image/png;base64," + base64.b64encode(drawn).decode()
    services.hand_over(CLERK, waiting.uid, method="signature", proof=proof, collected_by="Ada")
    digest = ledger.entry_data(ledger.entries_for("mailitem", waiting.uid)[-1])["signature_sha256"]
    client = as_role(Role.CLERK)
    body = client.get(f"/items/{waiting.uid}/").content.decode()
    url = f"/items/{waiting.uid}/signature/{digest}/"
    assert f'<img class="signature" src="{url}" alt="Signature of Ada">' in body
    shown = client.get(url)
    assert (shown.status_code, shown["Content-Type"], shown.content) == (200, "image/png", drawn)
    # Only a signature this item's record names is served.
    other = item_in(site, recipient, State.READY_FOR_PICKUP)
    assert client.get(f"/items/{other.uid}/signature/{digest}/").status_code == 404
    html = export.custody_html(MailItem.objects.get(pk=waiting.pk))
    assert f'src="data:image/png;base64,{base64.b64encode(drawn).decode()}"' in html
    pdf = export.custody_pdf(MailItem.objects.get(pk=waiting.pk))
    assert b"/Subtype /Image" in pdf or b"/Subtype/Image" in pdf


def test_a_reason_over_the_limit_says_so(as_role, site, recipient):
    waiting = item_in(site, recipient, State.READY_FOR_PICKUP)
    client = as_role(Role.CLERK)
    response = client.post(
        f"/items/{waiting.uid}/move/",
        {"location_code": waiting.location.code, "reason": "x" * 501},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "the reason can be at most 500 characters; it has 501" in body
    assert "choose a location at this site" not in body
    refused = client.post(
        f"/items/{waiting.uid}/transition/",
        {"target": "out_for_delivery", "reason": "y" * 600, "expected_version": waiting.version},
    ).content.decode()
    assert "the reason can be at most 500 characters; it has 600" in refused
    assert "reason:" not in refused
