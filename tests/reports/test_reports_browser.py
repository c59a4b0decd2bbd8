"""The Reports page in Chromium: the period form changes the range, the site and the counting,
the charts draw as SVG without a CSP error, and the CSV and PDF exports download."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from mailwarden.core.roles import Role
from tests.e2e import conftest as e2e
from tests.e2e.conftest import DESKTOP, TABLET, shot, sign_in

open_page = e2e.open_page

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", [DESKTOP, TABLET], ids=["desktop", "tablet"])
def test_the_form_changes_range_and_site_and_exports_download(
    open_page, room, make_user, viewport
) -> None:
    make_user(Role.SECURITY_MANAGER, "mona")
    page = open_page(viewport)
    sign_in(page, "mona")

    page.goto("/")
    page.click("nav a[href='/reports/']")
    page.wait_for_url("**/reports/")
    # The last four weeks at every site by default.
    expect(page.locator("[data-period]")).to_contain_text("All sites, 10 Feb 2026 to 9 Mar 2026")
    expect(page.locator("[data-chart] svg.report-chart")).to_have_count(9)

    form = page.locator("[data-report-form]")
    form.locator("input[name=start]").fill("2026-03-02")
    form.locator("input[name=end]").fill("2026-03-08")
    form.locator("select[name=site]").select_option("hq")
    form.locator("select[name=per]").select_option("week")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/reports/?start=2026-03-02&end=2026-03-08&site=hq&per=week")
    expect(page.locator("[data-period]")).to_contain_text(
        "Site hq, 2 Mar 2026 to 8 Mar 2026, per week"
    )
    kinds = page.locator("[data-chart='intake-kind']")
    expect(kinds.locator("svg text.rc-tick", has_text="w/c 2 Mar")).to_have_count(1)
    doors = page.locator("[data-chart='door-alarms']")
    expect(doors.locator("svg rect.rc-held_open:not(.rc-swatch)")).to_have_count(1)
    expect(doors.locator("svg rect.rc-forced_open:not(.rc-swatch)")).to_have_count(2)
    # The table behind a chart opens for those who cannot see it.
    kinds.locator("details summary").click()
    expect(kinds.locator("table tbody tr")).to_have_count(1)
    expect(kinds.locator("table tbody tr th")).to_have_text("w/c 2 Mar")
    shot(page, f"reports-{'desktop' if viewport == DESKTOP else 'tablet'}")

    with page.expect_download() as download:
        kinds.locator("[data-export=csv]").click()
    saved = Path(download.value.path())
    assert download.value.suggested_filename == "intake-kind-hq-20260302-20260308.csv"
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert rows == [
        ["Week beginning", "Letter", "Flat", "Parcel", "Pallet"],
        ["w/c 2 Mar", "1", "0", "4", "0"],
    ]

    with page.expect_download() as download:
        doors.locator("[data-export=pdf]").click()
    assert download.value.suggested_filename == "door-alarms-hq-20260302-20260308.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")


def test_a_bad_range_is_explained(open_page, room, make_user) -> None:
    make_user(Role.AUDITOR, "audrey")
    page = open_page()
    sign_in(page, "audrey")
    page.goto("/reports/?start=2026-03-08&end=2026-03-01")
    expect(page.locator("[data-filter-error]")).to_have_text(
        "Check the period: end: must be on or after the start date"
    )
    expect(page.locator("[data-chart]")).to_have_count(0)
