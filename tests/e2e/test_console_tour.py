"""The console with a full demo mailroom: dashboard, live search, directory, my mail, two-factor."""

from __future__ import annotations

import re

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from mailwarden.core.demo import demo_logins, seed
from mailwarden.custody import pickup, queries, services
from mailwarden.custody.models import MailItem
from mailwarden.custody.states import State
from mailwarden.directory.models import Recipient
from tests.e2e.conftest import DESKTOP, TABLET, follow, shot
from tests.factories import CLERK, SCREENER

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo(transactional_db) -> str:
    # No X-ray scans: nothing here opens the screening pages, and simulating them costs seconds.
    seed(items=60, recipients=24, skip={"screening", "training", "risk"})
    return demo_logins().password


def sign_in_as(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_dashboard_and_live_search(open_page, demo, viewport):
    page = open_page(viewport)
    size = "desktop" if viewport == DESKTOP else "tablet"
    sign_in_as(page, "manager", demo)
    board = queries.dashboard()
    for name in ("intake_today", "awaiting_pickup", "quarantined", "overdue"):
        expect(page.locator(f"[data-tile={name}]")).to_have_text(str(getattr(board, name)))
    for state in State:
        expect(page.locator(f"[data-count={state.value}]")).to_have_text(
            str(board.by_state[state.value])
        )
    shot(page, f"20-{size}-dashboard-demo")

    follow(page, "nav >> text=Items")
    expect(page.locator("#results a.uid")).not_to_have_count(0)
    person = MailItem.objects.filter(state=State.QUARANTINED).select_related("recipient").first()
    assert person is not None
    page.select_option("#id_state", "quarantined")
    quarantined = MailItem.objects.filter(state=State.QUARANTINED).count()
    # Retried until HTMX has swapped in the filtered results.
    expect(page.locator("#results .badge")).to_have_text(["Quarantined"] * quarantined)
    expect(page).to_have_url(re.compile(r"state=quarantined"))
    shot(page, f"21-{size}-items-quarantined")

    page.fill("#id_q", person.recipient.last_name)
    expect(page.locator("#results a.uid").first).to_be_visible()
    expect(page.locator(f"#results a.uid:text('{person.uid}')")).to_have_count(1)
    page.locator(f"#results a.uid:text('{person.uid}')").click()
    expect(page.locator(".alert-warning")).to_contain_text("two-person decision")
    shot(page, f"22-{size}-item-quarantined")


def test_directory_import_errors_and_my_mail(open_page, demo, tmp_path):
    page = open_page()
    sign_in_as(page, "manager", demo)
    follow(page, "nav >> text=Recipients")
    shot(page, "23-recipients")
    follow(page, "text=Import CSV")
    bad = tmp_path / "people.csv"
    bad.write_text(
        "employee_id,first_name,last_name,email\nE9101,Mary,Jackson,mary@example\n,Ann,Easley,a@example.org\n"
    )
    count = Recipient.objects.count()
    page.set_input_files("#id_file", str(bad))
    page.click("button:text('Check and import')")
    expect(page.locator("table.line-errors tbody tr")).to_have_count(2)
    shot(page, "24-recipients-import-refused")
    assert Recipient.objects.count() == count

    own = Recipient.objects.get(user__username="recipient")
    waiting = services.intake(
        CLERK,
        services.IntakeRequest(
            site=own.items.first().site.code,
            recipient_id=own.pk,
            kind="parcel",
            sender="Acme Supplies Ltd",
        ),
    )
    services.transition(SCREENER, waiting.uid, "cleared")
    services.transition(CLERK, waiting.uid, "ready_for_pickup")
    recipient_page = open_page(TABLET)
    sign_in_as(recipient_page, "recipient", demo)
    expect(recipient_page.locator("h1")).to_have_text("My mail")
    ready = recipient_page.locator(f"[data-uid={waiting.uid}]")
    expect(ready.locator(".pickup-code")).to_have_text(pickup.pickup_code(waiting.uid))
    expect(ready.locator("svg.qr")).to_be_visible()
    links = recipient_page.locator("nav.nav a").all_inner_texts()
    assert [text.strip() for text in links] == ["My mail", "Messages"]
    shot(recipient_page, "25-tablet-my-mail")


def test_two_factor_required_by_policy(open_page, demo):
    manager = open_page()
    sign_in_as(manager, "manager", demo)
    follow(manager, "nav >> text=Security policy")
    manager.check("#id_clerk")
    manager.click("button:text('Save policy')")
    expect(manager.locator(".alert-success")).to_contain_text("1 change")
    shot(manager, "26-security-policy")

    clerk = open_page(TABLET)
    sign_in_as(clerk, "clerk", demo)
    expect(clerk.locator("h1")).to_have_text("Set up two-factor sign-in")
    expect(clerk.locator("svg.qr")).to_be_visible()
    shot(clerk, "27-tablet-mfa-setup")
    device = TOTPDevice.objects.get(user__username="clerk", confirmed=False)
    code = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift).token()
    clerk.fill("#id_token", str(code).zfill(6))
    clerk.click("button:text('Confirm and continue')")
    expect(clerk.locator("h1")).to_have_text("Dashboard")
    expect(clerk).to_have_url(re.compile(r"/$"))
    assert TOTPDevice.objects.get(user__username="clerk").confirmed


def test_the_demo_recipient_signs_in_as_a_person_and_sees_their_mail(open_page, demo):
    own = Recipient.objects.get(user__username="recipient")
    theirs = list(MailItem.objects.filter(recipient=own))
    assert {State.READY_FOR_PICKUP, State.PICKED_UP} <= {item.state for item in theirs}
    page = open_page(DESKTOP)
    sign_in_as(page, "recipient", demo)
    expect(page.locator("h1")).to_have_text("My mail")
    # The name at the top is the directory person's whose mail the page lists.
    expect(page.locator(".who-name")).to_have_text(own.display_name)
    expect(page.locator(".mail-row")).to_have_count(len(theirs))
    ready = next(item for item in theirs if item.state == State.READY_FOR_PICKUP)
    expect(page.locator(f"[data-uid={ready.uid}] .pickup-code")).to_have_text(
        pickup.pickup_code(ready.uid)
    )
    page.click(".who >> text=API docs")
    expect(page).to_have_url(re.compile(r"/api/docs$"))
