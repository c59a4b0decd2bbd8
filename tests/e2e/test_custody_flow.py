"""An item's life through the console, as the mailroom staff would click it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody import pickup, services
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from tests.e2e.conftest import PASSWORD, TABLET, follow, shot, sign_in, sign_out
from tests.factories import ADMIN, CLERK, SCREENER, VALID_UPS, make_recipient, make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def mailroom(transactional_db):
    site = make_site()
    make_recipient(
        first_name="Grace", last_name="Hopper", department="Research", mail_stop="B4-217"
    )
    margaret = make_recipient(
        first_name="Margaret",
        last_name="Hamilton",
        department="Flight Software",
        mail_stop="C2-104",
    )
    make_recipient(first_name="Marge", last_name="Hampton", department="Legal")
    for role in (Role.CLERK, Role.SCREENER):
        create_user(ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False)
    return site, margaret


def test_intake_screening_and_pickup_by_code(open_page, mailroom):
    _site, margaret = mailroom
    page = open_page()

    sign_in(page, "clerk")
    expect(page.locator("h1")).to_have_text("Dashboard")
    shot(page, "01-clerk-dashboard")

    follow(page, "nav >> text=Intake")
    scan = page.locator("#id_tracking_number")
    expect(scan).to_be_focused()
    shot(page, "02-intake-empty")
    # A keyboard-wedge scanner types the number and presses Enter.
    page.keyboard.type(VALID_UPS)
    page.keyboard.press("Enter")
    expect(page.locator("#carrier-result .carrier-ok")).to_contain_text("UPS")
    expect(page.locator("#id_recipient_query")).to_be_focused()
    page.keyboard.type("Margret Hamiltn")
    first = page.locator("#recipient-suggestions .suggestion").first
    expect(first).to_contain_text("Margaret Hamilton")
    shot(page, "03-intake-recipient-suggestions")
    page.keyboard.press("Enter")
    expect(page.locator("#recipient-chosen")).to_contain_text("Margaret Hamilton")
    page.click("label[for=id_kind_2]")  # parcel
    page.fill("#id_sender", "Northwind Traders")
    page.fill("#id_weight_g", "1250")
    page.keyboard.press("Enter")
    created = page.locator("[data-created]")
    expect(created).to_be_visible()
    uid = created.get_attribute("data-created")
    assert uid
    expect(page.locator("#id_tracking_number")).to_be_focused()
    expect(page.locator("#id_tracking_number")).to_have_value("")
    shot(page, "04-intake-logged")
    item = MailItem.objects.get(uid=uid)
    assert (item.recipient_id, item.carrier, item.state) == (
        margaret.pk,
        "ups",
        State.AWAITING_SCREENING,
    )

    # Scanning the same number again is caught as a possible duplicate.
    scan.fill(VALID_UPS)
    page.locator("#id_recipient_query").fill("Grace Hopper")
    page.locator("#recipient-suggestions .suggestion").first.click()
    page.click("#intake-form button[type=submit]")
    expect(page.locator(".duplicate")).to_contain_text(uid)
    shot(page, "05-intake-possible-duplicate")
    page.click("text=This is another item")
    expect(page.locator("[data-created]")).to_be_visible()
    expect(page.locator("[data-created]")).not_to_have_attribute("data-created", uid)
    assert MailItem.objects.filter(tracking_number=VALID_UPS).count() == 2
    sign_out(page)

    sign_in(page, "screener")
    follow(page, "nav >> text=Items")
    page.fill("#id_q", uid)
    page.locator(f"#results a.uid:text('{uid}')").click()
    expect(page.locator(".item-head .badge")).to_have_text("Awaiting screening")
    expect(page.locator("text=Ready for pickup")).to_have_count(0)
    shot(page, "06-screener-item")
    # Clearing is a screening decision, made at the workstation the item page links to.
    follow(page, "a:text('Screen this item')")
    expect(page.locator("[data-decide]")).to_be_visible()
    page.click("button[data-decision=clear]")
    expect(page.locator(".item-head .badge")).to_have_text("Cleared")
    expect(page.locator("[data-outcome]")).to_contain_text("Low tier")
    sign_out(page)

    sign_in(page, "clerk")
    page.goto(f"/items/{uid}/")
    expect(page.locator("button:text-is('Clear')")).to_have_count(0)
    page.click("button:text-is('Ready for pickup')")
    expect(page.locator(".item-head .badge")).to_have_text("Ready for pickup")
    follow(page, "a:text('Hand over')")
    expect(page.locator("#id_code")).to_be_focused()
    page.fill("#id_code", "000000" if pickup.pickup_code(uid) != "000000" else "111111")
    page.click("button:text('Hand over')")
    expect(page.locator("[data-field-error=code]")).to_contain_text("4 tries left")
    shot(page, "07-pickup-wrong-code")
    page.fill("#id_code", pickup.pickup_code(uid))
    page.fill("#id_collected_by", "Margaret Hamilton")
    page.click("button:text('Hand over')")
    expect(page.locator(".alert-success")).to_contain_text(uid)
    page.goto(f"/items/{uid}/")
    expect(page.locator(".item-head .badge")).to_have_text("Picked up")
    steps = page.locator(".timeline .step-title")
    expect(steps).to_have_text(
        [
            "Logged at intake",
            "Awaiting screening",
            # The screening decision's own ledger entry, however custody titles it.
            re.compile(r"screening.decision", re.IGNORECASE),
            "Cleared",
            "Ready for pickup",
            "Wrong pickup code",
            "Picked up",
        ]
    )
    expect(page.locator(".timeline")).to_contain_text("by screener")
    shot(page, "08-item-timeline-picked-up")


def test_signature_pickup_on_a_tablet(open_page, mailroom):
    site, margaret = mailroom
    item = services.intake(
        CLERK, services.IntakeRequest(site=site.code, recipient_id=margaret.pk, kind="letter")
    )
    services.transition(SCREENER, item.uid, "cleared")
    services.transition(CLERK, item.uid, "ready_for_pickup")
    page = open_page(TABLET)

    sign_in(page, "clerk")
    # On a tablet the navigation sits across the top instead of down the side.
    nav = page.locator("nav.nav").bounding_box()
    assert nav is not None and nav["y"] < 200 and nav["width"] > 600
    shot(page, "09-tablet-dashboard")
    follow(page, "nav >> text=Pickup")
    page.fill("#id_scan", item.uid.lower())
    page.keyboard.press("Enter")
    page.click("label[for=id_method_2]")  # signature
    pad = page.locator("canvas.signature-pad")
    # The pad shows once the page has taken the choice; a box is only measured when it does.
    pad.wait_for(state="visible")
    box = pad.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 30, box["y"] + box["height"] * 0.7)
    page.mouse.down()
    for step in range(1, 25):
        x = box["x"] + 30 + step * (box["width"] - 60) / 24
        y = box["y"] + box["height"] * (0.7 - 0.4 * ((step % 6) / 6))
        page.mouse.move(x, y)
    page.mouse.up()
    page.fill("#id_collected_by", "M. Hamilton")
    shot(page, "10-tablet-pickup-signature")
    page.click("button:text('Hand over')")
    expect(page.locator(".alert-success")).to_contain_text(item.uid)
    item.refresh_from_db()
    assert item.state == State.PICKED_UP
    page.goto(f"/items/{item.uid}/")
    expect(page.locator(".timeline")).to_contain_text("Proof: signature")
    expect(page.locator(".timeline")).to_contain_text("Collected by: M. Hamilton")
    shot(page, "11-tablet-item-timeline")


def test_label_photo_fills_the_barcode_on_a_tablet(open_page, mailroom, tmp_path):
    from tests.console.test_intake import barcode_photo

    photo = tmp_path / "label.png"
    photo.write_bytes(barcode_photo(VALID_UPS))
    page = open_page(TABLET)
    sign_in(page, "clerk")
    follow(page, "nav >> text=Intake")
    page.set_input_files("input[name=label_photo]", str(photo))
    expect(page.locator("#id_tracking_number")).to_have_value(VALID_UPS)
    expect(page.locator("#carrier-result .carrier-ok")).to_contain_text("UPS")
    expect(page.locator("#id_tracking_number")).to_be_focused()
    shot(page, "12-tablet-intake-label-photo")
