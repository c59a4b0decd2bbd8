"""Screening in the browser: a screener works an X-ray image with the keyboard and quarantines a
threat, and two security managers let it out of quarantine."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from mailwarden.core.actor import Actor
from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.screening import decode, services
from mailwarden.screening.demo import DEMO_SCANNER
from mailwarden.screening.models import Scan, ScanSource
from mailwarden.xray.simulator import simulate_parcel
from tests.e2e.conftest import (
    DESKTOP,
    PASSWORD,
    SHOTS,
    TABLET,
    follow,
    restore_indicator_catalogue,
    shot,
    sign_in,
    sign_out,
)
from tests.factories import ADMIN, intake, make_recipient, make_site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIMULATED_SCANNER = Actor.device("demo-scanner", Role.SCREENER)


def person(username: str) -> Actor:
    return Actor.for_user(User.objects.get(username=username))


def screen_shot(page, name: str) -> None:
    """What the screen shows. The workstation keeps its decision buttons at the bottom of the
    screen, which a full-page capture draws in the wrong place; a dialog covers the screen."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), caret="initial")


def simulated_scan(uid: str, seed: int, threat: str | None) -> Scan:
    """A parcel from the demo's dual-energy simulator, imported as the demo's scanner does."""
    parcel = simulate_parcel(seed, DEMO_SCANNER, threat=threat, clutter=(2, 6))
    upload = services.ScanUpload(
        high=decode.tiff16(parcel.high), low=decode.tiff16(parcel.low), filename=f"{uid}_high.tif"
    )
    return services.import_scan(SIMULATED_SCANNER, uid, upload, source=ScanSource.DEMO)


@pytest.fixture
def mailroom(transactional_db, frozen_clock):
    """A demo-like mailroom: a parcel with a knife in it, and others waiting their turn."""
    restore_indicator_catalogue()
    site = make_site()
    grace = make_recipient(first_name="Grace", last_name="Hopper", department="Research")
    ada = make_recipient(first_name="Ada", last_name="Byron", department="Finance")
    for name, role in (
        ("screener", Role.SCREENER),
        ("screener2", Role.SCREENER),
        ("manager", Role.SECURITY_MANAGER),
        ("manager2", Role.SECURITY_MANAGER),
    ):
        create_user(ADMIN, name, password=PASSWORD, roles=[role.value], check_password=False)
    threat = intake(site, grace, sender="Unknown sender", weight_g=1480)
    scan = simulated_scan(threat.uid, 2, "knife")
    frozen_clock.advance(minutes=25)
    clean = intake(site, ada, sender="Acme Supplies Ltd", weight_g=640)
    simulated_scan(clean.uid, 11, None)
    frozen_clock.advance(minutes=10)
    intake(site, grace, sender="Payroll", weight_g=90)
    frozen_clock.advance(minutes=7)
    return threat, scan, clean


def wait_for_image(page) -> None:
    page.wait_for_function(
        "() => { const i = document.querySelector('[data-image]');"
        " return i.complete && i.naturalWidth > 0 && !i.classList.contains('is-loading'); }"
    )


def test_screener_quarantines_a_threat_and_two_managers_release_it(open_page, mailroom):
    threat, scan, _clean = mailroom
    page = open_page(DESKTOP)
    sign_in(page, "screener")
    follow(page, "nav >> text=Screening queue")
    expect(page.locator("[data-queue=first] tr[data-uid]")).to_have_count(3)
    expect(page.locator("[data-queue=first] tr[data-uid]").first).to_have_attribute(
        "data-uid", threat.uid
    )
    shot(page, "50-desktop-screening-queue")

    page.click(f"a.uid:text('{threat.uid}')")
    image = page.locator("[data-image]")
    # A screener about to decide gets the image from the workstation's own address.
    expect(image).to_have_attribute(
        "src", f"/screening/items/{threat.uid}/scans/{scan.pk}/shown.png"
    )
    boxes = page.locator("[data-boxes] .ws-box")
    expect(boxes).to_have_count(len(scan.regions))
    expect(page.locator("[data-boxes]")).to_be_visible()
    expect(page.locator("[data-regions] li").first).to_contain_text("Knife")
    wait_for_image(page)
    screen_shot(page, "51-desktop-workstation-boxes")

    # The operator views, by key; the image is fetched anew for each.
    for key, view in (("2", "organic"), ("3", "inorganic"), ("4", "high_penetration")):
        page.keyboard.press(key)
        expect(image).to_have_attribute("src", f"/api/scans/{scan.pk}/view/{view}.png")
        expect(page.locator(f"[data-view={view}]")).to_have_attribute("aria-pressed", "true")
    wait_for_image(page)
    screen_shot(page, "52-desktop-workstation-high-penetration")
    page.keyboard.press("7")
    expect(image).to_have_attribute(
        "src", f"/api/scans/{scan.pk}/view/variable_density.png?level=0.50"
    )
    expect(page.locator("[data-level-box]")).to_be_visible()
    page.keyboard.press("BracketRight")
    expect(image).to_have_attribute(
        "src", f"/api/scans/{scan.pk}/view/variable_density.png?level=0.55"
    )
    wait_for_image(page)
    page.keyboard.press("1")
    expect(image).to_have_attribute(
        "src", f"/screening/items/{threat.uid}/scans/{scan.pk}/shown.png"
    )
    expect(page.locator("[data-level-box]")).to_be_hidden()

    # Zoom by key, and back to fit.
    workstation = page.locator("[data-workstation]")
    page.keyboard.press("Equal")
    expect(workstation).to_have_attribute("data-zoom", "1.25")
    page.keyboard.press("0")
    expect(workstation).to_have_attribute("data-zoom", "1.00")

    # The boxes go away and come back, by key and by button.
    page.keyboard.press("b")
    expect(page.locator("[data-boxes]")).to_be_hidden()
    expect(page.locator("[data-toggle-boxes]")).to_have_attribute("aria-pressed", "false")
    page.click("[data-toggle-boxes]")
    expect(page.locator("[data-boxes]")).to_be_visible()

    page.locator("label.ws-check", has_text="Excessive tape").click()
    page.locator("label.ws-check", has_text="Lopsided").click()
    expect(page.locator(".ws-check input:checked")).to_have_count(2)
    # The box just ticked keeps the focus, and the view keys still work.
    page.keyboard.press("5")
    expect(image).to_have_attribute("src", f"/api/scans/{scan.pk}/view/edge.png")
    page.click("[data-decision=quarantine]")
    expect(page.locator("#dialog-quarantine")).to_be_visible()
    page.fill("#id_quarantine_reason", "Knife-shaped metal object on the X-ray")
    page.click("#dialog-quarantine button:text('Quarantine')")
    expect(page.locator(".item-head .badge")).to_have_text("Quarantined")
    expect(page.locator(".alert-error")).to_contain_text("goes to quarantine")
    expect(page.locator("[data-outcome]")).to_contain_text("High tier")
    wait_for_image(page)
    shot(page, "53-desktop-workstation-quarantined")
    held = MailItem.objects.get(pk=threat.pk)
    assert held.state == State.QUARANTINED
    decision = held.screenings.get()
    assert decision.indicators == ["excessive-tape", "lopsided"]
    assert decision.notes.startswith("Knife-shaped metal object")
    sign_out(page)

    sign_in(page, "manager")
    follow(page, "nav >> text=Quarantine")
    row = page.locator(f"tr[data-uid='{threat.uid}']")
    expect(row).to_contain_text("Knife-shaped metal object")
    row.locator("[data-propose]").click()
    dialog = page.locator(f"#propose-{threat.uid}")
    warning = dialog.locator("[data-final-warning]")
    dialog.locator("label", has_text="Destroy").click()
    expect(warning).to_be_visible()
    dialog.locator("label", has_text="Release").click()
    expect(warning).to_be_hidden()
    dialog.locator("textarea").fill("Opened under supervision: a cake knife, as ordered")
    dialog.locator("button:text('Propose')").click()
    expect(row).to_contain_text("proposed by manager (you)")
    expect(row.locator("[data-time-left]")).to_have_text("30 min left")
    shot(page, "54-desktop-quarantine-register")

    # The person who proposed it cannot also confirm it.
    row.locator("button:text('Confirm release')").click()
    expect(page.locator(".alert-error")).to_contain_text(
        "the person who proposed the outcome cannot confirm it"
    )
    assert MailItem.objects.get(pk=threat.pk).state == State.QUARANTINED

    follow(page, "nav >> text=Screening policy")
    expect(page.locator("#id_high_at")).to_have_value("5")
    shot(page, "56-desktop-screening-policy")
    sign_out(page)

    sign_in(page, "manager2")
    follow(page, "nav >> text=Quarantine")
    page.locator(f"tr[data-uid='{threat.uid}'] button:text('Confirm release')").click()
    expect(page.locator(".alert-success")).to_contain_text("Proposed by manager, confirmed by you")
    assert MailItem.objects.get(pk=threat.pk).state == State.RELEASED


def test_tablet_workstation_queue_and_register(open_page, mailroom):
    threat, scan, clean = mailroom
    # One item waits for a second screener; another is in quarantine with a proposal on it.
    services.screen_item(person("screener"), clean.uid, services.Checklist(["rigid-bulky"]))
    letter = MailItem.objects.exclude(pk__in=[threat.pk, clean.pk]).get()
    services.screen_item(
        person("screener"),
        letter.uid,
        services.Checklist(["powder-residue"], notes="White powder leaking at a seam"),
    )
    services.propose_quarantine_outcome(
        person("manager"), letter.uid, "handed_to_authorities", "Police collect it for analysis"
    )
    page = open_page(TABLET)
    sign_in(page, "screener2")
    follow(page, "nav >> text=Screening queue")
    expect(page.locator("[data-queue=second] tr[data-uid]")).to_have_count(1)
    shot(page, "57-tablet-screening-queue")

    page.click(f"a.uid:text('{threat.uid}')")
    expect(page.locator("[data-boxes] .ws-box")).to_have_count(len(scan.regions))
    wait_for_image(page)
    shot(page, "58-tablet-workstation-boxes")
    page.click("[data-decision=threat]")
    expect(page.locator("#dialog-threat")).to_contain_text("evacuate the room")
    screen_shot(page, "59-tablet-workstation-threat-dialog")
    page.click("#dialog-threat button:text('Cancel')")
    expect(page.locator("#dialog-threat")).to_be_hidden()
    assert MailItem.objects.get(pk=threat.pk).state == State.AWAITING_SCREENING

    page.goto(f"/screening/items/{clean.uid}/")
    expect(page.locator("[data-pending]")).to_contain_text("Second screener needed")
    expect(page.locator("[data-confirm-decision]")).to_be_visible()
    wait_for_image(page)
    shot(page, "60-tablet-workstation-second-screener")

    follow(page, "nav >> text=Quarantine")
    row = page.locator(f"tr[data-uid='{letter.uid}']")
    expect(row).to_contain_text("White powder leaking at a seam")
    expect(row).to_contain_text("Hand to the authorities proposed by manager")
    shot(page, "61-tablet-quarantine-register")
    page.set_viewport_size(DESKTOP)
    shot(page, "55-desktop-quarantine-register-held")


def test_queue_shows_the_longest_waiting_first(open_page, mailroom):
    threat, _scan, clean = mailroom
    page = open_page(DESKTOP)
    sign_in(page, "screener")
    page.goto("/screening/")
    uids = page.locator("[data-queue=first] tr[data-uid]")
    expect(uids.nth(0)).to_have_attribute("data-uid", threat.uid)
    expect(uids.nth(1)).to_have_attribute("data-uid", clean.uid)
    expect(page.locator(f"tr[data-uid='{threat.uid}'] .dwell")).to_have_text("42 min")
    expect(page.locator(f"tr[data-uid='{threat.uid}']")).to_contain_text(re.compile(r"\d regions?"))


def test_a_critical_finding_comes_first_and_clear_asks_before_the_alarm(open_page, mailroom):
    threat, _scan, clean = mailroom
    services.update_policy(
        person("manager"),
        threat.site.code,
        services.PolicyUpdate(xray_tiers={"knife": "critical"}),
    )
    page = open_page(DESKTOP)
    sign_in(page, "screener")
    page.goto("/screening/")
    first = page.locator("[data-queue=first] tr[data-uid]").first
    expect(first).to_have_attribute("data-uid", threat.uid)
    expect(first).to_have_attribute("data-alert", "critical")
    expect(first.locator("[data-finding-tier=critical]")).to_have_text("Critical X-ray finding")
    expect(page.locator(f"tr[data-uid='{clean.uid}']")).not_to_have_attribute(
        "data-alert", "critical"
    )

    page.click(f"a.uid:text('{threat.uid}')")
    # The finding and its tier are on screen before any button is pressed.
    finding = page.locator(".ws-finding[data-finding-tier=critical]")
    expect(finding).to_be_visible()
    expect(finding).to_contain_text("Critical X-ray finding")
    expect(finding).to_contain_text("Knife")
    wait_for_image(page)
    screen_shot(page, "62-desktop-workstation-critical-finding")

    # Clear asks first, and says what will happen; cancelling changes nothing.
    page.click("[data-decision=clear]")
    dialog = page.locator("#dialog-clear")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("stays at the critical tier")
    expect(dialog).to_contain_text("The alarm is raised.")
    screen_shot(page, "63-desktop-workstation-clear-critical-dialog")
    dialog.locator("button:text('Cancel')").click()
    expect(dialog).to_be_hidden()
    assert MailItem.objects.get(pk=threat.pk).state == State.AWAITING_SCREENING

    page.click("[data-decision=clear]")
    page.click("[data-confirm-clear]")
    expect(page.locator("[data-evacuate]")).to_be_visible()
    assert MailItem.objects.get(pk=threat.pk).state == State.QUARANTINED
