"""Exercises and after-action reports in the browser (desktop and tablet): a manager plans a
drill, starts it after confirming, writes the report with a corrective action, and an auditor
reads it; the chart is on the page and the PDF link works."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from mailwarden.incidents.models import CorrectiveAction, Exercise
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, shot, sign_in
from tests.factories import ADMIN

pytestmark = pytest.mark.browser


@pytest.fixture
def people(transactional_db) -> None:
    from tests.factories import make_site
    from tests.incidents.exercise_helpers import make_playbook

    make_site()
    make_playbook()
    for role in (Role.SECURITY_MANAGER, Role.AUDITOR):
        create_user(ADMIN, role.value, password=PASSWORD, roles=[role.value], check_password=False)


def no_sideways_scroll(page) -> None:
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 1, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_a_manager_runs_a_drill_and_writes_its_report(open_page, people, viewport):
    name = "desktop" if viewport == DESKTOP else "tablet"
    page = open_page(viewport)
    sign_in(page, Role.SECURITY_MANAGER.value)
    page.goto("/incidents/exercises/")
    expect(page.locator("h1")).to_have_text("Exercises and reports")
    page.fill("#id_name", "Dock parcel drill")
    page.select_option("#id_type", "drill")
    page.select_option("#id_site", "hq")
    page.select_option("#id_incident_type", "suspicious_package")
    page.fill("#id_planned_start", "2026-03-02T10:00")
    page.fill("#id_scenario", "A parcel with wires shows on the X-ray at the dock.")
    page.fill("#id_objectives", "Evacuate within 10 minutes\nCall the police within 5")
    page.click("#plan-exercise button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dock parcel drill")
    page.click("[data-start-link]")
    expect(page.locator("[data-confirm] h1")).to_have_text("Start Dock parcel drill?")
    # Not ticked: refused, nothing started.
    page.click("[data-confirm] button[type=submit]")
    expect(page.locator("[data-field-error=confirm]")).to_be_visible()
    assert Exercise.objects.get().incident is None
    page.check("#id_confirm")
    page.click("[data-confirm] button[type=submit]")
    expect(page.locator(".alert")).to_contain_text("Exercise started as INC-")
    page.click("text=After-action report")
    expect(page.locator("[data-exercise-banner]")).to_be_visible()
    expect(page.locator(".chart-wrap svg")).to_be_visible()
    expect(page.locator("[data-pdf-link]")).to_have_attribute(
        "href", f"/incidents/{Exercise.objects.get().incident_id}/report.pdf"
    )
    # The report.
    page.click("text=Edit report")
    page.select_option("#id_rating_0", "met")
    page.fill("#id_notes_0", "Out in eight minutes.")
    page.select_option("#id_rating_1", "partially_met")
    page.fill("#id_strengths", "Everyone knew the assembly point")
    page.fill("#id_improvements", "The police were called late")
    page.click("button:has-text('Save report')")
    expect(page.locator(".alert")).to_have_text("Report saved.")
    expect(page.locator("#objectives")).to_contain_text("Partially met")
    # A corrective action without an owner is refused, naming the field.
    page.fill("#add-action #id_action", "Put the police number on the X-ray desk")
    page.fill("#add-action #id_due_on", "2030-01-31")
    page.click("#add-action button[type=submit]")
    expect(page.locator("[data-field-error=owner]")).to_be_visible()
    page.fill("#add-action #id_owner", "Mailroom supervisor")
    page.click("#add-action button[type=submit]")
    expect(page.locator(".alert")).to_have_text("Corrective action added.")
    expect(page.locator(".actions-table")).to_contain_text("Mailroom supervisor")
    assert CorrectiveAction.objects.get().owner == "Mailroom supervisor"
    no_sideways_scroll(page)
    shot(page, f"incidents-aar-{name}")


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_an_auditor_reads_the_report_and_cannot_edit(open_page, people, viewport):
    from mailwarden.incidents.services import exercises
    from tests.incidents.conftest import MANAGER
    from tests.incidents.exercise_helpers import request

    planned = exercises.plan_exercise(MANAGER, request())
    incident = exercises.start_exercise(MANAGER, planned.pk, confirm=True)
    page = open_page(viewport)
    sign_in(page, Role.AUDITOR.value)
    page.goto("/incidents/exercises/")
    expect(page.locator("#plan-exercise")).to_have_count(0)
    page.click(f"text=Started · {incident.reference} · report")
    expect(page.locator("h1").first).to_have_text("After-action report and improvement plan")
    expect(page.locator("text=Edit report")).to_have_count(0)
    expect(page.locator("#add-action")).to_have_count(0)
    expect(page.locator(".chart-wrap svg")).to_be_visible()
    no_sideways_scroll(page)
    response = page.request.get(f"/incidents/{incident.pk}/report.pdf")
    assert response.status == 200 and response.body().startswith(b"%PDF-")
    assert page.request.get(f"/incidents/{incident.pk}/report/edit/").status == 403
