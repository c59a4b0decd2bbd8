"""The Reports page and its exports through Django's test client: who may see them, the period
form and its errors, and what the CSV and PDF files hold."""

from __future__ import annotations

import csv
import io

import pytest
from django.test import Client
from pypdf import PdfReader

from mailwarden.core.roles import Role

pytestmark = pytest.mark.django_db

WEEK = {"start": "2026-03-02", "end": "2026-03-08", "site": "hq", "per": "day"}


@pytest.fixture
def people(make_user) -> dict[str, Client]:
    clients = {}
    for role, name in (
        (Role.SECURITY_MANAGER, "mona"),
        (Role.AUDITOR, "audrey"),
        (Role.CLERK, "clive"),
    ):
        client = Client()
        client.force_login(make_user(role, name))
        clients[name] = client
    return clients


def test_managers_and_auditors_see_every_chart(room, people):
    for name in ("mona", "audrey"):
        page = people[name].get("/reports/", WEEK)
        assert page.status_code == 200
        html = page.content.decode()
        for key in (
            "intake-carrier",
            "intake-kind",
            "dwell",
            "overdue",
            "screening-time",
            "tiers",
            "quarantine",
            "door-alarms",
        ):
            assert f'data-chart="{key}"' in html
            assert f"/reports/{key}.csv?start=2026-03-02" in html
            assert f"/reports/{key}.pdf?start=2026-03-02" in html
        assert "Site hq, 2 Mar 2026 to 8 Mar 2026" in html
        assert "Median: 13 hours" in html
        assert f'data-item="{room.uids["letter"]}"' in html  # waiting on the shelf too long
        assert 'href="/reports/"' in html  # the menu entry
        assert " style=" not in html


def test_others_are_refused(room, people, client):
    assert people["clive"].get("/reports/").status_code == 403
    assert people["clive"].get("/reports/dwell.csv").status_code == 403
    assert "/reports/" not in people["clive"].get("/").content.decode()
    assert client.get("/reports/").status_code == 302  # to sign in


def test_the_default_period_is_the_last_four_weeks(room, people):
    html = people["mona"].get("/reports/").content.decode()
    assert 'name="start" value="2026-02-10"' in html
    assert 'name="end" value="2026-03-09"' in html


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"start": "2026-03-09", "end": "2026-03-01"}, "end: must be on or after the start date"),
        ({"start": "yesterday"}, "start: must be a date written YYYY-MM-DD"),
        ({"site": "nowhere"}, "site: no site"),
        ({"per": "month"}, "per: choose day or week"),
        ({"start": "2024-01-01", "end": "2026-01-01"}, "start: a report covers at most 366 days"),
    ],
)
def test_a_bad_period_names_the_field_and_the_reason(room, people, query, says):
    page = people["mona"].get("/reports/", query)
    assert page.status_code in (400, 404)
    assert says in page.content.decode()
    export = people["mona"].get("/reports/dwell.csv", query)
    assert export.status_code in (400, 404)
    assert says in export.content.decode()


def test_csv_export_holds_the_table(room, people):
    response = people["mona"].get("/reports/intake-kind.csv", WEEK)
    assert response.status_code == 200
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="intake-kind-hq-20260302-20260308.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Day", "Letter", "Flat", "Parcel", "Pallet"]
    assert rows[1] == ["2 Mar", "1", "0", "1", "0"]
    assert len(rows) == 8


def test_csv_cells_are_formula_safe(room, people):
    from mailwarden.access.models import Door

    Door.objects.filter(code="cage").update(name="=HYPERLINK(1)")
    rows = list(
        csv.reader(
            io.StringIO(people["mona"].get("/reports/door-alarms.csv", WEEK).content.decode())
        )
    )
    assert ["'=HYPERLINK(1)", "0", "1"] in rows


def test_pdf_export_carries_the_chart_figures_and_table(room, people):
    response = people["audrey"].get("/reports/dwell.pdf", WEEK)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(response.content)).pages)
    assert "Time from arrival to hand-over" in text
    assert "Site hq, 2 Mar 2026 to 8 Mar 2026" in text
    assert "Median: 13 hours" in text
    assert "1 to 2 days" in text
    assert "Total" in text


def test_an_unknown_chart_is_not_found(room, people):
    assert people["mona"].get("/reports/nothing.csv", WEEK).status_code == 404
