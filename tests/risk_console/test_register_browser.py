"""The register and heatmap pages in the browser: they draw with no script or CSP error, on a
desktop and a tablet, the heatmap fits the page and the flagged risk stands out."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.core.services import create_user
from tests.e2e import conftest as e2e
from tests.e2e.conftest import DESKTOP, PASSWORD, TABLET, shot, sign_in
from tests.factories import ADMIN, make_site
from tests.risk.report_fixtures import add_control, add_risk, add_treatment, make_assessment

# The e2e folder's page fixture, shared here without a conftest of this folder's own.
open_page = e2e.open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def person(role: Role, username: str) -> User:
    return create_user(ADMIN, username, password=PASSWORD, roles=[role.value], check_password=False)


def assessment():
    owner = person(Role.SECURITY_MANAGER, "mona")
    site = make_site()
    before = make_assessment(site, title="Assessment 2025", final=True)
    add_risk(before, "tailgating", (2, 2), title="Tailgating into the mail room")
    after = make_assessment(site, title="Assessment 2026", previous=before)
    tailgating = add_risk(
        after, "tailgating", (5, 4), (4, 3), title="Tailgating into the mail room"
    )
    add_risk(after, "powder", (3, 5), (1, 5), title="Hazardous powder letter")
    add_risk(after, "theft", (3, 5), (2, 2), title="Theft of mail")
    weak = add_control(site, "Two-person rule on the quarantine door", contradicted=True)
    add_treatment(
        tailgating,
        owner,
        description="Anti-tailgating turnstile",
        due=date(2020, 1, 1),
        control=weak,
    )
    return after


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_the_register_and_heatmap_pages_draw(open_page, viewport) -> None:
    after = assessment()
    person(Role.AUDITOR, "audrey")
    name = "desktop" if viewport == DESKTOP else "tablet"
    page = open_page(viewport)
    sign_in(page, "audrey")

    page.goto("/risk/reports/")
    page.click(f"[data-assessment='{after.pk}'] a:text('Register')")
    page.wait_for_url(f"**/risk/assessments/{after.pk}/register/")
    flagged = page.locator("[data-register] tr[data-flagged]")
    expect(flagged).to_have_count(1)
    expect(flagged).to_have_attribute("data-risk", "tailgating")
    expect(flagged.locator("[data-overdue]")).to_have_text("overdue")
    expect(page.locator("[data-flagged-alert]")).to_be_visible()
    shot(page, f"risk-register-{name}")

    page.click("nav.risk-tabs a:text('Heatmap')")
    page.wait_for_url(f"**/risk/assessments/{after.pk}/heatmap/")
    svg = page.locator("[data-heatmap] svg")
    expect(svg).to_be_visible()
    expect(page.locator("[data-panel='inherent'] rect.heat-cell")).to_have_count(25)
    # Powder and theft share the cell likelihood 3, impact 5 before controls.
    expect(
        page.locator("[data-panel='inherent'] rect[data-row='2'][data-col='4']")
    ).to_have_attribute("data-count", "2")
    expect(page.locator("[data-panel='residual'] rect[data-count='1']")).to_have_count(3)
    box = svg.bounding_box()
    assert box is not None and box["x"] + box["width"] <= viewport["width"]
    shot(page, f"risk-heatmap-{name}")

    page.click("nav.risk-tabs a:text('What changed')")
    page.wait_for_url(f"**/risk/assessments/{after.pk}/changes/")
    expect(page.locator("[data-changes] tr[data-change='up']")).to_have_attribute(
        "data-risk", "tailgating"
    )
    expect(page.locator("[data-changes] tr[data-change='new']")).to_have_count(2)


def test_a_clerk_is_refused_the_register(open_page) -> None:
    after = assessment()
    person(Role.CLERK, "clem")
    page = open_page(DESKTOP)
    sign_in(page, "clem")
    answer = page.goto(f"/risk/assessments/{after.pk}/register/")
    assert answer is not None and answer.status == 403
    expect(page.locator("[data-register]")).to_have_count(0)
