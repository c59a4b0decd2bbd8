"""CSV and XLSX exports of the filtered list: every row, formula-safe, role-checked."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import load_workbook

from mailwarden.core.roles import Role
from tests.factories import VALID_UPS, intake

FORMULA = '=HYPERLINK("http://evil.example","click")'


@pytest.fixture
def many(frozen_clock, site, ada, alan):
    """Thirty items, more than a page, one from a sender named like a formula."""
    made = [intake(site, ada, tracking_number=VALID_UPS, confirm_duplicate=True)]
    for n in range(29):
        frozen_clock.advance(minutes=10)
        made.append(intake(site, alan if n % 2 else ada, sender=FORMULA if n == 0 else "Acme"))
    return made


def read_csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_csv_holds_every_row_of_the_filter_and_no_formula(console, many):
    response = console(Role.CLERK).get("/items/export.csv", {"recipient": "Turing"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = read_csv(response)
    assert rows[0][:4] == ["Item ID", "Received", "Site", "Recipient"]
    assert len(rows) - 1 == 14  # every one of Turing's items, not a page of them
    assert {r[3] for r in rows[1:]} == {"Alan Turing"}

    everything = read_csv(console(Role.AUDITOR).get("/items/export.csv"))
    assert len(everything) - 1 == 30
    senders = {r[11] for r in everything[1:]}
    assert "'" + FORMULA in senders and FORMULA not in senders
    ups = next(r for r in everything[1:] if r[8] == VALID_UPS)
    assert ups[7] == "UPS" and ups[9] == "Awaiting screening" and ups[1] == "2026-03-02 09:00"


def test_xlsx_holds_the_same_rows_with_text_never_formulas(console, many):
    response = console(Role.CLERK).get("/items/export.xlsx", {"carrier": "none"})
    assert response.status_code == 200
    assert response["Content-Type"].endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.content))["Items"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Item ID"
    assert len(rows) - 1 == 29
    formula = next(r for r in rows[1:] if r[11] and "HYPERLINK" in r[11])
    assert formula[11] == FORMULA  # kept as the sender wrote it
    cells = [c for row in sheet.iter_rows() for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)
    assert rows[1][1].year == 2026  # a real date cell, in the site's time


def test_exports_need_a_staff_role_and_refuse_bad_filters(console, api, many):
    assert console(Role.RECIPIENT).get("/items/export.csv").status_code == 403
    refused = console(Role.CLERK).get("/items/export.csv", {"received_from": "soon"})
    assert refused.status_code == 400
    assert b"Arrived from: enter a date such as 2026-03-31" in refused.content
    assert api(Role.RECIPIENT).get("/api/items/export.csv").status_code == 403
    assert api(Role.RECIPIENT).get("/api/items/export.xlsx").status_code == 403
    bad = api(Role.CLERK).get("/api/items/export.csv", kind="crate")
    assert bad.status_code in (400, 422) and bad.json()["field"] == "kind"


def test_the_api_exports_the_same_rows(api, many):
    client = api(Role.AUDITOR)
    rows = read_csv(client.get("/api/items/export.csv", recipient="Turing"))
    assert len(rows) - 1 == 14
    workbook = client.get("/api/items/export.xlsx", recipient="Turing")
    sheet = load_workbook(io.BytesIO(workbook.content))["Items"]
    assert sheet.max_row - 1 == 14
