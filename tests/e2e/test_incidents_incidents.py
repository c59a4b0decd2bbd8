"""Incidents in the browser (desktop and tablet): the list, opening one from an alarm on the
alarm console, and the incident page: moving it with the buttons it offers, a note, evidence
with its hash, a task checked off, and the list again with its badges."""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.incidents.models import Alarm, Incident
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, shot, sign_in
from tests.factories import ADMIN
from tests.incidents.conftest import deliver, forced

pytestmark = pytest.mark.browser


@pytest.fixture
def console(transactional_db, settings, tmp_path) -> None:
    from tests.factories import make_site

    settings.MEDIA_STORE_DIR = tmp_path / "media"
    make_site()
    for role in (Role.SECURITY_OPERATOR, Role.SECURITY_MANAGER, Role.AUDITOR):
        create_user(ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False)
    deliver(forced(1))


def no_sideways_scroll(page) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wide <= 0, f"the page scrolls sideways by {wide}px"


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_an_operator_runs_an_incident_from_an_alarm(open_page, console, viewport, tmp_path):
    name = "desktop" if viewport == DESKTOP else "tablet"
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_OPERATOR.value)
    page.goto("/incidents/")
    expect(page.locator("#incident-list .empty")).to_have_text("No incidents.")
    alarm = Alarm.objects.get()
    page.goto("/incidents/alarms/")
    page.click(f"[data-open-incident='{alarm.pk}']")
    page.wait_for_url(f"**/incidents/new/?alarm={alarm.pk}")
    expect(page.locator("#id_type")).to_have_value("forced_entry")
    expect(page.locator("#id_severity")).to_have_value("1")
    expect(page.locator("#id_title")).to_have_value("Door forced open: LOBBY")
    no_sideways_scroll(page)
    shot(page, f"incident-open-{name}")
    page.fill("#id_summary", "Lobby door found open, nobody badged in")
    page.click("button:has-text('Open the incident')")
    incident = Incident.objects.get()
    page.wait_for_url(f"**/incidents/{incident.pk}/")
    expect(page.locator(".alert-success")).to_have_text(f"{incident.reference} opened.")
    expect(page.locator(".incident-head [data-state]")).to_have_text("Open")
    expect(page.locator("[data-severity]").first).to_have_text("SEV-1")
    expect(page.locator(f"#links [data-link='alarm:{alarm.pk}']")).to_be_visible()
    # Only the moves an open incident may make are offered.
    expect(page.locator("[data-move]")).to_have_count(2)
    page.fill(".inc-moves input[name=note]", "door shut, guard posted")
    page.click("[data-move=contained]")
    expect(page.locator(".incident-head [data-state]")).to_have_text("Contained")
    expect(page.locator("[data-move=open]")).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Open → Contained: door shut, guard posted")
    page.fill("#timeline input[name=text]", "Police informed")
    page.click("#timeline button:has-text('Add note')")
    expect(page.locator("#timeline")).to_contain_text("Police informed")
    photo = tmp_path / "lobby.jpg"
    photo.write_bytes(b"lobby door photo")
    page.set_input_files("#evidence input[type=file]", str(photo))
    page.fill("#evidence input[name=description]", "door frame damage")
    page.click("#evidence button:has-text('Add evidence')")
    digest = hashlib.sha256(b"lobby door photo").hexdigest()
    expect(page.locator(f"#evidence [data-evidence='{digest}']")).to_contain_text(digest)
    page.fill("#tasks input[name=title]", "Check the camera over the lobby")
    page.click("#tasks button:has-text('Add task')")
    expect(page.locator("#tasks li")).to_have_count(1)
    page.click("#tasks button:has-text('Done')")
    expect(page.locator("#tasks li.is-done")).to_contain_text("by user:security_operator")
    no_sideways_scroll(page)
    shot(page, f"incident-detail-{name}")
    page.click("nav >> text=Incidents")
    page.wait_for_url("**/incidents/")
    row = page.locator(f"tr[data-incident-id='{incident.pk}']")
    expect(row.locator("[data-state]")).to_have_text("Contained")
    expect(row.locator("[data-severity]")).to_have_text("SEV-1")
    no_sideways_scroll(page)
    shot(page, f"incident-list-{name}")


def test_an_auditor_reads_and_filters_exercises(open_page, console):
    from mailwarden.incidents.services import incidents as services
    from tests.incidents.conftest import OPERATOR

    for title, exercise in (("Real parcel", False), ("Spring drill", True)):
        services.open_incident(
            OPERATOR,
            services.OpenIncidentRequest(
                type="suspicious_package",
                severity=2,
                site="hq",
                title=title,
                exercise=exercise,
                exercise_type="drill" if exercise else "",
            ),
        )
    page = open_page(TABLET)
    sign_in(page, Role.AUDITOR.value)
    page.goto("/incidents/")
    expect(page.locator("#incident-list tbody tr")).to_have_count(2)
    expect(page.locator("[data-open-incident]")).to_have_count(0)
    expect(page.locator("tr.is-exercise [data-exercise]")).to_have_text("EXERCISE · Drill")
    page.select_option("select[name=exercise]", "yes")
    page.click("form[aria-label='Filter incidents'] button[type=submit]")
    expect(page.locator("#incident-list tbody tr")).to_have_count(1)
    page.click("#incident-list tbody a")
    expect(page.locator("[data-exercise-banner]")).to_contain_text(
        "door and item actions only simulate"
    )
    expect(page.locator("[data-move]")).to_have_count(0)
