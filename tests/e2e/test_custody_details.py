"""The item page of an item that left with a drawn signature, as a clerk sees it."""

from __future__ import annotations

import base64

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody import services
from mailwarden.custody.states import State
from tests.custody_services.conftest import item_in, png
from tests.e2e.conftest import PASSWORD, shot, sign_in
from tests.factories import ADMIN, CLERK, make_recipient, make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_signed_for_item_shows_the_signature_and_not_its_shelf(open_page, transactional_db):
    site = make_site()
    item = item_in(
        site, make_recipient(first_name="Ada", last_name="Byron"), State.READY_FOR_PICKUP
    )
    proof = "data:image/png;base64," + base64.b64encode(png(240, 90)).decode()
    services.hand_over(CLERK, item.uid, method="signature", proof=proof, collected_by="Ada Byron")
    create_user(ADMIN, "clerk", password=PASSWORD, roles=[Role.CLERK.value], check_password=False)
    page = open_page()
    sign_in(page, "clerk")
    page.goto(f"/items/{item.uid}/")
    expect(page.locator("[data-whereabouts]")).to_have_text(
        f"Picked up by the recipient · {site.name}"
    )
    signature = page.locator("img.signature")
    expect(signature).to_have_attribute("alt", "Signature of Ada Byron")
    signature.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const img = document.querySelector('img.signature');"
        " return img.complete && img.naturalWidth === 240; }"
    )
    shot(page, "custody-signature-on-item-page")
