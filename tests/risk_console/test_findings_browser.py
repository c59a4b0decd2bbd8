"""Findings in the browser, on a desktop and a tablet: the list with the rules' evidence, a
finding recorded with a photo and dismissed, and a rule run that reports its failed rule."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from mailwarden.risk import rules
from mailwarden.risk.models import Finding, FindingSource
from tests.factories import make_site
from tests.risk_console.conftest import DESKTOP, TABLET, shot, sign_in
from tests.risk_console.page_fixtures import make_assessment, make_finding

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 90, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def broken(ctx: rules.Context) -> list[rules.Proposed]:
    raise RuntimeError("the camera list could not be read")


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_recording_confirming_and_running_rules(
    open_page, make_user, monkeypatch, viewport
) -> None:
    monkeypatch.setitem(rules.RULES, "broken", rules.Rule("broken", "Cameras online", broken))
    name = "desktop" if viewport == DESKTOP else "tablet"
    make_user(Role.SECURITY_MANAGER, "mona", first_name="Mona", last_name="Manager")
    found = make_assessment(make_site("hq"), title="Spring walk-round")
    make_finding(
        found,
        title="Credential unused for 120 days",
        source=FindingSource.AUTOMATIC,
        rule="stale-credential",
        subject="credential:41",
        evidence={"credential": "Card 41", "last_used_days": 120},
        suggested="Withdraw the credential.",
    )
    page = open_page(viewport)
    sign_in(page, "mona")
    page.goto(f"/risk/assessments/{found.pk}/findings/")
    row = page.locator("[data-source='automatic']")
    expect(row).to_contain_text("Last used days")
    expect(row).to_contain_text("Withdraw the credential.")

    page.fill("#id_title", "Quarantine door wedged open")
    page.fill("#id_notes", "A wooden wedge under the door at 10:00.")
    page.set_input_files(
        "#id_photo", files=[{"name": "door.png", "mimeType": "image/png", "buffer": png()}]
    )
    page.fill("#id_caption", "The wedge")
    page.click("[data-form='finding'] button[type=submit]")
    created = Finding.objects.get(title="Quarantine door wedged open")
    page.wait_for_url(f"**/risk/findings/{created.pk}/")
    image = page.locator("[data-photos] img")
    expect(image).to_have_count(1)
    expect(image).to_have_js_property("naturalWidth", 64)
    expect(page.locator("[data-source='manual']")).to_contain_text("Mona Manager")
    shot(page, f"risk-finding-{name}")
    # An assessor's own finding is confirmed as recorded; it can still be dismissed.
    expect(page.locator("button[name='state'][value='confirmed']")).to_have_count(0)
    page.fill("#id_notes", "The wedge was a cleaner's, removed the same day.")
    page.click("button[name='state'][value='dismissed']")
    expect(page.locator(".page-head .risk-finding-state")).to_have_text("Dismissed")

    page.goto(f"/risk/assessments/{found.pk}/findings/")
    page.click("[data-form='run-rules'] button")
    expect(page.locator("[data-failed-rule='broken']")).to_contain_text(
        "the camera list could not be read"
    )
    expect(page.locator("[data-run-report]")).to_contain_text("Automatic rules: this run")
    shot(page, f"risk-findings-{name}")


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_an_auditor_reads_findings_without_forms(open_page, make_user, viewport) -> None:
    make_user(Role.AUDITOR, "audrey")
    found = make_assessment(make_site("hq"))
    finding = make_finding(found, title="Door wedged open", notes="By the dock")
    page = open_page(viewport)
    sign_in(page, "audrey")
    page.goto(f"/risk/assessments/{found.pk}/findings/")
    expect(page.locator(f"[data-finding='{finding.pk}']")).to_contain_text("Door wedged open")
    expect(page.locator("[data-form]")).to_have_count(0)
    page.click(f"[data-finding='{finding.pk}'] a")
    page.wait_for_url(f"**/risk/findings/{finding.pk}/")
    expect(page.locator("[data-notes]")).to_have_text("By the dock")
    expect(page.locator("[data-form]")).to_have_count(0)
